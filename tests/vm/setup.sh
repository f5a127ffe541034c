#!/usr/bin/env bash
# Prepares everything the qemu test VM needs; idempotent, safe to run before every test run.
#
#   1. apt packages: qemu (TCG only), busybox-static, cpio, jq, refpolicy + SELinux tools.
#   2. Debian 12's stock kernel (only ./boot/vmlinuz-* from the .deb) -> $CACHE/vmlinuz
#   3. A binary SELinux policy: refpolicy `default` + src/selinux/policy/cocoon.cil
#      + tests/vm/cocoon-vm.cil (+ $COCOON_VM_EXTRA_CIL_DIR/*.cil), built in a PRIVATE copy of the policy store (the host's
#      /etc/selinux and /var/lib/selinux are only read) -> $CACHE/policy.33
#
# Cache: $COCOON_VM_CACHE, else <repo>/.cache/vm. Outputs already there are reused.
# Needs root (apt, semodule). Prints where things are; exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${COCOON_VM_CACHE:-$REPO/.cache/vm}"
# Pinned kernel ABI (override: COCOON_VM_KERNEL_ABI), what `apt-cache depends linux-image-amd64`
# named when this was written; if the archive no longer has it, the current one is used.
KERNEL_ABI_PIN="${COCOON_VM_KERNEL_ABI:-6.1.0-56}"
CIL_FILES=("$REPO/src/selinux/policy/cocoon.cil" "$HERE/cocoon-vm.cil")
# COCOON_VM_EXTRA_CIL_DIR: more modules (run-tests.sh: the per-container policies
# tests/vm_policy.rs generates on the host), built in after ours, in name order.
if [ -n "${COCOON_VM_EXTRA_CIL_DIR:-}" ]; then
    for f in "$COCOON_VM_EXTRA_CIL_DIR"/*.cil; do
        [ -e "$f" ] && CIL_FILES+=("$f")
    done
fi

log() { printf 'vm-setup: %s\n' "$*" >&2; }
die() { printf 'vm-setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, semodule)"
mkdir -p "$CACHE"
# One setup at a time per cache (parallel test runs share it).
exec 9>"$CACHE/.lock"
flock 9

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        apt-get update -qq >&2
        APT_UPDATED=1
    fi
}
# Candidate version of a package ("" if apt does not know it).
candidate() {
    apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }'
}
installed_version() {
    dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null | awk '$1 == "ii" { print $2 }'
}

# ---------------------------------------------------------------- 1. packages
PKGS=(busybox-static cpio gzip jq selinux-policy-default policycoreutils semodule-utils secilc)
missing=()
for p in "${PKGS[@]}"; do
    [ -n "$(installed_version "$p")" ] || missing+=("$p")
done
need_qemu=0
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_qemu=1
if [ "${#missing[@]}" -gt 0 ] || [ "$need_qemu" = 1 ]; then
    for p in "${missing[@]}" qemu-system-x86; do
        [ -n "$(candidate "$p")" ] || apt_update_once
    done
    extra=()
    if [ "$need_qemu" = 1 ]; then
        extra+=(qemu-system-x86)
        # A newer qemu-utils (e.g. from backports) blocks bookworm's qemu-system-x86: pin
        # qemu-utils to the same version as the qemu-system-x86 candidate (a downgrade).
        qver="$(candidate qemu-system-x86)"
        [ -n "$qver" ] || die "apt has no qemu-system-x86"
        uver="$(installed_version qemu-utils)"
        if [ -n "$uver" ] && [ "$uver" != "$qver" ]; then
            log "pinning qemu-utils $uver -> $qver (needed by qemu-system-x86 $qver)"
            extra+=("qemu-utils=$qver")
        fi
    fi
    log "apt-get install ${missing[*]} ${extra[*]}"
    apt-get install -y -qq --no-install-recommends --allow-downgrades "${missing[@]}" "${extra[@]}" >&2 \
        || die "apt-get install failed"
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 still missing"
[ -x /bin/busybox ] || die "/bin/busybox missing"

# ---------------------------------------------------------------- 2. kernel
kernel_ok() { [ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/kernel.version" ]; }
if kernel_ok; then
    log "kernel: cached ($(cat "$CACHE/kernel.version"))"
else
    pkg="linux-image-${KERNEL_ABI_PIN}-amd64"
    if [ -z "$(candidate "$pkg")" ]; then
        apt_update_once
    fi
    if [ -z "$(candidate "$pkg")" ]; then
        pkg="$(apt-cache depends linux-image-amd64 2>/dev/null \
               | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
        [ -n "$pkg" ] || die "cannot find a linux-image-*-amd64 package"
        log "pinned kernel ${KERNEL_ABI_PIN} is gone from the archive; using $pkg"
    fi
    dl="$CACHE/kernel-dl"
    rm -rf "$dl" && mkdir -p "$dl"
    # _apt must be able to write there, or apt warns and downloads unsandboxed.
    chown _apt "$dl" 2>/dev/null || true
    log "downloading $pkg"
    (cd "$dl" && apt-get download -qq "$pkg" >&2) || die "apt-get download $pkg failed"
    debs=("$dl"/*.deb)
    deb="${debs[0]}"
    [ -f "$deb" ] || die "apt-get download left no .deb"
    mkdir -p "$dl/x"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl/x" --wildcards './boot/vmlinuz-*'
    images=("$dl"/x/boot/vmlinuz-*)
    vmlinuz="${images[0]}"
    [ -s "$vmlinuz" ] || die "no vmlinuz in $deb"
    cp "$vmlinuz" "$CACHE/vmlinuz.tmp" && mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
    basename "$vmlinuz" | sed 's/^vmlinuz-//' >"$CACHE/kernel.version"
    rm -rf "$dl"
    log "kernel: $(cat "$CACHE/kernel.version")"
fi

# ---------------------------------------------------------------- 3. SELinux policy
# Key: our CIL files + the refpolicy package version.
for f in "${CIL_FILES[@]}"; do [ -s "$f" ] || die "missing $f"; done
key="$( { sha256sum "${CIL_FILES[@]}" | awk '{print $1}'; installed_version selinux-policy-default; } \
        | sha256sum | awk '{print $1}')"
if [ -s "$CACHE/policy.33" ] && [ "$(cat "$CACHE/policy.key" 2>/dev/null)" = "$key" ]; then
    log "policy: cached (key ${key:0:12})"
else
    [ -d /var/lib/selinux/default ] || die "/var/lib/selinux/default missing (selinux-policy-default)"
    root="$CACHE/policy-root"
    rm -rf "$root"
    mkdir -p "$root/var/lib/selinux" "$root/etc/selinux"
    # Private copy of the store: semodule -p only ever writes under $root.
    cp -a /var/lib/selinux/default "$root/var/lib/selinux/"
    cp -a /etc/selinux/default /etc/selinux/semanage.conf "$root/etc/selinux/"
    if [ -f /etc/selinux/config ]; then
        cp -a /etc/selinux/config "$root/etc/selinux/"
    else
        printf 'SELINUX=permissive\nSELINUXTYPE=default\n' >"$root/etc/selinux/config"
    fi
    log "building policy: refpolicy default + ${CIL_FILES[*]##*/}"
    args=()
    for f in "${CIL_FILES[@]}"; do args+=(-i "$f"); done
    semodule -p "$root" -s default -n -X 400 "${args[@]}" >&2 || die "semodule failed"
    out="$root/etc/selinux/default/policy/policy.33"
    [ -s "$out" ] || die "semodule produced no $out"
    cp "$out" "$CACHE/policy.33.tmp" && mv "$CACHE/policy.33.tmp" "$CACHE/policy.33"
    echo "$key" >"$CACHE/policy.key"
    rm -rf "$root"
    log "policy: built (key ${key:0:12})"
fi

log "ready: cache $CACHE"
