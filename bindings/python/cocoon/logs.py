"""Reading container logs back (cocoon_log_reader_*): CRI log files, their rotated files
oldest first, from a time on, optionally following the live file (`tail -f`) across
rotations.

    with cocoon.LogReader("/var/log/box.log", since=time.time() - 60) as r:
        for line in r:
            print(line.time, line.stream, line.text.decode(errors="replace"))
"""

from __future__ import annotations

import ctypes
import datetime
import math
import weakref
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple, Union

from . import _lib
from ._lib import lib
from ._util import StrPath, _b
from .errors import _check, _raise

__all__ = ["LogLine", "LogReader"]

_STREAMS = {1: "stdout", 2: "stderr"}


@dataclass(frozen=True)
class LogLine:
    """One record: `time` in seconds since the epoch (a float; `secs` and `nanos` exactly),
    `stream` 'stdout' or 'stderr', `partial` True for a `P` record (the next record of the
    same stream continues the line), `text` the bytes without the newline (any bytes,
    not necessarily UTF-8)."""
    time: float
    secs: int
    nanos: int
    stream: str
    partial: bool
    text: bytes


Since = Union[None, int, float, datetime.datetime, LogLine, Tuple[int, int]]


def _since(since: Since) -> Tuple[int, int]:
    """(secs, nanos) of a `since` argument; (-1, 0) for None (from the start)."""
    if since is None:
        return -1, 0
    if isinstance(since, LogLine):
        return since.secs, since.nanos
    if isinstance(since, tuple):
        secs, nanos = int(since[0]), int(since[1])
    elif isinstance(since, datetime.datetime):
        if since.tzinfo is None:
            raise ValueError("since: a naive datetime is ambiguous; give it a tzinfo")
        delta = since - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        secs = delta.days * 86400 + delta.seconds
        nanos = delta.microseconds * 1000
    elif isinstance(since, int):
        secs, nanos = since, 0
    else:
        t = float(since)
        if not math.isfinite(t):
            raise ValueError(f"since is not finite: {since}")
        secs = math.floor(t)
        nanos = min(int(round((t - secs) * 1e9)), 999_999_999)
    if secs < 0 or not 0 <= nanos <= 999_999_999 or secs > 2**63 - 1:
        raise ValueError(f"since is outside the supported range: {since!r}")
    return secs, nanos


class LogReader:
    """Reads the log whose live file is `path`: its rotated files (`path.k` ... `path.1`)
    first, oldest first, then `path`; lines that are not records are skipped (counted in
    `skipped`). `since` (seconds since the epoch as an int or float, an aware datetime, a
    (secs, nanos) pair, or a LogLine): only records at or after it. `follow`: at the end
    of the live file, wait for more (across rotations) instead of ending, forever when
    `timeout` is None, else until `timeout` seconds pass without new data (the iteration
    stops; iterating again, or next(), follows on and waits anew). The wait runs
    inside the library (the GIL is released; a signal is handled when it returns).

    An iterator of LogLine and a context manager; close() frees it. No log at `path`
    (nor a rotated file): CocoonOSError with errno ENOENT."""

    def __init__(self, path: StrPath, since: Since = None, follow: bool = False,
                 timeout: Optional[float] = None) -> None:
        secs, nanos = _since(since)
        if timeout is None:
            timeout_ms = -1
        else:
            if not timeout >= 0:
                raise ValueError(f"timeout must be None or >= 0, not {timeout}")
            timeout_ms = min(int(math.ceil(timeout * 1000)), 2**63 - 1)
        h = _lib.LogReaderP()
        _check(lib.cocoon_log_reader_open(_b(path), secs, nanos, 1 if follow else 0, timeout_ms, ctypes.byref(h)))
        self._h: Optional[_lib.LogReaderP] = h
        self._fin = weakref.finalize(self, lib.cocoon_log_reader_free, h)

    def _handle(self) -> "_lib.LogReaderP":
        if self._h is None:
            raise ValueError("the log reader is closed")
        return self._h

    def next(self) -> Optional[LogLine]:
        """The next record, or None at the end (then always None)."""
        c = _lib.LogLineC()
        c.size = ctypes.sizeof(c)
        rc = lib.cocoon_log_reader_next(self._handle(), ctypes.byref(c))
        if rc < 0:
            _raise()
        if rc == 0:
            return None
        text = ctypes.string_at(c.text, c.len) if c.len else b""
        stream = _STREAMS.get(c.stream, str(c.stream))
        return LogLine(time=c.secs + c.nanos / 1e9, secs=c.secs, nanos=c.nanos, stream=stream,
                       partial=bool(c.partial), text=text)

    @property
    def skipped(self) -> int:
        """How many lines were skipped so far because they are not records."""
        n = ctypes.c_uint64(0)
        _check(lib.cocoon_log_reader_skipped(self._handle(), ctypes.byref(n)))
        return n.value

    def __iter__(self) -> Iterator[LogLine]:
        return self

    def __next__(self) -> LogLine:
        line = self.next()
        if line is None:
            raise StopIteration
        return line

    def close(self) -> None:
        """Frees the reader (its files are closed). Idempotent."""
        self._fin()
        self._h = None

    def __enter__(self) -> "LogReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
