"""Warm containers and pools (Rust: `WarmContainer`, `Pool`): containers set up up to
their process (namespaces, mounts, root, cgroup, network) and held, then started with a
process given late, in the time of an exec.

    with cocoon.Pool(2, hostname="box", memory_max=64 << 20) as pool:
        with pool.start(["sh", "-c", "hostname"], stdout=cocoon.PIPE) as c:
            print(c.stdout.read(), c.wait())

What may differ per start: argv, env, cwd, user and groups, rlimits, umask, stdio and
passed fds. The security settings (capabilities, no_new_privs, seccomp, oom_score_adj)
are the container's: a start that asks for others raises InvalidConfig.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import Any, Mapping, NamedTuple, Optional, Sequence

from . import _compat, _lib
from ._lib import lib
from ._util import StrPath
from .container import Container, _warn
from .exec_process import _with_process
from .errors import _check
from .process import Process, UserSpec
from .seccomp import Seccomp
from .stdio import StdioSpec

__all__ = ["WarmContainer", "Pool", "PoolStats"]


class PoolStats(NamedTuple):
    """What a Pool has done so far (Rust: `PoolStats`)."""
    ready: int
    """Containers ready now."""
    in_flight: int
    """Containers being prepared now."""
    prepared: int
    """Warm containers made (by the refill threads and for misses)."""
    started: int
    """Processes started."""
    missed: int
    """Starts that found the pool empty and made their container on the spot."""
    recycled: int
    """Ready containers torn down for age."""
    failed: int
    """Preparations that failed (the refill threads retry after a pause)."""


def _settings(container_kwargs: Mapping[str, Any]) -> Container:
    """An unspawned Container holding the builder the keywords describe (its program is
    never run: the process comes with each start)."""
    kw = dict(container_kwargs)
    argv = kw.pop("argv", None) or ["true"]
    return Container(argv, **kw)


def _start_with(fn: Any, target: Any, argv: Sequence[StrPath], process: Optional[Process],
                keywords: Mapping[str, Any], deprecated: Mapping[str, Any]) -> Container:
    """Starts argv (with the process settings of Container.exec) through
    fn(target, process, out); returns the running Container."""
    if not argv:
        raise ValueError("argv must name a program")
    deprecated = dict(deprecated)
    _warn(_compat.take_deprecated(deprecated, _compat.EXEC_ALIASES, "start"))
    p = _compat.resolve_process(process, dict(keywords), deprecated)
    return _with_process(argv, p, lambda ph: Container._adopt(lambda h: fn(target, ph, ctypes.byref(h)), argv))


class WarmContainer:
    """A container set up completely but for its process, from the keywords of
    Container (argv, if given, is not run); start() runs a process in it, once.

        with cocoon.WarmContainer(hostname="box") as w:
            c = w.start(["hostname"], stdout=cocoon.PIPE)

    close() (or `with`, or garbage collection) tears an unstarted one down; a container
    started from it is the returned Container's (close that too). A Landlock ruleset is
    refused (InvalidConfig): it is planned for one program.
    """

    def __init__(self, **container_kwargs: Any) -> None:
        settings = _settings(container_kwargs)
        try:
            h = _lib.WarmP()
            _check(lib.cocoon_warm_new(settings._builder.h, ctypes.byref(h)))
        finally:
            settings.close()
        self._h: Optional[Any] = h
        self._fin = weakref.finalize(self, lib.cocoon_warm_free, h)
        self._lock = threading.Lock()

    def _handle(self) -> Any:
        if self._h is None:
            raise RuntimeError("the warm container is closed")
        return self._h

    @property
    def pid(self) -> int:
        """The host pid of the process that becomes the program (NotCreated once
        started)."""
        v = ctypes.c_int()
        _check(lib.cocoon_warm_pid(self._handle(), ctypes.byref(v)))
        return v.value

    def start(self, argv: Sequence[StrPath], *, env: Optional[Mapping[str, str]] = None,
              cwd: Optional[StrPath] = None, user: Optional[UserSpec] = None,
              stdin: StdioSpec = None, stdout: StdioSpec = None, stderr: StdioSpec = None,
              seccomp: Optional[Seccomp] = None, process: Optional[Process] = None,
              **deprecated: Any) -> Container:
        """Runs argv in the container, with the keywords of Container.exec (env, cwd,
        user, stdio, seccomp, process=Process(...)); returns the running Container
        (stdio PIPE ends as .stdin/.stdout/.stderr). User names are looked up and PATH
        searched in the container's root. Uses the warm container up, also when it
        fails (a second start raises NotCreated). InvalidConfig: a process it cannot run
        (an unknown user, other security settings); CocoonError with code SETUP (its stage
        naming the step): a step inside failed
        (e.g. a missing program)."""
        with self._lock:
            return _start_with(lib.cocoon_warm_start, self._handle(), argv, process,
                               dict(env=env, cwd=cwd, user=user, stdin=stdin, stdout=stdout,
                                    stderr=stderr, seccomp=seccomp), deprecated)

    def close(self) -> None:
        """Tears an unstarted container down and frees the handle."""
        self._fin()
        self._h = None

    def __enter__(self) -> "WarmContainer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Pool:
    """Keeps `size` warm containers made from the keywords of Container ready, prepared
    by `refill_threads` threads; ready ones older than `max_age` seconds are made again
    (None: kept). The first one is made before the constructor returns, so that settings
    that cannot be warmed raise here.

    start() may be called from several threads at once. close() (or `with`) stops the
    threads and tears every unused container down; started ones are their callers'.
    """

    def __init__(self, size: int, refill_threads: int = 1, max_age: Optional[float] = None,
                 **container_kwargs: Any) -> None:
        if max_age is not None and max_age <= 0:
            raise ValueError("max_age must be above zero (None: never recycled)")
        max_age_ms = 0 if max_age is None else max(1, int(max_age * 1000))
        settings = _settings(container_kwargs)
        try:
            h = _lib.PoolP()
            _check(lib.cocoon_pool_new(settings._builder.h, int(size), int(refill_threads), max_age_ms,
                                       ctypes.byref(h)))
        finally:
            settings.close()
        self._h: Optional[Any] = h
        self._fin = weakref.finalize(self, lib.cocoon_pool_free, h)

    def _handle(self) -> Any:
        if self._h is None:
            raise RuntimeError("the pool is closed")
        return self._h

    def start(self, argv: Sequence[StrPath], *, env: Optional[Mapping[str, str]] = None,
              cwd: Optional[StrPath] = None, user: Optional[UserSpec] = None,
              stdin: StdioSpec = None, stdout: StdioSpec = None, stderr: StdioSpec = None,
              seccomp: Optional[Seccomp] = None, process: Optional[Process] = None,
              **deprecated: Any) -> Container:
        """As WarmContainer.start, in a ready container (one made on the spot if none
        is). A process refused before it reached the container (InvalidConfig) leaves
        the container in the pool."""
        return _start_with(lib.cocoon_pool_start, self._handle(), argv, process,
                           dict(env=env, cwd=cwd, user=user, stdin=stdin, stdout=stdout,
                                stderr=stderr, seccomp=seccomp), deprecated)

    def stats(self) -> PoolStats:
        """The pool's counters and how many are ready now."""
        s = _lib.PoolStatsC()
        s.size = ctypes.sizeof(_lib.PoolStatsC)
        _check(lib.cocoon_pool_stats(self._handle(), ctypes.byref(s)))
        return PoolStats(s.ready, s.in_flight, s.prepared, s.started, s.missed, s.recycled, s.failed)

    def wait_ready(self, n: int, timeout: float) -> int:
        """Waits until `n` containers are ready (at most the pool's size) or `timeout`
        seconds pass; returns how many are ready."""
        ready = ctypes.c_size_t()
        _check(lib.cocoon_pool_wait_ready(self._handle(), int(n), max(0, int(timeout * 1000)),
                                          ctypes.byref(ready)))
        return ready.value

    def close(self) -> None:
        """Stops the refill threads, tears the unused containers down, frees the handle."""
        self._fin()
        self._h = None

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
