"""Warm containers and pools (cocoon.WarmContainer, cocoon.Pool): real containers, as root."""

import os
import threading

import pytest

import cocoon
from test_cocoon import needs_root

NO_NET = cocoon.Namespace.DEFAULT & ~cocoon.Namespace.NET
SCRIPT = 'echo "$0 $1 $WARM $(pwd) $(id -u):$(id -g):$(id -G)"; exit 3'


def children():
    """Pids whose parent is this process (threads' children too)."""
    me, out = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            out.append(int(name))
    return out


def test_the_feature_probe_and_exports():
    assert cocoon.has_feature("warm") is True
    assert {"WarmContainer", "Pool", "PoolStats"} <= set(cocoon.__all__)


def test_bad_pool_settings_are_refused_before_anything_runs():
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Pool(0)
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Pool(1, refill_threads=0)
    with pytest.raises(ValueError):
        cocoon.Pool(1, max_age=0)


@needs_root
def test_a_warm_start_runs_exactly_the_given_process():
    before = children()
    with cocoon.WarmContainer(argv=["sh", "-c", "echo builder; exit 9"], namespaces=NO_NET,
                              hostname="warm") as w:
        pid = w.pid
        assert pid > 0
        with w.start(["sh", "-c", SCRIPT, "zero", "one"], env={"WARM": "yes", "PATH": "/usr/bin:/bin"},
                     cwd="/usr", user=cocoon.User(1234, 1234, [1235]), stdout=cocoon.PIPE) as c:
            assert isinstance(c, cocoon.Container)
            assert c.pid == pid
            assert c.stdout.read() == b"zero one yes /usr 1234:1234:1234 1235\n"
            assert c.wait(timeout=20) == cocoon.ExitStatus(3, 0)
        # Used up by its start.
        with pytest.raises(cocoon.NotCreated):
            w.start(["true"])
        with pytest.raises(cocoon.NotCreated):
            w.pid
    assert children() == before


@needs_root
def test_a_bad_user_is_typed_and_uses_the_warm_container_up():
    with cocoon.WarmContainer(namespaces=NO_NET) as w:
        with pytest.raises(cocoon.InvalidConfig):
            w.start(["true"], user="no-such-user-cocoon")
        with pytest.raises(cocoon.NotCreated):
            w.start(["true"])


@needs_root
def test_a_missing_program_is_a_setup_error():
    with cocoon.WarmContainer(namespaces=NO_NET) as w:
        with pytest.raises(cocoon.CocoonError) as e:
            w.start(["/no/such/program"])
        assert e.value.code == cocoon.ErrorCode.SETUP
        assert e.value.stage == cocoon.Stage.EXEC


@needs_root
def test_a_pool_hands_out_distinct_containers_and_refills():
    before = children()
    with cocoon.Pool(2, namespaces=NO_NET, hostname="pooled") as pool:
        assert pool.wait_ready(2, 20) == 2
        ids, pids = set(), set()
        for i in range(5):
            with pool.start(["sh", "-c", f"hostname; echo {i}"], stdout=cocoon.PIPE) as c:
                ids.add(c.id)
                pids.add(c.pid)
                assert c.stdout.read() == f"pooled\n{i}\n".encode()
                assert c.wait(timeout=20).success
        assert len(ids) == 5 and len(pids) == 5
        # A refused process leaves its container in the pool.
        with pytest.raises(cocoon.InvalidConfig):
            pool.start(["true"], user="no-such-user-cocoon")
        assert pool.wait_ready(2, 20) == 2
        st = pool.stats()
        assert isinstance(st, cocoon.PoolStats)
        assert (st.ready, st.started, st.failed, st.recycled) == (2, 5, 0, 0), st
        assert st.prepared == 7, st
    assert children() == before


@needs_root
def test_pool_starts_from_threads():
    with cocoon.Pool(2, refill_threads=2, namespaces=NO_NET) as pool:
        results, lock = [], threading.Lock()

        def one():
            with pool.start(["sh", "-c", "exit 7"]) as c:
                st = c.wait(timeout=20)
            with lock:
                results.append(st)

        ts = [threading.Thread(target=one) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert results == [cocoon.ExitStatus(7, 0)] * 4
        assert pool.stats().started == 4


@needs_root
def test_aged_containers_are_recycled():
    with cocoon.Pool(1, max_age=0.05, namespaces=NO_NET) as pool:
        import time
        time.sleep(0.4)
        assert pool.wait_ready(1, 20) == 1
        st = pool.stats()
        assert st.recycled >= 1 and st.prepared >= 2, st


@needs_root
def test_closing_leaves_no_child():
    before = children()
    w = cocoon.WarmContainer(namespaces=NO_NET)
    pid = w.pid
    pool = cocoon.Pool(2, namespaces=NO_NET)
    pool.wait_ready(2, 20)
    assert len(children()) > len(before)
    w.close()
    pool.close()
    w.close()  # twice: a no-op
    pool.close()
    with pytest.raises(OSError):
        os.kill(pid, 0)
    assert children() == before
    with pytest.raises(RuntimeError):
        pool.start(["true"])
