"""Conversions from Python values to the C arguments of libcocoon."""

from __future__ import annotations

import ctypes
import math
import os
import select
from typing import Any, Optional, Sequence, Tuple, Union

StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
"""A path or string argument: str, bytes or an os.PathLike (encoded with os.fsencode)."""


def _b(s: StrPath) -> bytes:
    return os.fsencode(s)


def _strv(items: Sequence[StrPath]) -> Tuple[Any, int]:
    """A C array of strings and its length (the array is never empty: ctypes needs one slot)."""
    arr = (ctypes.c_char_p * max(len(items), 1))(*[_b(i) for i in items])
    return arr, len(items)


def _u64(v: int, top: int = 2**64 - 1) -> int:
    """A non-negative integer that fits the C parameter (ctypes would wrap -1 silently)."""
    v = int(v)
    if not 0 <= v <= top:
        raise ValueError(f"{v} is outside 0..={top}")
    return v


def _wait_readable(fd: int, timeout: Optional[float] = None) -> bool:
    """Blocks until `fd` polls readable (True) or `timeout` seconds pass (False). Unlike
    a wait inside the C library, this runs Python's signal handlers: Ctrl-C raises
    KeyboardInterrupt at once (PEP 475; other signals resume the poll with the time left)."""
    p = select.poll()
    p.register(fd, select.POLLIN)
    if timeout is None:
        while not p.poll():
            pass
        return True
    # Round up: a sub-millisecond rest must not become a busy 0 ms poll.
    return bool(p.poll(max(0, math.ceil(timeout * 1000))))
