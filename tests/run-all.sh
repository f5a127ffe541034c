#!/usr/bin/env bash
# Runs every cocoon test (as root): the Rust unit, property and integration tests on this
# host (real namespaces, mounts and cgroups), the C ABI and Python binding checks, and the
# cgroup-v2 + SELinux tests inside a qemu VM. Installs what it needs first.
# The last line is "cocoon: N passed, N failed" over the suites.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

.ci/deps.sh || exit 1

passed=0
failed=0
failures=()
suite() {
  local name=$1
  shift
  echo "==> $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "==> $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "==> $name: FAILED ($((SECONDS - start)) s)"
  fi
}

# --all-targets also builds the examples and runs each benchmark once in test mode.
suite "cargo test (host: core, escapes, cgroups v1/hybrid, selinux off, ffi, benches once)" \
  cargo test --all-targets --all-features --no-fail-fast
suite "doc tests" cargo test --doc --all-features
suite "lints (clippy, rustdoc) with warnings as errors" \
  bash -c 'cargo clippy --all-features --all-targets -- -D warnings && RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features'

# The README's first command, run as written (taken from README.md, so the two cannot
# drift apart), then the Rust examples.
readme_command() {
  local cmd out
  cmd=$(grep -m1 '^\.ci/deps\.sh && cargo run --release --features cli --bin cocoon-run -- ' README.md) || {
    echo "README.md has no '.ci/deps.sh && cargo run --release --features cli --bin cocoon-run -- ...' line"
    return 1
  }
  echo "+ $cmd"
  out=$(bash -c "$cmd" 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  echo "$out" | grep -q "inside: cocoon, pid 1" &&
    echo "$out" | grep -q "uid=0(root)" &&
    echo "$out" | grep -q "own namespaces: mnt uts ipc pid net cgroup" &&
    echo "$out" | grep -q "cgroup under cocoon: memory 64 MiB, pids 64"
}
suite "the README's first command (cocoon-run), as written" readme_command
rust_examples() {
  local out
  out=$(cargo run -q --all-features --example run -- sh -c 'echo "inside: $(hostname) pid $$"; touch /ro 2>/dev/null || echo "root is read-only"; exit 3' 2>&1)
  [ $? -eq 3 ] || { echo "$out"; echo "expected exit status 3"; return 1; }
  echo "$out"
  echo "$out" | grep -q "inside: example pid 1" && echo "$out" | grep -q "root is read-only" || return 1
  out=$(cargo run -q --all-features --example exec_into) || return 1
  echo "$out"
  echo "$out" | grep -qE "inside: +hostname=execbox pid=[0-9]+ uptime=[0-9]"
}
suite "Rust examples (run, exec_into)" rust_examples
if [ -x tests/abi/run-all.sh ]; then
  suite "C ABI and Python bindings" tests/abi/run-all.sh
fi
suite "qemu VM (cgroup v2, SELinux enforcing)" tests/vm/run-tests.sh
# Release artefacts (crate, C install, Debian packages, wheel) from the release build the
# README's command made.
suite "packaging (crate, C install, Debian packages + clean-root install, wheel)" tests/packaging/run.sh

# Nothing may be left behind on the host by any suite: no cgroup, mount, network
# namespace or link of ours.
leftovers() {
  local left d
  # The one directory cocoon keeps between processes by design (the machine's shared
  # device-policy cgroup, src/cgroup/cgroupfs/shared_policy.rs): removed here if empty; if a
  # process is still in it, rmdir fails and it is reported below.
  for d in /sys/fs/cgroup/unified/cocoon.devices-* /sys/fs/cgroup/cocoon.devices-*; do
    [ -d "$d" ] && rmdir "$d" 2>/dev/null || true
  done
  left=$(
    find /sys/fs/cgroup -maxdepth 4 -type d -iname '*cocoon*' 2>/dev/null
    grep -i cocoon /proc/self/mountinfo
    ip netns list 2>/dev/null | grep -i cocoon
    ip link show 2>/dev/null | grep -iE 'cocoon|veth'
  )
  if [ -n "$left" ]; then
    echo "left behind on the host:"
    echo "$left"
    return 1
  fi
}
suite "nothing left behind (cgroups, mounts, netns, links)" leftovers

for f in "${failures[@]}"; do echo "failed suite: $f"; done
echo "cocoon: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
