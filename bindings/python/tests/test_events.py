"""EventSource: many containers' events on one fd, as an iterator, with select, and in
asyncio — exits with their statuses, an OOM kill, pause/resume, errors."""

import asyncio
import ctypes
import os
import select
import signal
import time

import pytest

import cocoon
from cocoon import EventKind
from test_cocoon import needs_root


def fds():
    return sorted(os.listdir("/proc/self/fd"))


def test_empty_source_and_bad_arguments():
    with cocoon.EventSource() as ev:
        assert len(ev) == 0
        assert ev.next() is None
        assert ev.wait(0.05) is None
        assert ev.wait() is None  # nothing watched: would wait forever
        assert list(ev) == []
        assert ev.fileno() >= 0
        unstarted = cocoon.Container(["true"])
        with pytest.raises(ValueError):
            ev.add(unstarted, tag=-1)
        with pytest.raises(RuntimeError, match="not running"):
            ev.add(unstarted, tag=1)
        unstarted.close()
    with pytest.raises(ValueError, match="closed"):
        ev.next()
    # The C calls check the struct's size.
    h = cocoon._lib.EventsP()
    assert cocoon._lib.lib.cocoon_events_new(ctypes.byref(h)) == 0
    e, got = cocoon._lib.Event(), ctypes.c_int(0)
    e.size = 8
    assert cocoon._lib.lib.cocoon_events_next(h, ctypes.byref(e), ctypes.byref(got)) == cocoon.ErrorCode.INVALID_ARGUMENT
    cocoon._lib.lib.cocoon_events_free(h)


@needs_root
def test_exits_of_many_containers_on_one_fd_with_select():
    # One container first: the first spawn of a process sets up what it keeps (the sealed
    # exec helper), which is not this test's to count.
    with cocoon.Container(["true"]) as c:
        c.wait()
    before = fds()
    scripts = {i: f"sleep 0.{i % 5}; exit {i}" for i in range(20)}
    containers = {i: cocoon.Container(["sh", "-c", s]).spawn() for i, s in scripts.items()}
    seen = {i: [] for i in scripts}
    with cocoon.EventSource() as ev:
        for i, c in containers.items():
            ev.add(c, tag=i)
        assert len(ev) == 20
        while len(ev):
            e = ev.next()
            if e is None:
                r, _, _ = select.select([ev], [], [], 10)
                assert r, "no event within 10 s"
                continue
            seen[e.tag].append(e)
    for i, events in seen.items():
        assert [e.kind for e in events] == [EventKind.STARTED, EventKind.EXITED], i
        assert events[1].status == cocoon.ExitStatus(i, 0)
        assert events[0].id == containers[i].id
    for i, c in containers.items():
        assert c.wait() == cocoon.ExitStatus(i, 0)  # the handle still owns its process
        c.close()
    assert fds() == before


@needs_root
def test_kill_oom_kill_and_reaped_container():
    oom = "(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail >/dev/null); exit 0"
    with cocoon.Container(["sleep", "30"]) as sleeper, \
            cocoon.Container(["sh", "-c", oom], memory_max=32 << 20) as hog, \
            cocoon.EventSource() as ev:
        ev.add(sleeper, 1)
        ev.add(hog, 2)
        sleeper.kill(signal.SIGKILL)
        events = list(ev)  # ends when both exited
        by = {t: [e for e in events if e.tag == t] for t in (1, 2)}
        assert [e.kind for e in by[1]] == [EventKind.STARTED, EventKind.EXITED]
        assert by[1][1].status == cocoon.ExitStatus(-1, signal.SIGKILL)
        kinds = [e.kind for e in by[2]]
        assert kinds[0] == EventKind.STARTED and kinds[-1] == EventKind.EXITED
        assert EventKind.OOM in kinds and EventKind.OOM_KILL in kinds
        assert kinds.index(EventKind.OOM_KILL) < kinds.index(EventKind.EXITED)
        assert all(e.count >= 1 for e in by[2] if e.kind == EventKind.OOM_KILL)
        assert by[2][-1].status == cocoon.ExitStatus(0, 0)
        # Reaped by its handle: it cannot be added any more.
        sleeper.wait()
        with pytest.raises(cocoon.AlreadyExited):
            ev.add(sleeper, 3)


@needs_root
def test_pause_resume_in_asyncio():
    async def main():
        with cocoon.Container(["sleep", "30"], cgroup=True) as c, cocoon.EventSource() as ev:
            ev.add(c, 7)
            kinds = []
            async for e in ev.aio_events():
                kinds.append(e.kind)
                assert e.tag == 7 and e.id == c.id
                if e.kind == EventKind.STARTED:
                    c.pause()
                elif e.kind == EventKind.PAUSED:
                    c.resume()
                elif e.kind == EventKind.RESUMED:
                    c.kill(signal.SIGKILL)
            return kinds

    kinds = asyncio.run(asyncio.wait_for(main(), 20))
    assert kinds == [EventKind.STARTED, EventKind.PAUSED, EventKind.RESUMED, EventKind.EXITED]


@needs_root
def test_health_checks():
    # Unhealthy after 2 failures, healthy once the file the check tests exists; a hung
    # check is killed at its timeout; refused settings raise and keep nothing.
    with cocoon.Container(["sleep", "30"], cgroup=True) as c, cocoon.EventSource() as ev:
        with pytest.raises(cocoon.InvalidConfig, match="retries"):
            ev.add(c, 1, health=cocoon.HealthCheck(["true"], retries=0))
        with pytest.raises(ValueError):
            ev.add(c, 1, health=cocoon.HealthCheck(["true"], interval=-1))
        assert len(ev) == 0 and ev.next() is None
        env = cocoon.Process(env={"PATH": "/usr/bin:/bin"})
        ev.add(c, 1, health=cocoon.HealthCheck(["sh", "-c", "test -e /tmp/ok"], interval=0.05, retries=2, process=env))
        assert ev.next().kind == EventKind.STARTED
        e = ev.wait(10)
        assert (e.kind, e.health) == (EventKind.HEALTH, cocoon.HealthStatus.UNHEALTHY)
        with c.exec(["sh", "-c", "touch /tmp/ok"]) as x:
            assert x.wait().success
        e = ev.wait(10)
        assert (e.kind, e.health) == (EventKind.HEALTH, cocoon.HealthStatus.HEALTHY)
        c.kill(signal.SIGKILL)
        assert [e.kind for e in ev] == [EventKind.EXITED]
    with cocoon.Container(["sleep", "30"], cgroup=True) as c, cocoon.EventSource() as ev:
        ev.add(c, 2, health=cocoon.HealthCheck(["sleep", "100"], interval=0.02, timeout=0.2, retries=1))
        t0 = time.monotonic()
        kinds = [ev.next().kind, ev.wait(10)]
        assert kinds[0] == EventKind.STARTED and kinds[1].health == cocoon.HealthStatus.UNHEALTHY
        assert 0.2 <= time.monotonic() - t0 < 5
