"""A Python host and its containers: the host's own child reaping never steals them, and
they die with the host when it is killed (nothing is left after the next start)."""

import glob
import os
import signal
import subprocess
import sys
import time

import pytest

import cocoon

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
PARENT = "cocoon-pytest-host"
MARK = "977.27182"


@needs_root
def test_sigchld_handler_with_waitpid_minus_one_never_steals_a_container():
    stolen = []

    def reap(signum, frame):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            stolen.append(pid)

    old = signal.signal(signal.SIGCHLD, reap)
    failures = []
    try:
        for i in range(500):
            try:
                with cocoon.Container(["true"]) as c:
                    st = c.wait()
                if not st.success:
                    failures.append((i, st))
            except cocoon.CocoonError as e:
                failures.append((i, e))
    finally:
        signal.signal(signal.SIGCHLD, old)
    assert not failures, f"{len(failures)} of 500 waits failed, e.g. {failures[:3]}"
    assert not stolen, f"the host's SIGCHLD handler reaped cocoon's children: {stolen[:5]}"


HOST = f"""
import sys, time, cocoon
mode, n = sys.argv[1], int(sys.argv[2])
def make():
    return cocoon.Container(["sleep", "{MARK}"], stdout=cocoon.DEVNULL, cgroup=cocoon.Cgroup(parent="{PARENT}", pids_max=8))
if mode == "hold":
    held = [make().spawn() for _ in range(n)]
    print(" ".join(str(c.pid) for c in held), flush=True)
    time.sleep(120)
elif mode == "churn":
    print("READY", flush=True)
    while True:
        c = make().spawn()
        c.delete()
else:
    with cocoon.Container(["true"], cgroup=cocoon.Cgroup(parent="{PARENT}", pids_max=8)) as c:
        c.wait()
"""


def host(mode, n=1):
    return subprocess.Popen([sys.executable, "-c", HOST, mode, str(n)], stdout=subprocess.PIPE, text=True)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # gone (ENOENT), or gone while being read (ESRCH)
        return False


def marked():
    out = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(f"{d}/cmdline", "rb") as f:
                if MARK.encode() in f.read() and alive(int(d[6:])):
                    out.append(int(d[6:]))
        except OSError:
            pass
    return out


def cgroups_of(pid):
    return glob.glob(f"/sys/fs/cgroup/*/{PARENT}/cocoon-{pid}-*") + glob.glob(f"/sys/fs/cgroup/{PARENT}/cocoon-{pid}-*")


def until(what, f, timeout=10.0):
    t = time.monotonic()
    while not f():
        assert time.monotonic() - t < timeout, f"timed out waiting for {what}"
        time.sleep(0.02)


def remove_parent():
    for d in glob.glob(f"/sys/fs/cgroup/*/{PARENT}") + glob.glob(f"/sys/fs/cgroup/{PARENT}"):
        try:
            os.rmdir(d)
        except OSError:
            pass


@needs_root
def test_kill_9_of_a_host_holding_containers_leaves_nothing_after_the_next_start():
    h = host("hold", 100)
    pids = [int(p) for p in h.stdout.readline().split()]
    assert len(pids) == 100
    h.kill()
    h.wait()
    until("the killed host's containers to die", lambda: not any(alive(p) for p in pids))
    assert cgroups_of(h.pid), "expected the dead host's cgroups before the next start"
    assert host("one").wait() == 0
    assert not cgroups_of(h.pid), f"left after the next start: {cgroups_of(h.pid)[:5]}"
    remove_parent()


@needs_root
def test_hosts_killed_mid_spawn_leave_nothing():
    dead = []
    for i in range(30):
        h = host("churn")
        h.stdout.readline()
        time.sleep((i * 7919 % 30000) / 1e6)
        h.kill()
        h.wait()
        dead.append(h.pid)
    until("every container of the killed hosts to die", lambda: not marked())
    assert cocoon.sweep_stale(PARENT) >= 0
    left = [d for p in dead for d in cgroups_of(p)]
    assert not left, f"cgroups of dead hosts left: {left[:5]}"
    remove_parent()
