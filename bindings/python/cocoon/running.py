"""RunningContainer: exec into a running container found by its pid, from any process."""

from __future__ import annotations

import ctypes
import os
import weakref
from typing import Any, Mapping, Optional, Sequence

from . import _compat, _lib
from ._lib import lib
from ._util import StrPath, _b
from .exec_process import ExecProcess, _exec_with
from .errors import _check
from .process import Process, UserSpec
from .seccomp import Seccomp

StdioSpec = Any


class RunningContainer:
    """A running container whose first process is `pid` (made by this or another
    process: e.g. an OCI runtime's create), with its cgroup at `cgroup` (relative to the
    hierarchy roots, Container.cgroup_path of its creator; None: execs stay in the
    caller's cgroup).

    The namespaces an exec joins are those of `pid` that differ from the caller's, read
    from the kernel; a pidfd holds the process from here on (checking that `pid` is the
    container before opening it is the caller's). A pid that does not exist raises
    AlreadyExited; a process in none of its own namespaces InvalidConfig.

    direct_child=True makes exec'd processes the caller's own children (no monitor): the
    caller, or its subreaper once it exits, reaps them; a container with a PID namespace
    finishes ending only once they are reaped.
    """

    def __init__(self, pid: int, cgroup: Optional[StrPath] = None, *, direct_child: bool = False) -> None:
        h = _lib.RunningP()
        _check(lib.cocoon_running_open(int(pid), None if cgroup is None else _b(os.fspath(cgroup)), ctypes.byref(h)))
        self._h: Optional[Any] = h
        self._fin = weakref.finalize(self, lib.cocoon_running_free, h)
        self.pid = int(pid)
        if direct_child:
            _check(lib.cocoon_running_set_direct_child(h, 1))

    def _handle(self) -> Any:
        if self._h is None:
            raise RuntimeError("the RunningContainer handle is closed")
        return self._h

    def exec(self, argv: Sequence[StrPath], *, env: Optional[Mapping[str, str]] = None,
             cwd: Optional[StrPath] = None, user: Optional[UserSpec] = None,
             stdin: StdioSpec = None, stdout: StdioSpec = None, stderr: StdioSpec = None,
             seccomp: Optional[Seccomp] = None, process: Optional[Process] = None) -> ExecProcess:
        """Runs argv in the container, with the keywords of Container.exec."""
        p = _compat.resolve_process(
            process, dict(env=env, cwd=cwd, user=user, stdin=stdin, stdout=stdout, stderr=stderr,
                          seccomp=seccomp), {})
        return _exec_with(lib.cocoon_running_exec_process, self._handle(), argv, p)

    def close(self) -> None:
        """Frees the handle; the container is not touched."""
        self._fin()
        self._h = None

    def __enter__(self) -> "RunningContainer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
