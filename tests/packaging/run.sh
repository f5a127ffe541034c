#!/bin/bash
# Checks every release artefact, from one release build (run as root):
#   crate      cargo publish --dry-run (packs and builds the tarball alone), its file list
#   C          bindings/c/install.sh into a DESTDIR: stripped library + split debug info,
#              SONAME and links, a dynamic and a static (pkg-config --static) program
#   Debian     packaging/debian/build-debs.sh, lintian (no error), then apt install of the
#              packages into a clean root (an overlay of this Debian 12 on a private tmpfs,
#              in a mount namespace of its own) where examples/c/run_isolated.c is built
#              against the installed files only and run, and cocoon-run runs a container
#   Python     pip wheel ./bindings/python: manylinux tag checked by auditwheel, installed
#              into a fresh venv with no cargo or rustc on PATH, runs a container
# Ends with "packaging: N passed, N failed". Sizes measured go to $out/sizes.txt.
# Takes one release build of its own when none is there (the full run reuses the one the
# README's command made).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
out="$CARGO_TARGET_DIR/packaging"
rel="$CARGO_TARGET_DIR/release"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
[ -n "${COCOON_PACKAGING_ONLY:-}" ] || rm -rf "$out"
mkdir -p "$out"
passed=0
failed=0
failures=()

# COCOON_PACKAGING_ONLY="c_install debs ...": run only these steps (while working on one).
run() {
    local name=$1 start=$SECONDS
    shift
    if [ -n "${COCOON_PACKAGING_ONLY:-}" ] && ! grep -qw -- "$1" <<<"$COCOON_PACKAGING_ONLY"; then return 0; fi
    printf '\n######## %s\n' "$name"
    if "$@"; then
        passed=$((passed + 1))
        echo "######## ok: $name ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "######## FAILED: $name ($((SECONDS - start)) s)"
    fi
}
fail() { echo "FAIL: $*"; return 1; }
size() { stat -c %s "$1"; }

# One release build for everything below (the README's command already made it in a
# full run: same features, so nothing is rebuilt).
release_build() { cargo build -j2 --release --all-features --lib --bin cocoon-run --bin cocoon; }

crate() {
    local list
    # The tarball is built alone with the default (lean) features: no warning allowed there.
    RUSTFLAGS="-D warnings" cargo publish --dry-run --allow-dirty > "$out/publish.log" 2>&1 ||
        { cat "$out/publish.log"; fail "cargo publish --dry-run"; return 1; }
    tail -n 4 "$out/publish.log"
    list=$(cargo package --list --allow-dirty) || return 1
    echo "$list" > "$out/crate-files.txt"
    echo "crate: $(wc -l <<<"$list") files"
    for f in Cargo.toml build.rs src/lib.rs src/helper/helper.c include/cocoon.h README.md \
        LICENSE-MIT LICENSE-APACHE CHANGELOG.md; do
        grep -qx "$f" <<<"$list" || fail "the crate lacks $f" || return 1
    done
    ! grep -E '^(tests|benches|bindings|docs|examples|packaging|\.ci)/' <<<"$list" ||
        fail "the crate holds tests, benches, bindings, docs or examples" || return 1
    local c
    c=$(find "$CARGO_TARGET_DIR/package" -name 'cocoon-*.crate' | head -n1)
    [ -n "$c" ] || fail "no .crate under $CARGO_TARGET_DIR/package" || return 1
    echo "crate tarball: $c, $(size "$c") bytes"
    echo "crate $(size "$c")" >> "$out/sizes.txt"
    [ "$(size "$c")" -lt 1500000 ] || fail "the crate is over 1.5 MB"
}

