#!/usr/bin/env bash
# Installs what building and testing cocoon needs on a fresh Debian 12 machine (as root).
# Idempotent: only missing packages are installed. The qemu VM's own packages (qemu,
# kernel, SELinux policy tools) are installed by tests/vm/setup.sh.
set -euo pipefail

pkgs=(
  gcc g++ make pkg-config  # the C ABI tests and the cdylib link
  busybox-static  # busybox root filesystems in tests and benchmarks
  iproute2 util-linux procps  # network/namespace checks in tests
  valgrind binutils  # C ABI tests under valgrind, nm/readelf for the symbol checks
  python3 python3-venv  # Python bindings tests
  nftables  # NAT tests: `nft list table ip cocoon` observes the rules cocoon makes through netlink (the library never runs nft)
  podman skopeo umoci runc tar  # image tests: producers (podman save, skopeo copy, umoci) and the control (podman --runtime runc run)
  crun conmon  # tests/oci_*: crun is the second control runtime; conmon is what makes podman call `cocoon create/start`
  containerd  # tests/oci_containerd.rs: containerd and its runc shim drive the cocoon runtime (ctr run --runc-binary)
  uidmap  # tests/core_subids.rs: newuidmap/newgidmap, the setuid helpers that write subordinate-id maps for an unprivileged caller
  jq  # tests/vm/run-tests.sh reads cargo's JSON for the vm_* test binaries before tests/vm/setup.sh runs
  selinux-policy-default policycoreutils semodule-utils secilc  # tests/selinux_policy.rs: generated policy modules built in a private store copy (semodule -p; SELinux stays off)
  dpkg-dev lintian man-db  # tests/packaging: dpkg-shlibdeps/dpkg-architecture build the .debs, lintian checks them (tools only, nothing links them), man -w finds the packaged man page
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "deps: cargo not found: install a Rust toolchain >= 1.88 (e.g. rustup) first" >&2
  exit 1
fi
