"""ExecProcess (a process exec'd into a container), ExitStatus, and the exec call shared by
Container.exec and RunningContainer.exec."""

from __future__ import annotations

import ctypes
import weakref
from typing import IO, Any, NamedTuple, Optional, Sequence, Tuple

from . import _lib
from ._lib import lib
from ._util import StrPath, _b, _strv, _wait_readable
from .errors import TimeoutExpired, _check
from .process import Process, _apply_process
from .stdio import _close_streams, _take_all
from .supervisor import Supervisor, _take as _take_supervisor
from . import aio as _aio
from . import run as _run


class ExitStatus(NamedTuple):
    """How a process ended: `code` (-1 if killed) and `signal` (0 if it exited)."""
    code: int
    signal: int

    @property
    def success(self) -> bool:
        """Exited with code 0."""
        return self.code == 0 and self.signal == 0


def _status(code: ctypes.c_int, sig: ctypes.c_int) -> ExitStatus:
    return ExitStatus(code.value, sig.value)


def _with_process(argv: Sequence[StrPath], p: Process, use: Any) -> Any:
    """Builds a cocoon_process for argv with settings p, returns use(handle), frees it."""
    if not argv:
        raise ValueError("argv must name a program")
    ph = _lib.ProcessP()
    _check(lib.cocoon_process_new(_b(argv[0]), ctypes.byref(ph)))
    try:
        arr, n = _strv(list(argv[1:]))
        _check(lib.cocoon_process_set_args(ph, arr, n))
        _apply_process(ph, p)
        return use(ph)
    finally:
        lib.cocoon_process_free(ph)


def _exec_with(fn: Any, target: Any, argv: Sequence[StrPath], p: Process) -> "ExecProcess":
    """Runs argv with process settings p through fn(target, process, out)."""
    h = _lib.ExecP()
    _with_process(argv, p, lambda ph: _check(fn(target, ph, ctypes.byref(h))))
    return ExecProcess(h, argv)


class ExecProcess:
    """A process exec'd into a container (Container.exec); `with`/close() kills it (if
    running) and reaps it. With PIPE stdio its ends are .stdin/.stdout/.stderr."""

    def __init__(self, h: _lib.ExecP, args: Sequence[StrPath] = ()) -> None:
        self.args = list(args)
        self._communication: Any = None
        self._h: Optional[_lib.ExecP] = h
        self._fin = weakref.finalize(self, lib.cocoon_exec_process_free, h)
        self.stdin: Optional[IO[bytes]] = None
        self.stdout: Optional[IO[bytes]] = None
        self.stderr: Optional[IO[bytes]] = None
        _take_all(lib.cocoon_exec_process_take_stdio, h, self)

    def _handle(self) -> _lib.ExecP:
        if self._h is None:
            raise RuntimeError("the process handle is closed")
        return self._h

    def take_seccomp_supervisor(self) -> Optional[Supervisor]:
        """The supervisor of this process's notified syscalls (as
        Container.take_seccomp_supervisor)."""
        return _take_supervisor(lib.cocoon_exec_process_take_seccomp_listener, self._handle())

    @property
    def pid(self) -> int:
        """Host pid."""
        v = ctypes.c_int()
        _check(lib.cocoon_exec_process_pid(self._handle(), ctypes.byref(v)))
        return v.value

    def wait_fd(self) -> int:
        """An fd owned by the process handle that polls readable once it has exited
        (as Container.wait_fd)."""
        fd = ctypes.c_int()
        _check(lib.cocoon_exec_process_wait_fd(self._handle(), ctypes.byref(fd)))
        return fd.value

    def wait(self, timeout: Optional[float] = None) -> ExitStatus:
        """Waits for it to end, at most `timeout` seconds: then raises
        cocoon.TimeoutExpired (interruptible: Ctrl-C raises KeyboardInterrupt)."""
        if not _wait_readable(self.wait_fd(), timeout):
            raise TimeoutExpired(self.args, timeout or 0)
        code, sig = ctypes.c_int(), ctypes.c_int()
        _check(lib.cocoon_exec_process_wait(self._handle(), ctypes.byref(code), ctypes.byref(sig)))
        return _status(code, sig)

    def poll(self) -> Optional[ExitStatus]:
        """The exit status if it has ended, else None."""
        ex, code, sig = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        _check(lib.cocoon_exec_process_try_wait(self._handle(), ctypes.byref(ex), ctypes.byref(code), ctypes.byref(sig)))
        return _status(code, sig) if ex.value else None

    def communicate(self, input: Optional[bytes] = None,
                    timeout: Optional[float] = None) -> Tuple[Optional[bytes], Optional[bytes]]:
        """As Container.communicate."""
        return _run.communicate(self, input, timeout)

    async def wait_async(self) -> ExitStatus:
        """As Container.wait_async (a cancelled await kills the process)."""
        return await _aio.wait_async(self)

    def kill(self, signal: int = 9) -> None:
        """Sends it a signal (default SIGKILL)."""
        _check(lib.cocoon_exec_process_kill(self._handle(), int(signal)))

    def close(self) -> None:
        """Kills it if still running, reaps it, frees the handle."""
        _close_streams(self)
        self._fin()
        self._h = None

    def detach(self) -> int:
        """Lets it run on and frees the handle (it is neither killed nor reaped). Returns
        the pid to reap: the program's own with RunningContainer(direct_child=True)."""
        h = self._handle()
        self._fin.detach()
        self._h = None
        pid = ctypes.c_int()
        _check(lib.cocoon_exec_process_detach(h, ctypes.byref(pid)))
        return pid.value

    def __enter__(self) -> "ExecProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