c_install() {
    local p="$out/c" so dbg
    DESTDIR="$p" COCOON_NO_BUILD=1 bindings/c/install.sh /opt/cocoon release || return 1
    local lib="$p/opt/cocoon/lib"
    so="$lib/libcocoon.so.0.1.0"
    dbg="$lib/.debug/libcocoon.so.0.1.0.debug"
    [ "$(readlink "$lib/libcocoon.so.0")" = libcocoon.so.0.1.0 ] && [ "$(readlink "$lib/libcocoon.so")" = libcocoon.so.0 ] ||
        fail "links libcocoon.so -> .so.0 -> .so.0.1.0" || return 1
    [ "$(readelf -d "$so" | sed -n 's/.*soname: \[\(.*\)\]/\1/p')" = libcocoon.so.0 ] || fail "SONAME" || return 1
    ! readelf -S "$so" | grep -q '\.debug_info' || fail "$so is not stripped" || return 1
    readelf -S "$so" | grep -q '\.gnu_debuglink' || fail "$so has no debuglink" || return 1
    readelf -S "$dbg" | grep -q '\.debug_info' || fail "$dbg holds no debug info" || return 1
    [ "$(readelf --string-dump=.gnu_debuglink "$so" | sed -n 's/^ *\[ *0\] *//p')" = libcocoon.so.0.1.0.debug ] ||
        fail "debuglink does not name libcocoon.so.0.1.0.debug" || return 1
    grep -qx 'prefix=/opt/cocoon' "$lib/pkgconfig/cocoon.pc" || fail "cocoon.pc prefix (DESTDIR leaked?)" || return 1
    echo "libcocoon.so stripped $(size "$so"), debug $(size "$dbg"), static $(size "$lib/libcocoon.a")"
    {
        echo "libcocoon.so $(size "$so")"
        echo "libcocoon.so.debug $(size "$dbg")"
        echo "libcocoon.a $(size "$lib/libcocoon.a")"
        echo "libcocoon.so-unstripped $(size "$rel/libcocoon.so")"
    } >> "$out/sizes.txt"

    # Dynamic: through pkg-config, needs libcocoon.so.0, runs.
    export PKG_CONFIG_SYSROOT_DIR="$p" PKG_CONFIG_LIBDIR="$lib/pkgconfig"
    # shellcheck disable=SC2046
    gcc -std=c99 -Wall -Werror examples/c/hello.c $(pkg-config --cflags --libs cocoon) -o "$p/hello" || return 1
    readelf -d "$p/hello" | grep -q 'NEEDED.*\[libcocoon.so.0\]' || fail "hello does not need libcocoon.so.0" || return 1
    LD_LIBRARY_PATH="$lib" "$p/hello" | head -n1 | grep -q '^cocoon 0.1.0' || fail "hello (dynamic)" || return 1
    # Static: only libcocoon.a left, so `pkg-config --static` (Libs.private) must be enough.
    rm -f "$lib"/libcocoon.so*
    # shellcheck disable=SC2046
    gcc -std=c99 -Wall -Werror examples/c/run_isolated.c $(pkg-config --static --cflags --libs cocoon) -o "$p/run_isolated_static" || return 1
    ! readelf -d "$p/run_isolated_static" | grep -q 'NEEDED.*libcocoon' || fail "the static program needs libcocoon.so" || return 1
    "$p/run_isolated_static" > "$p/static.out" || { cat "$p/static.out"; fail "run_isolated (static)"; return 1; }
    grep -q 'hostname=isolated' "$p/static.out" || { cat "$p/static.out"; fail "run_isolated (static) output"; }
    unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
}

debs() {
    packaging/debian/build-debs.sh "$out/debs" > "$out/debs.txt" || return 1
    cat "$out/debs.txt"
    local f
    for f in $(cat "$out/debs.txt"); do
        echo "$(basename "$f") $(size "$f") bytes, installed $(dpkg-deb -f "$f" Installed-Size) KiB"
        echo "$(basename "$f") $(size "$f") $(dpkg-deb -f "$f" Installed-Size)" >> "$out/sizes.txt"
    done
    dpkg-deb -c "$out/debs/libcocoon-dev_"*.deb | grep "usr/lib/$multiarch/libcocoon.a" >/dev/null || fail "libcocoon-dev has no static library"
}

