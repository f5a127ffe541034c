"""Where a process's standard streams go (INHERIT, DEVNULL, PIPE, an fd or a file), and
the pipes the caller gets back."""

from __future__ import annotations

import ctypes
import io
from typing import IO, Any, Callable, Optional, Union

from ._lib import process_fn
from .constants import ErrorCode
from .errors import _check

__all__ = ["INHERIT", "DEVNULL", "PIPE", "StdioSpec"]

_STDIN, _STDOUT, _STDERR = 0, 1, 2
_K_INHERIT, _K_NULL, _K_PIPE, _K_FD = 0, 1, 2, 3


class _StdioKind:
    def __init__(self, name: str, kind: int) -> None:
        self.name, self.kind = name, kind

    def __repr__(self) -> str:
        return f"cocoon.{self.name}"


INHERIT = _StdioKind("INHERIT", _K_INHERIT)
"""The caller's own stream (the default)."""
DEVNULL = _StdioKind("DEVNULL", _K_NULL)
"""/dev/null."""
PIPE = _StdioKind("PIPE", _K_PIPE)
"""A pipe: the caller's end is the container's (or exec'd process's) .stdin/.stdout/.stderr."""

StdioSpec = Union[_StdioKind, int, IO[Any], None]
"""INHERIT (or None), DEVNULL, PIPE, a file descriptor, or a file object with fileno()
(the fd is duplicated when the container is built; the caller keeps its own)."""


def _apply_stdio(h: Any, stdin: StdioSpec, stdout: StdioSpec, stderr: StdioSpec) -> None:
    for stream, spec in ((_STDIN, stdin), (_STDOUT, stdout), (_STDERR, stderr)):
        if spec is None or spec is INHERIT:
            continue
        if isinstance(spec, _StdioKind):
            _check(process_fn(h, "set_stdio")(h, stream, spec.kind, -1))
        else:
            fd = spec if isinstance(spec, int) else spec.fileno()
            _check(process_fn(h, "set_stdio")(h, stream, _K_FD, fd))


def _take(take: Callable[..., int], h: Any, stream: int, mode: str) -> Optional[IO[bytes]]:
    """The caller's end of a PIPE stream as a file, or None when the stream is no pipe."""
    fd = ctypes.c_int(-1)
    rc = take(h, stream, ctypes.byref(fd))
    if rc == ErrorCode.NOT_AVAILABLE:
        return None
    _check(rc)
    return io.open(fd.value, mode, buffering=0 if mode == "wb" else -1)


def _take_all(take: Callable[..., int], h: Any, obj: Any) -> None:
    obj.stdin = _take(take, h, _STDIN, "wb")
    obj.stdout = _take(take, h, _STDOUT, "rb")
    obj.stderr = _take(take, h, _STDERR, "rb")


def _close_streams(obj: Any) -> None:
    for name in ("stdin", "stdout", "stderr"):
        f = getattr(obj, name, None)
        if f is not None:
            try:
                f.close()
            except OSError:
                pass
