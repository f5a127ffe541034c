#!/bin/sh
# Installs the C library of cocoon under PREFIX, like `make install`:
#   PREFIX/lib/libcocoon.so.X.Y.Z, libcocoon.so.X -> it (the SONAME), libcocoon.so -> .so.X
#   PREFIX/include/cocoon.h
#   PREFIX/lib/pkgconfig/cocoon.pc
# Usage: bindings/c/install.sh PREFIX [PROFILE]   (PROFILE: release (default) or debug)
# Builds the cdylib first unless COCOON_NO_BUILD=1. Honours DESTDIR for staged installs.
set -eu

prefix=${1:?usage: install.sh PREFIX [release|debug]}
profile=${2:-release}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)
major=${version%%.*}

if [ "${COCOON_NO_BUILD:-0}" != 1 ]; then
    if [ "$profile" = release ]; then
        (cd "$root" && cargo build -j1 --lib --release)
    else
        (cd "$root" && cargo build -j1 --lib)
    fi
fi
lib="$target/$profile/libcocoon.so"
[ -f "$lib" ] || { echo "install.sh: $lib not built" >&2; exit 1; }

dest=${DESTDIR:-}$prefix
install -d "$dest/lib/pkgconfig" "$dest/include"
install -m 0755 "$lib" "$dest/lib/libcocoon.so.$version"
ln -sf "libcocoon.so.$version" "$dest/lib/libcocoon.so.$major"
ln -sf "libcocoon.so.$major" "$dest/lib/libcocoon.so"
install -m 0644 "$root/include/cocoon.h" "$dest/include/cocoon.h"
cat > "$dest/lib/pkgconfig/cocoon.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: cocoon
Description: Linux containers built in-process (namespaces, cgroups, SELinux, pivoted rootfs)
Version: $version
Libs: -L\${libdir} -lcocoon
Cflags: -I\${includedir}
PC
echo "installed cocoon $version ($profile) under $dest"