lint() {
    # Every error fails; the warnings and notes that remain are shown, and explained in
    # packaging/debian/README.md.
    # shellcheck disable=SC2046
    lintian --fail-on error --tag-display-limit 0 $(cat "$out/debs.txt")
}

# The clean root: this very Debian 12 as the lower layer of an overlay whose upper layer is
# a private tmpfs, in a mount namespace that dies with the test, so nothing reaches the
# host. No libcocoon exists there but what apt installs; the source tree (/work) is hidden:
# only the .deb files and run_isolated.c are handed in.
clean_root() {
    local in="$out/clean-in" r="$out/clean-root"
    rm -rf "$in" && mkdir -p "$in" "$r" || return 1
    cp "$out/debs/"*.deb examples/c/run_isolated.c "$in/" || return 1
    cat > "$in/inside.sh" <<'INSIDE'
set -euxo pipefail
ma=$1
cd /tmp/in
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
apt-get install -y -q /tmp/in/libcocoon0_*.deb /tmp/in/libcocoon-dev_*.deb /tmp/in/cocoon-run_*.deb 2>&1 | tail -n 3
[ "$(dpkg -s libcocoon0 libcocoon-dev cocoon-run | grep -c '^Status: install ok installed')" = 3 ]
[ "$(pkg-config --variable=libdir cocoon)" = "/usr/lib/$ma" ]
gcc -std=c99 -Wall -Wextra -Werror run_isolated.c $(pkg-config --cflags --libs cocoon) -o /tmp/run_isolated
gcc -std=c99 -M run_isolated.c $(pkg-config --cflags cocoon) | grep ' /usr/include/cocoon.h' >/dev/null
ldd /tmp/run_isolated | grep -E "libcocoon.so.0 => (/usr)?/lib/$ma/libcocoon.so.0"  # /lib is /usr/lib
/tmp/run_isolated
cocoon-run --version
cocoon --version
cocoon features > /tmp/features.json && grep -q '"ociVersionMax"' /tmp/features.json
cocoon-run --memory 64M --pids 16 --hostname deb -- sh -c 'echo "inside: $(hostname) pid $$"'
man -w cocoon-run
apt-get remove -y -q libcocoon-dev libcocoon0 cocoon-run 2>&1 | tail -n 1
[ ! -e "/usr/lib/$ma/libcocoon.so.0" ] && [ ! -e /usr/include/cocoon.h ] && [ ! -e /usr/bin/cocoon-run ] && [ ! -e /usr/bin/cocoon ]
echo "clean root: installed, built, ran, removed"
INSIDE
    cat > "$in/ns.sh" <<'NS'
set -euo pipefail
r=$1 in=$2 ma=$3
mount -t tmpfs -o mode=0755,size=2g clean-root "$r"
mkdir -p "$r/upper" "$r/work" "$r/m"
m=$r/m
mount -t overlay overlay -o "lowerdir=/,upperdir=$r/upper,workdir=$r/work" "$m"
mount -t proc proc "$m/proc"
mount --rbind /sys "$m/sys"
mount --rbind /dev "$m/dev"
for d in tmp run work; do mount -t tmpfs tmpfs "$m/$d"; done
mkdir -p "$m/tmp/in"
mount --bind "$in" "$m/tmp/in"
# Nothing of cocoon outside what the packages bring (a by-hand install.sh under /usr/local
# would otherwise be found first); this only changes the overlay's upper layer.
rm -rf "$m"/usr/local/lib/libcocoon* "$m"/usr/local/lib/pkgconfig/cocoon.pc "$m"/usr/local/include/cocoon.h
chroot "$m" /bin/bash /tmp/in/inside.sh "$ma"
NS
    unshare --mount --propagation private bash "$in/ns.sh" "$r" "$in" "$multiarch" > "$in/log" 2>&1 ||
        { cat "$in/log"; fail "the clean-root run"; return 1; }
    cat "$in/log"
    grep -q "hostname=isolated" "$in/log" && grep -q "root=read-only" "$in/log" &&
        grep -q "inside: deb pid 1" "$in/log" || fail "clean root: output"
}

