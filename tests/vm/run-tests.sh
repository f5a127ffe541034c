#!/usr/bin/env bash
# Builds the crate's VM integration tests (tests/vm_*.rs) and runs them in the qemu VM
# with SELinux enforcing:   tests/vm/run-tests.sh [EXTRA CARGO ARGS...]
# Each test binary runs with `--ignored --test-threads=1`. The last line is
# `vm: N passed, N failed` (N = test binaries); exit 0 only if all passed.
# Env: COCOON_VM_CACHE (cache dir), COCOON_VM_TIMEOUT (seconds, default 240),
#      COCOON_VM_NO_SELINUX=1 (boot without SELinux).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

cd "$REPO"
json="$(mktemp "${TMPDIR:-/tmp}/cocoon-vm-build.XXXXXX")"
extra="$(mktemp -d "${TMPDIR:-/tmp}/cocoon-vm-cil.XXXXXX")"
trap 'rm -rf "$json" "$extra"' EXIT
echo "vm: building tests/vm_*.rs" >&2
cargo test --no-run --all-features --message-format=json --test 'vm_*' "$@" >"$json" \
    || { echo "vm: cargo build failed" >&2; echo "vm: 0 passed, 1 failed"; exit 1; }
mapfile -t bins < <(jq -r 'select(.reason == "compiler-artifact" and .executable != null
        and (.target.kind | index("test")) and (.target.name | startswith("vm_")))
        | .executable' "$json" | sort -u)
# tests/vm_policy.rs generates its per-container policy modules here, on the host (the VM
# has no semodule or policy store); setup.sh builds them into the VM's policy.33.
for b in "${bins[@]}"; do
    case "$(basename "$b")" in
        vm_policy-*)
            COCOON_VM_POLICY_EMIT="$extra" "$b" --exact emit_vm_policies --quiet >&2 \
                || { echo "vm: generating the vm_policy modules failed" >&2; echo "vm: 0 passed, 1 failed"; exit 1; } ;;
    esac
done
COCOON_VM_EXTRA_CIL_DIR="$extra" "$HERE/setup.sh"

if [ "${#bins[@]}" = 0 ]; then
    echo "vm: no tests/vm_*.rs test binaries were built" >&2
    echo "vm: 0 passed, 0 failed"
    exit 1
fi

args=()
for b in "${bins[@]}"; do
    [ "${#args[@]}" = 0 ] || args+=(---)
    args+=("$b" --ignored --test-threads=1)
done
sel=(--selinux)
[ "${COCOON_VM_NO_SELINUX:-0}" = 1 ] && sel=()

log="$(mktemp "${TMPDIR:-/tmp}/cocoon-vm-run.XXXXXX")"
trap 'rm -rf "$json" "$extra" "$log"' EXIT
set +e
"$HERE/run.sh" "${sel[@]}" --timeout "${COCOON_VM_TIMEOUT:-240}" -- "${args[@]}" | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed="$(grep -c '^vm: ok ' "$log" || true)"
failed=$(( ${#bins[@]} - passed ))
echo "vm: $passed passed, $failed failed"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
