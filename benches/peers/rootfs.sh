#!/bin/sh
# rootfs.sh DIR: build (or refresh) a busybox-static root filesystem in DIR.
#
# DIR/bin holds busybox and one symlink per applet (busybox --install -s), plus
# the empty mount points proc, sys, dev, tmp and a minimal /etc/passwd and
# /etc/group.  Running it again is harmless: it only fills in what is missing.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1

bb=/bin/busybox
if ! [ -x "$bb" ] || ! "$bb" --list >/dev/null 2>&1 || ldd "$bb" >/dev/null 2>&1; then
	# Missing, or a dynamically linked busybox: we need the static one.
	if [ "$(id -u)" -ne 0 ]; then
		echo "rootfs.sh: busybox-static is not installed and we are not root" >&2
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static >/dev/null ||
		{ apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static >/dev/null; }
fi

mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/etc"
chmod 1777 "$dir/tmp"
if ! cmp -s "$bb" "$dir/bin/busybox"; then
	cp "$bb" "$dir/bin/busybox.new"
	mv -f "$dir/bin/busybox.new" "$dir/bin/busybox"
fi
# --install -s makes absolute links to /bin/busybox; run it inside DIR so the
# links name the copy that is there (resolved against DIR once it is "/").
if ! [ -L "$dir/bin/true" ]; then
	chroot "$dir" /bin/busybox --install -s /bin
fi
[ -e "$dir/etc/passwd" ] || printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
[ -e "$dir/etc/group" ] || printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
# The workload of the benchmark must be there.
[ -x "$dir/bin/true" ] || { echo "rootfs.sh: $dir/bin/true is missing" >&2; exit 1; }
