#!/bin/sh
# Installs the C library of cocoon, like `make install`:
#   LIBDIR/libcocoon.so.X.Y.Z     stripped; its debug info split off (below), with a
#                                 .gnu_debuglink naming it so gdb and valgrind find it
#   LIBDIR/libcocoon.so.X         -> libcocoon.so.X.Y.Z (the SONAME)
#   LIBDIR/libcocoon.so           -> libcocoon.so.X (what -lcocoon links against)
#   LIBDIR/libcocoon.a            the static library (debug info stripped)
#   LIBDIR/pkgconfig/cocoon.pc    `pkg-config --libs cocoon`, and `--static` (Libs.private)
#   PREFIX/include/cocoon.h
#   DEBUGDIR/libcocoon.so.X.Y.Z.debug   the split debug info (objcopy --only-keep-debug)
#
# Usage: bindings/c/install.sh PREFIX [PROFILE]   (PROFILE: release (default) or debug)
# Environment: DESTDIR (staged installs: every path above is put under it, cocoon.pc keeps
# PREFIX), LIBDIR (default PREFIX/lib; e.g. PREFIX/lib/x86_64-linux-gnu), DEBUGDIR
# (default LIBDIR/.debug, a place gdb searches), COCOON_NO_BUILD=1 (use the library cargo
# already built in CARGO_TARGET_DIR or ./target). The library is built with every cargo
# feature: the C ABI holds all of them (images included).
set -eu

prefix=${1:?usage: install.sh PREFIX [release|debug]}
profile=${2:-release}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
libdir=${LIBDIR:-$prefix/lib}
debugdir=${DEBUGDIR:-$libdir/.debug}
includedir=$prefix/include

version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)
major=${version%%.*}

if [ "${COCOON_NO_BUILD:-0}" != 1 ]; then
    if [ "$profile" = release ]; then
        (cd "$root" && cargo build -j1 --lib --all-features --release)
    else
        (cd "$root" && cargo build -j1 --lib --all-features)
    fi
fi
so="$target/$profile/libcocoon.so"
a="$target/$profile/libcocoon.a"
for f in "$so" "$a"; do
    [ -f "$f" ] || { echo "install.sh: $f not built" >&2; exit 1; }
done

dest=${DESTDIR:-}
real="libcocoon.so.$version"
install -d "$dest$libdir/pkgconfig" "$dest$includedir" "$dest$debugdir"

# Split the debug info off, strip what is not needed to link or load (dynamic symbols
# stay), and leave a debuglink (name + CRC) to the debug file.
tmp="$dest$libdir/.$real.tmp"
trap 'rm -f "$tmp"' EXIT
objcopy --only-keep-debug "$so" "$dest$debugdir/$real.debug"
chmod 0644 "$dest$debugdir/$real.debug"
objcopy --strip-unneeded --remove-section=.comment --remove-section=.note \
    --add-gnu-debuglink="$dest$debugdir/$real.debug" "$so" "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$dest$libdir/$real"
ln -sf "$real" "$dest$libdir/libcocoon.so.$major"
ln -sf "libcocoon.so.$major" "$dest$libdir/libcocoon.so"
objcopy --strip-debug "$a" "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$dest$libdir/libcocoon.a"
install -m 0644 "$root/include/cocoon.h" "$dest$includedir/cocoon.h"

# Libs.private: what the Rust standard library in libcocoon.a needs from the system, as
# `rustc --print native-static-libs` lists it (no other native library is linked).
cat > "$dest$libdir/pkgconfig/cocoon.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=$(echo "$libdir" | sed "s|^$prefix|\${exec_prefix}|")
includedir=\${prefix}/include

Name: cocoon
Description: Linux containers built in-process (namespaces, cgroups, SELinux, pivoted rootfs)
Version: $version
Libs: -L\${libdir} -lcocoon
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
PC
chmod 0644 "$dest$libdir/pkgconfig/cocoon.pc"
echo "installed cocoon $version ($profile) under $dest$prefix (libdir $libdir)"
