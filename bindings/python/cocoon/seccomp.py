"""The syscall filter of a process: cocoon's default seccomp profile and an optional deny-list
(Rust: `Process::seccomp` and `Process::default_seccomp`)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ._lib import process_fn
from .errors import _check

__all__ = ["Seccomp"]


@dataclass(frozen=True)
class Seccomp:
    """The seccomp filter of a process (`seccomp=Seccomp(...)`; None = the default profile).

    default_policy: cocoon's default profile (on unless False), Docker's default
        allowlist: every syscall it does not list fails with EPERM (keyctl/add_key/
        request_key, bpf, perf_event_open, kexec_load, open_by_handle_at, modules, ...);
        clone/unshare with any CLONE_NEW* flag, setns and mount only with CAP_SYS_ADMIN
        kept (other capabilities widen it likewise: CAP_SYS_PTRACE ptrace, ...); clone3
        fails with ENOSYS (libcs fall back to clone); fork, threads and ordinary programs
        work. Turn it off for programs that need more (Rust
        `Process::default_seccomp(false)`, C `cocoon_builder_set_default_seccomp(b, 0)`).
    deny: a deny-list on top (None: none), syscall numbers (x86_64, as in
        <asm/unistd_64.h>) that fail with `errno` (default EPERM); everything else is
        allowed. A deny-list cannot
        loosen the default profile; where both refuse a syscall, the deny-list's errno is
        the one seen.
    use_default: the deny-list is cocoon's conservative one (`Seccomp.default()`: keyrings,
        unshare/setns, modules, kexec, BPF, perf, userfaultfd, ptrace, mounts, swap,
        reboot, clocks, ...) instead of `deny`.

    profile_json: a profile in Docker's JSON format (str or bytes) replacing the default
        profile, its includes/excludes resolved for the process's capabilities (Rust
        `Process::seccomp_profile_json`, C `cocoon_builder_set_seccomp_profile_json`).

    `Seccomp.unconfined()` is no filter at all (`cocoon-run --seccomp=unconfined`).
    """

    deny: Optional[Sequence[int]] = None
    errno: int = 1  # EPERM
    use_default: bool = False
    default_policy: bool = True
    profile_json: Optional[Any] = None

    @staticmethod
    def default() -> "Seccomp":
        """cocoon's conservative deny-list, on top of the default profile."""
        return Seccomp(use_default=True)

    @staticmethod
    def unconfined() -> "Seccomp":
        """No filter: neither the default profile nor a deny-list."""
        return Seccomp(default_policy=False)


def _apply_seccomp(h: Any, seccomp: Optional[Seccomp]) -> None:
    if seccomp is None:
        seccomp = Seccomp()
    elif not isinstance(seccomp, Seccomp):
        raise TypeError(f"seccomp takes a cocoon.Seccomp, not {type(seccomp).__name__}")
    if seccomp.use_default:
        _check(process_fn(h, "set_seccomp_default_deny")(h))
    elif seccomp.deny is not None:
        nrs = list(seccomp.deny)
        arr = (ctypes.c_int64 * max(len(nrs), 1))(*nrs)
        _check(process_fn(h, "set_seccomp_deny")(h, arr, len(nrs), seccomp.errno))
    _check(process_fn(h, "set_default_seccomp")(h, int(bool(seccomp.default_policy))))
    if seccomp.profile_json is not None:
        j = seccomp.profile_json
        data = j.encode() if isinstance(j, str) else bytes(j)
        _check(process_fn(h, "set_seccomp_profile_json")(h, data, len(data)))
