#!/bin/bash
# ABI check of libcocoon: exported symbols, SONAME, header compile, C test program
# (natively with real containers, and under valgrind), pkg-config install.
#
# Usage: tests/abi/check.sh [debug|release]     (default debug; run as root for the
#        container part of abi_test). Exits non-zero on the first failing check.
#
# Symbols: every symbol in tests/abi/symbols.txt must still be exported (removing one
# breaks callers). A new exported symbol must be added to the list; the failure message
# prints the command. Nothing but cocoon_* may be exported: rustc's cdylib version script
# exports only #[no_mangle] items (checked with rustc 1.95: no rust_eh_personality, no
# __rust_* allocator shims), so the allow-list of other symbols, ALLOWED_OTHER, is empty.
set -euo pipefail

profile=${1:-debug}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
out="$CARGO_TARGET_DIR/abi"
ALLOWED_OTHER=""

step() { printf '\n== %s\n' "$*"; }

step "build the cdylib ($profile)"
if [ "$profile" = release ]; then cargo build -j1 --lib --all-features --release; else cargo build -j1 --lib --all-features; fi
so="$CARGO_TARGET_DIR/$profile/libcocoon.so"

step "exported symbols vs tests/abi/symbols.txt"
mkdir -p "$out"
nm -D --defined-only "$so" | awk '{print $NF}' | sort -u > "$out/exported.txt"
grep '^cocoon_' "$out/exported.txt" > "$out/cocoon-symbols.txt" || true
missing=$(comm -23 <(grep -v '^#' tests/abi/symbols.txt | sort -u) "$out/cocoon-symbols.txt")
added=$(comm -13 <(grep -v '^#' tests/abi/symbols.txt | sort -u) "$out/cocoon-symbols.txt")
other=$(grep -v '^cocoon_' "$out/exported.txt" || true)
for a in $ALLOWED_OTHER; do other=$(grep -vx "$a" <<<"$other" || true); done
if [ -n "$missing" ]; then
    echo "FAIL: committed symbols no longer exported (an ABI break):"; echo "$missing"; exit 1
fi
if [ -n "$added" ]; then
    echo "FAIL: new exported symbols not in tests/abi/symbols.txt:"; echo "$added"
    echo "If intended, add them (and a call in tests/abi/abi_*.c), e.g.:"
    echo "  nm -D --defined-only $so | awk '{print \$NF}' | grep '^cocoon_' | sort > tests/abi/symbols.txt"
    exit 1
fi
if [ -n "$other" ]; then
    echo "FAIL: symbols without the cocoon_ prefix are exported:"; echo "$other"; exit 1
fi
echo "ok: $(wc -l < "$out/cocoon-symbols.txt") cocoon_* symbols, nothing else exported"

step "SONAME"
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libcocoon.so.0 ] || { echo "FAIL: SONAME is '$soname', want libcocoon.so.0"; exit 1; }
echo "ok: SONAME $soname"

step "header compiles as C99 and C++"
printf '#include <cocoon.h>\nint main(void) { return cocoon_version() == 0; }\n' > "$out/hdr.c"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c "$out/hdr.c" -o "$out/hdr.o"
cp "$out/hdr.c" "$out/hdr.cpp"
g++ -Wall -Wextra -Werror -Iinclude -c "$out/hdr.cpp" -o "$out/hdrpp.o"
echo "ok: gcc -std=c99 -Wall -Wextra -Werror -pedantic, g++ -Wall -Wextra -Werror"

step "install into a temporary prefix; pkg-config build of examples/c/hello.c"
prefix="$out/prefix"
rm -rf "$prefix"
COCOON_NO_BUILD=1 bindings/c/install.sh "$prefix" "$profile"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --modversion cocoon
[ "$(readlink "$prefix/lib/libcocoon.so.0")" = "libcocoon.so.0.1.0" ] || { echo "FAIL: libcocoon.so.0 symlink"; exit 1; }
# shellcheck disable=SC2046
cc examples/c/hello.c $(pkg-config --cflags --libs cocoon) -o "$out/hello"
readelf -d "$out/hello" | grep -q 'NEEDED.*\[libcocoon.so.0\]' || { echo "FAIL: hello does not need libcocoon.so.0"; exit 1; }
LD_LIBRARY_PATH="$prefix/lib" "$out/hello"
export LD_LIBRARY_PATH="$prefix/lib"

step "C test program (natively, with real containers when root)"
# shellcheck disable=SC2046
gcc -std=c99 -Wall -Wextra -Werror -g tests/abi/abi_test.c tests/abi/abi_common.c tests/abi/abi_cgroup.c tests/abi/abi_containers.c tests/abi/abi_setters.c tests/abi/abi_run.c tests/abi/abi_net.c tests/abi/abi_landlock.c tests/abi/abi_selinux_policy.c tests/abi/abi_image.c tests/abi/abi_create.c tests/abi/abi_events.c tests/abi/abi_stats.c tests/abi/abi_log_write.c tests/abi/abi_logs.c tests/abi/abi_seccomp_notify.c tests/abi/abi_subids.c tests/abi/abi_warm.c $(pkg-config --cflags --libs cocoon) -o "$out/abi_test"
if [ "$(id -u)" = 0 ]; then "$out/abi_test"; else "$out/abi_test" --no-containers; fi

step "C host: a #!/proc/self/exe program never runs the host binary (CVE-2019-5736 class)"
# shellcheck disable=SC2046
gcc -std=c99 -Wall -Wextra -Werror -g tests/abi/host_exe_test.c $(pkg-config --cflags --libs cocoon) -o "$out/host_exe_test"
if [ "$(id -u)" = 0 ]; then "$out/host_exe_test"; else echo "skipped: needs root"; fi

step "C test program under valgrind (no containers: see the comment in abi_test.c)"
valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
    "$out/abi_test" --no-containers
echo "ok: valgrind reports no errors and no definite leaks"

echo
echo "abi check: all passed"
