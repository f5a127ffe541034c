"""How a container's program (or a process exec'd into it) runs: environment, working
directory, user, privileges, limits, stdio, passed fds, seccomp (Rust: `Process`)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import IO, Any, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from . import _lib
from ._lib import lib, process_fn
from ._util import StrPath, _b, _strv
from .constants import ErrorCode, Rlimit
from .errors import InvalidConfig, _check
from .seccomp import Seccomp, _apply_seccomp
from .stdio import StdioSpec, _apply_stdio

__all__ = ["Process", "User", "Capabilities"]


class User(NamedTuple):
    """Numeric ids the program runs as, as seen inside the container (a plain (uid, gid)
    tuple works too)."""
    uid: int
    gid: int
    groups: Sequence[int] = ()
    """Supplementary group ids."""


class Capabilities(NamedTuple):
    """The five capability sets as masks (bit n = capability number n, e.g. CAP_CHOWN =
    0). `effective` must be within `permitted`, `ambient` within both `permitted` and
    `inheritable`. Default: Docker's set in bounding/effective/permitted, nothing
    inheritable or ambient (a plain 5-tuple in this order works too)."""
    bounding: int
    effective: int
    permitted: int
    inheritable: int = 0
    ambient: int = 0


UserSpec = Union[str, User, Tuple[int, int], Tuple[int, int, Sequence[int]]]
"""A user name (looked up in the container's /etc/passwd and /etc/group when it is
spawned), User(uid, gid, groups), or a (uid, gid) or (uid, gid, groups) tuple."""

PassFds = Union[Sequence[int], Mapping[int, Union[int, IO[Any]]]]
"""Fds passed on under their own numbers (like subprocess), or {target: fd or file}."""


@dataclass(frozen=True)
class LogFile:
    """Log stdout and stderr to `path` in the CRI format kubelet reads
    (`<RFC 3339 time> stdout|stderr F|P <text>`), written by the container's monitor, so
    logging goes on after a detached container's creator exits. Rotates when the file
    would pass `max_size` bytes (0: never), keeping at most `max_files` files (the live
    one included). Read it back with cocoon.LogReader."""

    path: StrPath
    max_size: int = 0
    max_files: int = 1


@dataclass(frozen=True)
class Process:
    """Everything about how a container's program runs except its argv
    (`process=Process(...)`, also for Container.exec). None leaves cocoon's default.

    env: the environment, a dict (default: empty; nothing leaks from the host; the
        program is searched in its PATH, default /usr/local/sbin:...:/bin).
    cwd: the working directory inside the container (default "/").
    user: a name, User(uid, gid, groups) or (uid, gid) (default root, 0:0).
    capabilities: Capabilities(bounding, effective, permitted, inheritable, ambient).
    no_new_privs: PR_SET_NO_NEW_PRIVS (default True).
    rlimits: {Rlimit: (soft, hard)} (RLIM_INFINITY for no limit).
    umask: the file mode creation mask (0 to 0o777).
    oom_score_adj: -1000 to 1000.
    stdin, stdout, stderr: INHERIT (default), DEVNULL, PIPE, an fd or a file.
    pass_fds: fds passed on under the same numbers (like subprocess), or {target: fd or
        file}; they are duplicated when the Container is built.
    seccomp: the syscall filter, a Seccomp (default: cocoon's default seccomp profile).
    log: a LogFile: stdout and stderr go to a CRI log file instead (a container's first
        process only; not with direct_child).
    seccomp_notify: syscall numbers (os/`SYS_*` values) handed to a supervisor: each call
        waits until answered through Container/ExecProcess.take_seccomp_supervisor()
        (cocoon.supervisor). Not the exec helper's own syscalls (execve, openat, ...).

    Container takes env, cwd, user, stdin, stdout, stderr and seccomp directly too, as
    shortcuts for these fields.
    """

    env: Optional[Mapping[str, str]] = None
    cwd: Optional[StrPath] = None
    user: Optional[UserSpec] = None
    capabilities: Optional[Tuple[int, int, int, int, int]] = None
    no_new_privs: Optional[bool] = None
    rlimits: Optional[Mapping[Rlimit, Tuple[int, int]]] = None
    umask: Optional[int] = None
    oom_score_adj: Optional[int] = None
    stdin: StdioSpec = None
    stdout: StdioSpec = None
    stderr: StdioSpec = None
    pass_fds: Optional[PassFds] = None
    seccomp: Optional[Seccomp] = None
    log: Optional[LogFile] = None
    seccomp_notify: Optional[Sequence[int]] = None


def _apply_user(h: Any, user: Optional[UserSpec]) -> None:
    if user is None:
        return
    if isinstance(user, str):
        _check(process_fn(h, "set_user_name")(h, user.encode()))
        return
    uid, gid, *rest = user
    if len(rest) > 1:
        raise TypeError("user takes a name, (uid, gid) or (uid, gid, groups)")
    gs = list(rest[0]) if rest else []
    garr = (ctypes.c_uint32 * max(len(gs), 1))(*gs)
    _check(process_fn(h, "set_user")(h, uid, gid, garr, len(gs)))


def _apply_process(h: Any, p: Process) -> None:
    _apply_seccomp(h, p.seccomp)
    if p.env is not None:
        arr, n = _strv([_b(k) + b"=" + _b(v) for k, v in p.env.items()])
        _check(process_fn(h, "set_env")(h, arr, n))
    if p.cwd is not None:
        _check(process_fn(h, "set_cwd")(h, _b(p.cwd)))
    _apply_user(h, p.user)
    if p.capabilities is not None:
        _check(process_fn(h, "set_capabilities")(h, *p.capabilities))
    if p.no_new_privs is not None:
        _check(process_fn(h, "set_no_new_privs")(h, int(bool(p.no_new_privs))))
    for res, (soft, hard) in (p.rlimits or {}).items():
        _check(process_fn(h, "set_rlimit")(h, int(res), soft, hard))
    if p.umask is not None:
        _check(process_fn(h, "set_umask")(h, p.umask))
    if p.oom_score_adj is not None:
        _check(process_fn(h, "set_oom_score_adj")(h, p.oom_score_adj))
    _apply_stdio(h, p.stdin, p.stdout, p.stderr)
    if p.log is not None:
        if isinstance(h, _lib.ProcessP):
            raise InvalidConfig(int(ErrorCode.INVALID_CONFIG), 0, 0,
                                "invalid log: logging is for a container's first process, not an exec'd one")
        _check(lib.cocoon_builder_set_log(h, _b(p.log.path), int(p.log.max_size), int(p.log.max_files)))
    if p.seccomp_notify is not None:
        nrs = [int(n) for n in p.seccomp_notify]
        arr = (ctypes.c_int64 * max(len(nrs), 1))(*nrs)
        _check(process_fn(h, "set_seccomp_notify")(h, arr, len(nrs)))
    if p.pass_fds:
        pairs = p.pass_fds.items() if isinstance(p.pass_fds, Mapping) else ((fd, fd) for fd in p.pass_fds)
        for target, fd in pairs:
            fd = fd if isinstance(fd, int) else fd.fileno()
            _check(process_fn(h, "pass_fd")(h, fd, int(target)))
