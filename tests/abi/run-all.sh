#!/bin/bash
# Every check of the C ABI and the Python bindings, in order. Run as root from anywhere:
#   tests/abi/run-all.sh [debug|release]
# Steps: header drift (cargo test abi_header), recorded declarations unchanged
# (tests/abi/prototypes.py), ABI check (symbols, SONAME, header compile
# with gcc/g++, pkg-config install, abi_test.c natively and under valgrind), C examples,
# Rust FFI property test, Python venv + pip install of the bindings (which bundle the
# library they build), the same in a fresh venv running a container, pytest, Python examples
# (these and the fresh-venv run fail on a deprecated keyword). Ends with "abi: N passed, N failed".
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

header_drift() { cargo test -j1 --all-features --test abi_header; }
prototypes() { tests/abi/prototypes.py; }
abi_check() { tests/abi/check.sh "$profile"; }
ffi_props() { cargo test -j1 --all-features --test ffi_props; }

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

# The Python steps use the library the package bundles (setup.py builds it with cargo, in
# the profile of this run: the build check.sh made is reused): no COCOON_LIBRARY anywhere.
pip_install() { env -u COCOON_LIBRARY COCOON_BUILD_PROFILE="$profile" "$@"; }
py() { (cd "$out" && env -u COCOON_LIBRARY -u LD_LIBRARY_PATH "$@"); }

python_install() {
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install -q --disable-pip-version-check pytest prometheus_client || return 1
    pip_install "$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python || return 1
    rm -rf bindings/python/build bindings/python/*.egg-info
    py "$venv/bin/python" -c 'import cocoon; print("installed cocoon bindings", cocoon.version(), "from", cocoon.__file__, "library", cocoon._lib.lib._name)'
}

# What a new user does, in a fresh venv: pip install, import, run a container.
python_fresh_venv() {
    local v="$out/fresh-venv"
    rm -rf "$v"
    python3 -m venv "$v" || return 1
    pip_install "$v/bin/pip" install --disable-pip-version-check ./bindings/python || return 1
    rm -rf bindings/python/build bindings/python/*.egg-info
    py "$v/bin/python" -W error::DeprecationWarning -c '
import os, cocoon
lib = cocoon._lib.lib._name
assert lib == os.path.join(os.path.dirname(cocoon.__file__), "libcocoon.so.0"), lib
with cocoon.Container(["sh", "-c", "hostname"], hostname="fresh", read_only_root=True,
                      stdout=cocoon.PIPE, cgroup=cocoon.Cgroup(pids_max=16)) as c:
    out = c.stdout.read().decode().strip()
    st = c.wait()
assert out == "fresh" and st.success, (out, st)
print("fresh venv: container ran with", lib)
' || return 1
    rm -rf "$v"
}

pytest_suite() {
    # The installed package (not the source tree) is tested: run from outside the repo.
    py "$venv/bin/python" -m pytest -q "$root/bindings/python/tests" -p no:cacheprovider
}

python_examples() {
    local e
    for e in run_isolated exec_into; do
        echo "--- examples/python/$e.py"
        py "$venv/bin/python" -W error::DeprecationWarning "$root/examples/python/$e.py" || return 1
    done
}

run "header: cbindgen output matches include/cocoon.h" header_drift
run "header: no recorded prototype, struct or constant changed (tests/abi/prototypes.txt)" prototypes
run "abi: symbols, SONAME, header compile, install + pkg-config, abi_test.c (+ valgrind)" abi_check
run "C examples" c_examples
run "C host with a SIGCHLD handler reaping waitpid(-1): every container wait succeeds" c_sigchld_host
run "Rust: FFI property test" ffi_props
run "Python: venv + pip install ./bindings/python" python_install
run "Python: fresh venv, pip install ./bindings/python, import, run a container (no COCOON_LIBRARY)" python_fresh_venv
run "Python: pytest" pytest_suite
run "Python examples" python_examples

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "abi: $passed passed, $failed failed"
[ "$failed" = 0 ]
