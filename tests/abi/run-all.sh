#!/bin/bash
# Every check of the C ABI and the Python bindings, in order. Run as root from anywhere:
#   tests/abi/run-all.sh [debug|release]
# Steps: header drift (cargo test abi_header), recorded declarations unchanged
# (tests/abi/prototypes.py), ABI check (symbols, SONAME, header compile
# with gcc/g++, pkg-config install, abi_test.c natively and under valgrind), C examples,
# Rust FFI property test, Python venv + pip install of the bindings, pytest, Python
# examples. Ends with "abi: N passed, N failed".
set -uo pipefail

profile=${1:-debug}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
out="$CARGO_TARGET_DIR/abi"
prefix="$out/prefix"
venv="$CARGO_TARGET_DIR/pyvenv"
passed=0
failed=0
failures=()

run() {
    local name=$1
    shift
    printf '\n######## %s\n' "$name"
    if "$@"; then
        passed=$((passed + 1))
        echo "######## ok: $name"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "######## FAILED: $name"
    fi
}

header_drift() { cargo test -j1 --test abi_header; }
prototypes() { tests/abi/prototypes.py; }
abi_check() { tests/abi/check.sh "$profile"; }
ffi_props() { cargo test -j1 --test ffi_props; }

c_examples() {
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    local e
    for e in run_isolated exec_into; do
        # shellcheck disable=SC2046
        gcc -std=c99 -Wall -Wextra -Werror "examples/c/$e.c" $(pkg-config --cflags --libs cocoon) -o "$out/$e" || return 1
        echo "--- examples/c/$e"
        LD_LIBRARY_PATH="$prefix/lib" "$out/$e" || return 1
    done
}

c_sigchld_host() {
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    # shellcheck disable=SC2046
    gcc -std=c99 -Wall -Wextra -Werror tests/abi/sigchld_host.c $(pkg-config --cflags --libs cocoon) -o "$out/sigchld_host" || return 1
    LD_LIBRARY_PATH="$prefix/lib" "$out/sigchld_host"
}

python_install() {
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install -q --disable-pip-version-check pytest || return 1
    "$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python || return 1
    rm -rf bindings/python/build bindings/python/*.egg-info
    (cd "$out" && COCOON_LIBRARY="$prefix/lib/libcocoon.so.0" "$venv/bin/python" -c 'import cocoon; print("installed cocoon bindings", cocoon.version(), "from", cocoon.__file__)')
}

pytest_suite() {
    # The installed package (not the source tree) is tested: run from outside the repo.
    (cd "$out" && COCOON_LIBRARY="$prefix/lib/libcocoon.so.0" "$venv/bin/python" -m pytest -q "$root/bindings/python/tests" -p no:cacheprovider)
}

python_examples() {
    local e
    for e in run_isolated exec_into; do
        echo "--- examples/python/$e.py"
        (cd "$out" && COCOON_LIBRARY="$prefix/lib/libcocoon.so.0" "$venv/bin/python" "$root/examples/python/$e.py") || return 1
    done
}

run "header: cbindgen output matches include/cocoon.h" header_drift
run "header: no recorded prototype, struct or constant changed (tests/abi/prototypes.txt)" prototypes
run "abi: symbols, SONAME, header compile, install + pkg-config, abi_test.c (+ valgrind)" abi_check
run "C examples" c_examples
run "C host with a SIGCHLD handler reaping waitpid(-1): every container wait succeeds" c_sigchld_host
run "Rust: FFI property test" ffi_props
run "Python: venv + pip install ./bindings/python" python_install
run "Python: pytest" pytest_suite
run "Python examples" python_examples

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "abi: $passed passed, $failed failed"
[ "$failed" = 0 ]