wheel() {
    local w v="$out/wheel-venv" tools="$out/tools-venv" need tag
    rm -rf "$out/wheels" bindings/python/build
    COCOON_BUILD_PROFILE=release pip wheel --no-deps --disable-pip-version-check -q -w "$out/wheels" ./bindings/python || return 1
    rm -rf bindings/python/build bindings/python/*.egg-info
    w=$(ls "$out/wheels"/cocoon-*.whl) || return 1
    echo "wheel: $(basename "$w"), $(size "$w") bytes"
    echo "wheel $(size "$w")" >> "$out/sizes.txt"
    # The tag says the newest glibc symbol version the library inside needs.
    need=$(objdump -T "$rel/libcocoon.so" | grep -o 'GLIBC_2\.[0-9]*' | sort -t. -k2 -n -u | tail -n1)
    tag="manylinux_2_${need#GLIBC_2.}_x86_64"
    [[ $(basename "$w") == cocoon-0.1.0-py3-none-$tag.whl ]] || fail "wheel tag: want py3-none-$tag" || return 1
    python3 -m zipfile -l "$w" | grep -q 'cocoon/libcocoon.so.0 ' || fail "no library in the wheel" || return 1
    # auditwheel (PyPI, MIT; a test tool in a venv of its own) reads what the library needs
    # and names the tag it allows.
    [ -x "$tools/bin/auditwheel" ] || { python3 -m venv "$tools" && "$tools/bin/pip" install -q --disable-pip-version-check auditwheel; } || return 1
    "$tools/bin/auditwheel" show "$w" | tee "$out/auditwheel.txt" || return 1
    tr -s ' \n' ' ' < "$out/auditwheel.txt" | grep -q "consistent with the following platform tag: \"$tag\"" ||
        fail "auditwheel does not agree with $tag" || return 1

    # A fresh venv, installed and run with no Rust anywhere on PATH.
    rm -rf "$v"
    python3 -m venv "$v" || return 1
    local path="$v/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    (cd "$out" && env -i PATH="$path" HOME="$out" sh -c '! command -v cargo && ! command -v rustc') >/dev/null ||
        fail "cargo or rustc is on the clean PATH" || return 1
    (cd "$out" && env -i PATH="$path" HOME="$out" "$v/bin/pip" install -q --no-index --disable-pip-version-check "$w") || return 1
    (cd "$out" && env -i PATH="$path" HOME="$out" "$v/bin/python" -W error::DeprecationWarning -c '
import os, shutil, cocoon
assert shutil.which("cargo") is None and shutil.which("rustc") is None
lib = cocoon._lib.lib._name
assert lib == os.path.join(os.path.dirname(cocoon.__file__), "libcocoon.so.0"), lib
with cocoon.Container(["sh", "-c", "hostname"], hostname="wheel", read_only_root=True,
                      stdout=cocoon.PIPE, cgroup=cocoon.Cgroup(pids_max=16)) as c:
    out = c.stdout.read().decode().strip()
    st = c.wait()
assert out == "wheel" and st.success, (out, st)
print("wheel: container ran with", lib, os.path.getsize(lib), "bytes")
') || return 1
    rm -rf "$v"
}

run "release build (library + cocoon-run, every feature)" release_build
run "crate: cargo publish --dry-run, file list" crate
run "C: install.sh DESTDIR (stripped .so + split debug, links, pkg-config dynamic and --static)" c_install
run "Debian: build libcocoon0, libcocoon-dev, cocoon-run (+ dbgsym)" debs
run "Debian: lintian, no errors" lint
run "Debian: apt install into a clean root, build + run examples/c/run_isolated.c, cocoon-run" clean_root
run "Python: pip wheel (manylinux tag, auditwheel), fresh venv without Rust runs a container" wheel

echo
cat "$out/sizes.txt" 2>/dev/null
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "packaging: $passed passed, $failed failed"
[ "$failed" = 0 ]
