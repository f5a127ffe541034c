"""The seccomp supervisor (Process(seccomp_notify=[...])): the named syscalls of a
container's program wait until the caller answers each one through its Supervisor
(Container.take_seccomp_supervisor()). Closing the supervisor makes pending and later
notified calls fail with ENOSYS, so nothing hangs on a dead supervisor.

Answer with respond_errno / respond_value (the supervisor did the work itself, e.g.
entered the container's mount namespace and mounted) or respond_continue (the kernel runs
the call as made: never a security decision about pointer arguments, the caller's memory
can change in between)."""

from __future__ import annotations

import ctypes
import errno as _errno
import os
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

from . import _lib
from ._lib import lib
from .constants import ErrorCode
from .errors import _check

TIMED_OUT, REQUEST, ENDED = 0, 1, 2
_ERRNO, _VALUE, _CONTINUE = 1, 2, 3


@dataclass(frozen=True)
class SeccompRequest:
    """One notified call: `id` answers it, `pid` is the calling thread (host pid),
    `args` its six raw arguments (addresses in the caller: Supervisor.read_memory)."""

    id: int
    pid: int
    syscall: int
    arch: int
    instruction_pointer: int
    args: Tuple[int, int, int, int, int, int]


class Supervisor:
    """The listener of a process's notify filter. `for req in sup:` yields requests until
    every process with the filter is gone; `with` / close() closes the listener."""

    def __init__(self, fd: int) -> None:
        self._fd: Optional[int] = fd
        self.ended = False

    def fileno(self) -> int:
        """The listener fd (readable: a request waits; it hangs up when the processes end)."""
        if self._fd is None:
            raise ValueError("the supervisor is closed")
        return self._fd

    def recv(self, timeout: Optional[float] = None) -> Optional[SeccompRequest]:
        """The next call, or None if `timeout` seconds passed (or the processes ended:
        then `ended` is True)."""
        r = _lib.SeccompRequestC()
        r.size = ctypes.sizeof(r)
        got = ctypes.c_int(-1)
        ms = -1 if timeout is None else max(0, int(timeout * 1000))
        _check(lib.cocoon_seccomp_recv(self.fileno(), ms, ctypes.byref(r), ctypes.byref(got)))
        if got.value == ENDED:
            self.ended = True
        if got.value != REQUEST:
            return None
        return SeccompRequest(r.id, r.pid, r.syscall, r.arch, r.instruction_pointer, tuple(r.args))  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[SeccompRequest]:
        while not self.ended:
            req = self.recv()
            if req is not None:
                yield req

    def respond_errno(self, req: SeccompRequest, err: int) -> None:
        """The call fails with errno `err` (1..4095)."""
        _check(lib.cocoon_seccomp_respond(self.fileno(), req.id, _ERRNO, err))

    def respond_value(self, req: SeccompRequest, value: int = 0) -> None:
        """The call returns `value` without being run."""
        _check(lib.cocoon_seccomp_respond(self.fileno(), req.id, _VALUE, value))

    def respond_continue(self, req: SeccompRequest) -> None:
        """The kernel runs the call as made (see the module docs)."""
        _check(lib.cocoon_seccomp_respond(self.fileno(), req.id, _CONTINUE, 0))

    def id_valid(self, req: SeccompRequest) -> bool:
        """Whether the call still waits (its pid still names the caller)."""
        return bool(lib.cocoon_seccomp_id_valid(self.fileno(), req.id))

    def read_memory(self, req: SeccompRequest, addr: int, size: int) -> bytes:
        """Up to `size` bytes of the caller's memory at `addr` (fewer at the end of a
        mapping); checked against pid reuse (an OSError with ESRCH if the call is gone)."""
        buf = ctypes.create_string_buffer(max(size, 1))
        got = ctypes.c_size_t(0)
        r = _lib.SeccompRequestC(ctypes.sizeof(_lib.SeccompRequestC), req.pid, req.id, req.syscall, req.arch, 0,
                                 req.instruction_pointer, (ctypes.c_uint64 * 6)(*req.args))
        _check(lib.cocoon_seccomp_read_memory(self.fileno(), ctypes.byref(r), addr, buf, size, ctypes.byref(got)))
        return buf.raw[:got.value]

    def read_string(self, req: SeccompRequest, addr: int, max_len: int = 4096) -> bytes:
        """A NUL-terminated string of at most `max_len` bytes at `addr` (without the NUL);
        OSError(ENAMETOOLONG) if longer, OSError(EFAULT) if it runs into unmapped memory."""
        out = b""
        while len(out) <= max_len:
            chunk = self.read_memory(req, addr + len(out), min(4096 - (addr + len(out)) % 4096, max_len + 1 - len(out)))
            end = chunk.find(b"\0")
            if end >= 0:
                return out + chunk[:end]
            if not chunk:
                raise OSError(_errno.EFAULT, "the string runs into unmapped memory")
            out += chunk
        raise OSError(_errno.ENAMETOOLONG, f"the string is longer than {max_len} bytes")

    def close(self) -> None:
        """Closes the listener: the process's notified calls fail with ENOSYS from now on."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "Supervisor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _take(fn, h) -> Optional[Supervisor]:  # type: ignore[no-untyped-def]
    fd = ctypes.c_int(-1)
    rc = fn(h, ctypes.byref(fd))
    if rc == int(ErrorCode.NOT_AVAILABLE):
        return None
    _check(rc)
    return Supervisor(fd.value)
