"""Container events on one pollable fd (cocoon_events_*): started, exited, OOM, OOM kill,
paused, resumed, health — for an event loop (select/epoll, or asyncio via `aio_events`)."""

from __future__ import annotations

import ctypes
import enum
import time
import weakref
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterator, Optional, Sequence

from . import _lib
from ._lib import lib
from ._util import StrPath, _b, _strv, _u64, _wait_readable
from .errors import _check
from .exec_process import ExitStatus
from .process import Process, _apply_process

__all__ = ["Event", "EventKind", "EventSource", "HealthCheck", "HealthStatus"]


class EventKind(enum.IntEnum):
    """What happened to a container (COCOON_EVENT_*)."""
    STARTED = 1
    EXITED = 2
    OOM = 3
    OOM_KILL = 4
    PAUSED = 5
    RESUMED = 6
    HEALTH = 7


class HealthStatus(enum.IntEnum):
    """A container's health (COCOON_HEALTH_*), carried by HEALTH events."""
    STARTING = 1
    HEALTHY = 2
    UNHEALTHY = 3


@dataclass(frozen=True)
class HealthCheck:
    """Docker's HEALTHCHECK: `argv` exec'd into the container (with `process` settings;
    its stdio becomes /dev/null) `interval` seconds after the add and after each check
    ended; it passes on exit 0; one still running at `timeout` is killed and fails;
    `retries` failures in a row (not counting those in the first `start_period`) make the
    container unhealthy, a pass makes it healthy."""
    argv: Sequence[StrPath]
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0
    process: Optional[Process] = None


def _ms(seconds: float, what: str) -> int:
    if seconds < 0:
        raise ValueError(f"{what} is negative: {seconds}")
    return _u64(round(seconds * 1000))


@dataclass(frozen=True)
class Event:
    """One event of one container. `kind` is an EventKind, or the raw number of a kind this
    version of the bindings does not know. `status` is set for EXITED (None if the
    container's handle reaped it before the event was read); `count` for OOM_KILL;
    `health` for HEALTH."""
    id: str
    tag: int
    kind: Any
    status: Optional[ExitStatus] = None
    count: int = 0
    health: Optional[HealthStatus] = None

    @classmethod
    def _from_c(cls, e: "_lib.Event") -> "Event":
        try:
            kind: Any = EventKind(e.kind)
        except ValueError:
            kind = e.kind
        status = None
        if kind == EventKind.EXITED and not (e.exit_code == -1 and e.signal == 0):
            status = ExitStatus(e.exit_code, e.signal)
        health = HealthStatus(e.health) if kind == EventKind.HEALTH else None
        return cls(e.id.decode(errors="replace"), e.tag, kind, status, e.count, health)


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

    def add(self, container: Any, tag: int = 0, health: Optional[HealthCheck] = None) -> None:
        """Watches a running Container under `tag` (0..2**64-1), running `health` checks on
        it if given (while the source is read: keep reading it). AlreadyExited if its
        process was already reaped; InvalidConfig for a zero interval, timeout or retries."""
        tag = _u64(tag)
        if health is None:
            _check(lib.cocoon_events_add(self._handle(), container._handle(), tag))
            return
        if not health.argv:
            raise ValueError("the health check's argv must name a program")
        args = (_ms(health.interval, "interval"), _ms(health.timeout, "timeout"), _u64(health.retries, 2**32 - 1),
                _ms(health.start_period, "start_period"))
        ph = _lib.ProcessP()
        _check(lib.cocoon_process_new(_b(health.argv[0]), ctypes.byref(ph)))
        try:
            arr, n = _strv(list(health.argv[1:]))
            _check(lib.cocoon_process_set_args(ph, arr, n))
            if health.process is not None:
                _apply_process(ph, health.process)
            _check(lib.cocoon_events_add_health(self._handle(), container._handle(), tag, ph, *args))
        finally:
            lib.cocoon_process_free(ph)

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
