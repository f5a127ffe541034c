"""Container events on one pollable fd (cocoon_events_*): started, exited, OOM, OOM kill,
paused, resumed — for an event loop (select/epoll, or asyncio via `aio_events`)."""

from __future__ import annotations

import ctypes
import enum
import time
import weakref
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterator, Optional

from . import _lib
from ._lib import lib
from ._util import _u64, _wait_readable
from .errors import _check
from .exec_process import ExitStatus

__all__ = ["Event", "EventKind", "EventSource"]


class EventKind(enum.IntEnum):
    """What happened to a container (COCOON_EVENT_*)."""
    STARTED = 1
    EXITED = 2
    OOM = 3
    OOM_KILL = 4
    PAUSED = 5
    RESUMED = 6


@dataclass(frozen=True)
class Event:
    """One event of one container. `kind` is an EventKind, or the raw number of a kind this
    version of the bindings does not know. `status` is set for EXITED (None if the
    container's handle reaped it before the event was read); `count` for OOM_KILL."""
    id: str
    tag: int
    kind: Any
    status: Optional[ExitStatus] = None
    count: int = 0

    @classmethod
    def _from_c(cls, e: "_lib.Event") -> "Event":
        try:
            kind: Any = EventKind(e.kind)
        except ValueError:
            kind = e.kind
        status = None
        if kind == EventKind.EXITED and not (e.exit_code == -1 and e.signal == 0):
            status = ExitStatus(e.exit_code, e.signal)
        return cls(e.id.decode(errors="replace"), e.tag, kind, status, e.count)


class EventSource:
    """Many containers' events behind one fd (`fileno()`: poll it, or hand the source to
    `select`/`selectors`/asyncio). Each added container yields STARTED first (queued by
    add: drain `next()` after adding) and EXITED last, once each, and then leaves the
    source. The source keeps its own fds: a Container may be closed before it.

        with EventSource() as events:
            events.add(container, tag=1)
            for ev in events:          # blocks; ends when nothing is watched any more
                print(ev.id, ev.kind)
    """

    def __init__(self) -> None:
        h = _lib.EventsP()
        _check(lib.cocoon_events_new(ctypes.byref(h)))
        self._h: Optional[_lib.EventsP] = h
        self._fin = weakref.finalize(self, lib.cocoon_events_free, h)

    def _handle(self) -> "_lib.EventsP":
        if self._h is None:
            raise ValueError("the event source is closed")
        return self._h

    def add(self, container: Any, tag: int = 0) -> None:
        """Watches a running Container under `tag` (0..2**64-1). AlreadyExited if its
        process was already reaped."""
        tag = _u64(tag)
        _check(lib.cocoon_events_add(self._handle(), container._handle(), tag))

    def fileno(self) -> int:
        """The source's fd (owned by it): readable when next() has something to return."""
        fd = ctypes.c_int(-1)
        _check(lib.cocoon_events_fd(self._handle(), ctypes.byref(fd)))
        return fd.value

    def __len__(self) -> int:
        """How many containers are watched (those whose exit was not read yet)."""
        n = ctypes.c_size_t(0)
        _check(lib.cocoon_events_count(self._handle(), ctypes.byref(n)))
        return n.value

    def next(self) -> Optional[Event]:
        """The next event without blocking; None when nothing is pending."""
        e = _lib.Event()
        e.size = ctypes.sizeof(e)
        got = ctypes.c_int(0)
        _check(lib.cocoon_events_next(self._handle(), ctypes.byref(e), ctypes.byref(got)))
        return Event._from_c(e) if got.value else None

    def wait(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, waiting up to `timeout` seconds (None: as long as it takes). None
        if none came, or (without a timeout) when nothing is watched and nothing is pending.
        The wait is a poll in Python, so Ctrl-C interrupts it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            ev = self.next()
            if ev is not None:
                return ev
            if deadline is None:
                if len(self) == 0:
                    return None
                _wait_readable(self.fileno())
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            _wait_readable(self.fileno(), left)

    def __iter__(self) -> Iterator[Event]:
        while True:
            ev = self.wait()
            if ev is None:
                return
            yield ev

    async def aio_events(self) -> AsyncIterator[Event]:
        """The events as an async iterator on the running asyncio loop (loop.add_reader on
        the fd, no thread); ends when nothing is watched any more."""
        from .aio import events_async
        async for ev in events_async(self):
            yield ev

    def close(self) -> None:
        """Frees the source (the containers are not touched)."""
        self._fin()
        self._h = None

    def __enter__(self) -> "EventSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
