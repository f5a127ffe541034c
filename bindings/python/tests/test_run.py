"""subprocess-style conveniences against the real library and kernel (run as root):
run(), wait(timeout), communicate(), TimeoutExpired, CalledProcessError, ended_by, and
asyncio (wait_async on the wait fd, streams, cancellation)."""

import asyncio
import glob
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import cocoon

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
NO_PIDNS = cocoon.Namespace.DEFAULT & ~cocoon.Namespace.PID
LOOP = ["sh", "-c", "while :; do :; done"]


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def cgroup_dirs(name):
    return glob.glob(f"/sys/fs/cgroup/*/cocoon/{name}") + glob.glob(f"/sys/fs/cgroup/cocoon/{name}")


def processes_with(marker):
    found = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(f"{d}/cmdline", "rb") as f:
                if marker.encode() in f.read() and int(d[6:]) != os.getpid():
                    found.append(int(d[6:]))
        except OSError:
            pass
    return found


def unique(tag):
    unique.n = getattr(unique, "n", 0) + 1
    return f"cocoon-pyrun-{tag}-{os.getpid()}-{unique.n}"


def pattern(n):
    return (bytes(range(251)) * (n // 251 + 1))[:n]


@needs_root
def test_wait_timeout_raises_timeout_expired_and_close_leaves_nothing():
    cid = unique("wait")
    with cocoon.Container(LOOP, id=cid, cgroup=True) as c:
        pid = c.pid
        t0 = time.monotonic()
        with pytest.raises(cocoon.TimeoutExpired) as e:
            c.wait(timeout=0.5)
        took = time.monotonic() - t0
        assert 0.5 <= took < 3.0, took
        assert isinstance(e.value, subprocess.TimeoutExpired) and isinstance(e.value, cocoon.CocoonError)
        assert e.value.timeout == 0.5 and e.value.cmd == LOOP and e.value.result is None
        assert "timed out after 0.5 seconds" in str(e.value)
        assert c.poll() is None and c.ended_by is None  # only the wait ended
        c.kill()
        assert c.wait(timeout=20).signal == signal.SIGKILL
        assert c.ended_by == cocoon.EndedBy.SIGNALED
    assert gone(pid) and cgroup_dirs(cid) == []


@needs_root
@pytest.mark.parametrize("namespaces", [None, NO_PIDNS], ids=["pidns", "no-pidns"])
def test_run_kills_a_program_that_loops_forever_at_the_timeout(namespaces):
    cid = unique("loop")
    marker = f"marker-{cid}"
    argv = ["sh", "-c", f"sh -c 'while :; do :; done # {marker}' & echo started; while :; do :; done"]
    t0 = time.monotonic()
    with pytest.raises(cocoon.TimeoutExpired) as e:
        cocoon.run(argv, capture_output=True, timeout=0.5, id=cid, cgroup=True, namespaces=namespaces)
    took = time.monotonic() - t0
    assert 0.5 <= took < 3.0, took
    r = e.value.result
    assert r.timed_out and r.ended_by == cocoon.EndedBy.TIMEOUT
    assert r.returncode == -signal.SIGKILL and r.status.signal == signal.SIGKILL
    assert e.value.stdout == r.stdout == b"started\n"
    assert cgroup_dirs(cid) == [] and processes_with(marker) == []


@needs_root
def test_ten_megabytes_each_way_arrive_intact():
    data = pattern(10 << 20)
    r = cocoon.run(["sh", "-c", "tee /proc/self/fd/2"], input=data, capture_output=True, timeout=60)
    assert r.returncode == 0 and r.ended_by == cocoon.EndedBy.EXITED
    assert len(r.stdout) == len(data) and r.stdout == data
    assert len(r.stderr) == len(data) and r.stderr == data


@needs_root
def test_run_tells_every_way_a_program_ends():
    r = cocoon.run(["sh", "-c", "exit 3"])
    assert (r.returncode, r.ended_by, r.stdout, r.stderr) == (3, cocoon.EndedBy.EXITED, None, None)
    r = cocoon.run(["sh", "-c", "kill -TERM $$"], namespaces=NO_PIDNS)
    assert (r.returncode, r.ended_by) == (-signal.SIGTERM, cocoon.EndedBy.SIGNALED)
    with pytest.raises(cocoon.TimeoutExpired) as e:
        cocoon.run(["sleep", "30"], timeout=0.3)
    assert e.value.result.ended_by == cocoon.EndedBy.TIMEOUT
    r = cocoon.run(["sh", "-c", "(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail)"],
                   memory_max=32 << 20, timeout=60)
    assert r.oom_killed and r.ended_by == cocoon.EndedBy.OOM_KILL, r
    r = cocoon.run(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done 2>/dev/null; wait"],
                   pids_max=4, timeout=60)
    assert r.pids_limited and r.ended_by == cocoon.EndedBy.PIDS_LIMIT, r


@needs_root
def test_check_raises_called_process_error_with_status_and_output():
    assert cocoon.run(["true"], check=True).returncode == 0
    with pytest.raises(cocoon.CalledProcessError) as e:
        cocoon.run(["sh", "-c", "echo out; echo err >&2; exit 4"], capture_output=True, check=True)
    err = e.value
    assert isinstance(err, subprocess.CalledProcessError) and isinstance(err, cocoon.CocoonError)
    assert (err.returncode, err.stdout, err.stderr) == (4, b"out\n", b"err\n")
    assert err.status == cocoon.ExitStatus(4, 0) and err.ended_by == cocoon.EndedBy.EXITED
    # A program whose child the OOM killer took, even if it exits 0, fails the check.
    with pytest.raises(cocoon.CalledProcessError) as e:
        cocoon.run(["sh", "-c", "(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail); true"],
                   memory_max=32 << 20, check=True)
    assert e.value.returncode == 0 and e.value.ended_by == cocoon.EndedBy.OOM_KILL
    assert "oom kill" in str(e.value)
    with pytest.raises(ValueError):
        cocoon.run(["true"], input=b"x", stdin=cocoon.DEVNULL)
    with pytest.raises(ValueError):
        cocoon.run(["true"], capture_output=True, stdout=cocoon.DEVNULL)


@needs_root
def test_communicate_resumes_after_a_timeout():
    with cocoon.Container(["sh", "-c", "cat; echo waking >&2; sleep 1; echo end"], stdin=cocoon.PIPE,
                          stdout=cocoon.PIPE, stderr=cocoon.PIPE) as c:
        with pytest.raises(cocoon.TimeoutExpired) as e:
            c.communicate(b"abc", timeout=0.3)
        assert e.value.stdout == b"abc" and e.value.stderr == b"waking\n"
        out, err = c.communicate(timeout=20)
        assert (out, err) == (b"abcend\n", b"waking\n")
        assert c.wait().success
    with cocoon.Container(["sh", "-c", "echo x"], stdout=cocoon.PIPE) as c:
        assert c.communicate() == (b"x\n", None)
        with cocoon.Container(["true"]) as d:
            with pytest.raises(ValueError):
                d.communicate(b"input but no stdin pipe")


@needs_root
def test_exec_process_wait_timeout_and_communicate():
    with cocoon.Container(["sleep", "30"]) as c:
        with c.exec(["sleep", "30"]) as p:
            with pytest.raises(cocoon.TimeoutExpired):
                p.wait(timeout=0.2)
            p.kill()
            assert p.wait(timeout=20).signal == signal.SIGKILL
        with c.exec(["sh", "-c", "tr a-z A-Z"], stdin=cocoon.PIPE, stdout=cocoon.PIPE) as p:
            assert p.communicate(b"hello", timeout=20) == (b"HELLO", None)
        signal.pidfd_send_signal(c.pidfd, 0)  # a real pidfd of the first process
        assert c.pidfd == c.pidfd


@needs_root
def test_wait_timeout_is_interrupted_by_a_real_sigint_at_once(tmp_path):
    """A Python process blocked in wait(timeout=60) gets SIGINT: KeyboardInterrupt at
    once, and leaving the with block removes the container."""
    cid = unique("sigint")
    script = textwrap.dedent(f"""
        import cocoon, sys
        with cocoon.Container(["sleep", "60"], id={cid!r}, cgroup=True) as c:
            print(c.pid, flush=True)
            c.wait(timeout=60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        pid = int(child.stdout.readline())
        assert cgroup_dirs(cid)
        time.sleep(0.3)  # into the wait
        t0 = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=20)
        took = time.monotonic() - t0
    finally:
        child.kill()
        child.wait()
    assert b"KeyboardInterrupt" in err, err
    assert child.returncode != 0
    assert took < 5, took
    assert gone(pid) and cgroup_dirs(cid) == []


@needs_root
def test_two_hundred_containers_awaited_in_one_loop_on_one_thread():
    async def main():
        threads = threading.active_count()
        cs = [cocoon.Container(["sh", "-c", f"sleep 1; exit {i % 100}"]).spawn() for i in range(200)]
        try:
            assert all(c.poll() is None for c in cs[-10:]), "still running when awaited"
            statuses = await asyncio.wait_for(asyncio.gather(*(c.wait_async() for c in cs)), 120)
            assert threading.active_count() == threads, "no thread per container"
        finally:
            for c in cs:
                c.close()
        return statuses

    statuses = asyncio.run(main())
    assert [s.code for s in statuses] == [i % 100 for i in range(200)]


@needs_root
def test_a_cancelled_wait_kills_its_container():
    async def main():
        cid = unique("cancel")
        with cocoon.Container(["sleep", "30"], id=cid, cgroup=True) as c:
            pid = c.pid
            t0 = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(c.wait_async(), 0.3)
            assert time.monotonic() - t0 < 5
            assert c.wait(timeout=20).signal == signal.SIGKILL  # killed by the cancellation
            assert await c.wait_async() == cocoon.ExitStatus(-1, signal.SIGKILL)  # ended: at once
        assert gone(pid) and cgroup_dirs(cid) == []

    asyncio.run(main())


@needs_root
def test_async_streams():
    async def main():
        with cocoon.Container(["sh", "-c", "tr a-z A-Z; echo done >&2"], stdin=cocoon.PIPE,
                              stdout=cocoon.PIPE, stderr=cocoon.PIPE) as c:
            s = await c.streams()
            assert c.stdin is None and c.stdout is None and c.stderr is None
            s.stdin.write(b"hello\n" * 10000)
            await s.stdin.drain()
            s.stdin.close()
            out, err = await asyncio.gather(s.stdout.read(), s.stderr.read())
            assert out == b"HELLO\n" * 10000 and err == b"done\n"
            assert (await c.wait_async()).success

    asyncio.run(main())
