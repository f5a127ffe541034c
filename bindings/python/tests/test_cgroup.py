"""Cgroups from Python: values checked when set, limits enforced, stats, pause/resume."""

import time

import pytest

import cocoon
from test_cocoon import cgroup_dirs, gone, needs_root

V2 = cocoon.has_feature("cgroup2")


# Cgroup fields whose bad value the library rejects when it is set, and words of the error.
BAD_CGROUP_VALUES = [
    (dict(pids_max=0), "pids.max"),
    (dict(memory_max=0), "memory max"),
    (dict(cpus="63"), "63 is not online"),
    (dict(cpus="0-"), "cpuset.cpus"),
    (dict(cpu_quota=(500, 100_000)), "quota"),
    (dict(cpu_burst=1000), "needs a quota"),
    (dict(cpu_weight=0), "cpu.weight"),
    (dict(cpu_shares=1), "cpu.shares"),
    (dict(parent="/abs"), "parent"),
    (dict(hugetlb_limits={12345: 0}), "page size"),
    (dict(io_limits=[cocoon.IoLimit("/dev/null", cocoon.IoRate.READ_BPS, 1)]), "not a block device"),
    (dict(devices=[cocoon.DeviceRule(False, access=cocoon.DeviceAccess(0))]), "access"),
]


def test_cgroup_values_are_checked_when_set():
    for fields, words in BAD_CGROUP_VALUES:
        with pytest.raises(cocoon.CgroupError) as e:
            cocoon.Container(["true"], cgroup=cocoon.Cgroup(**fields))
        assert e.value.code == cocoon.ErrorCode.CGROUP, fields
        assert words in str(e.value), (fields, str(e.value))
    # memory_max and pids_max are shortcuts at the top level too
    with pytest.raises(cocoon.CgroupError, match="pids.max"):
        cocoon.Container(["true"], pids_max=0)
    with pytest.raises(cocoon.CgroupError, match="memory max"):
        cocoon.Container(["true"], memory_max=0)
    if not V2:
        with pytest.raises(cocoon.CgroupError, match="cgroup v1"):
            cocoon.Container(["true"], cgroup=cocoon.Cgroup(memory_max=64 << 20, memory_high=32 << 20))
    # A missing device carries the OS error: a CgroupError that is also an OSError.
    with pytest.raises(cocoon.CgroupOSError) as e:
        cocoon.Container(["true"], cgroup=cocoon.Cgroup(
            io_limits=[cocoon.IoLimit("/no/such/disk", cocoon.IoRate.WRITE_IOPS, 5)]))
    assert e.value.errno == 2 and isinstance(e.value, OSError) and isinstance(e.value, cocoon.CgroupError)
    with pytest.raises(cocoon.InvalidArgument):  # unknown enum value
        cocoon.Container(["true"], cgroup=cocoon.Cgroup(io_limits=[cocoon.IoLimit((254, 0), 9, 5)]))
    with pytest.raises(ValueError):  # would wrap around in ctypes
        cocoon.Container(["true"], pids_max=-1)
    with pytest.raises(TypeError, match="cocoon.Cgroup"):
        cocoon.Container(["true"], cgroup={"pids_max": 4})
    # Good values on this host are accepted.
    c = cocoon.Container(["true"], memory_max=64 << 20, pids_max=32, cgroup=cocoon.Cgroup(
        memory_low=1 << 20, cpu_quota=(50_000, 100_000), cpu_weight=200, cpus="0", mems="0",
        parent="cocoon/pytest"))
    c.close()


@needs_root
def test_container_without_cgroup_says_so():
    with cocoon.Container(["sleep", "30"]) as c:
        for op in (c.pause, c.resume, c.stats, lambda: c.cgroup_path):
            with pytest.raises(cocoon.InvalidConfig, match="no cgroup"):
                op()


@needs_root
def test_pids_max_refuses_forks():
    script = "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo forked-all"
    with cocoon.Container(["sh", "-c", script], pids_max=4, stdout=cocoon.PIPE, stderr=cocoon.PIPE) as c:
        out, err = c.stdout.read(), c.stderr.read()
        st = c.wait()
        # The shell is still the container's PID 1 here only until it exits; pids.current
        # never went above the limit.
    assert b"forked-all" not in out
    assert b"fork" in err.lower(), err
    assert not st.success


@needs_root
def test_memory_limit_oom_kill_shows_in_stats():
    # tail keeps the whole newline-free input: 64 MiB under a 32 MiB limit. The subshell
    # offers its pipeline to the OOM killer first, so a second kill never takes the shell.
    script = "(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail >/dev/null); echo tail=$?"
    with cocoon.Container(["sh", "-c", script], memory_max=32 << 20, stdout=cocoon.PIPE) as c:
        assert c.stdout.read() == b"tail=137\n"  # killed by SIGKILL
        assert c.wait().success
        s = c.stats()
    assert isinstance(s, cocoon.CgroupStats)
    assert s.memory is not None and s.memory.oom_kills >= 1 and s.memory.oom_events >= 1
    assert s.memory.peak is None or s.memory.peak <= 32 << 20
    assert s.cpu is not None and s.cpu.usage_us > 0
    assert s.pids is not None and s.pids.current == 0


@needs_root
def test_cpu_quota_is_enforced():
    # 10 ms every 100 ms: a busy loop for 1 s of wall time gets about 100 ms of CPU.
    with cocoon.Container(["sh", "-c", "while :; do :; done"],
                          cgroup=cocoon.Cgroup(cpu_quota=(10_000, 100_000))) as c:
        time.sleep(1.0)
        used = c.stats().cpu.usage_us
    assert 0 < used < 300_000, used


@needs_root
def test_pause_and_resume():
    with cocoon.Container(["sh", "-c", "while :; do :; done"], cgroup=True) as c:
        time.sleep(0.1)
        c.pause()
        a = c.stats().cpu.usage_us
        time.sleep(0.3)
        assert c.stats().cpu.usage_us == a
        c.resume()
        deadline = time.monotonic() + 5
        while c.stats().cpu.usage_us < a + 50_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.stats().cpu.usage_us >= a + 50_000
        c.pause()
        pid, cid = c.pid, c.id
    # Closing a paused container still kills it and removes its cgroup.
    assert gone(pid)
    assert cgroup_dirs(cid) == []


def _limit(c, controller, v1_file, v2_file):
    root = "/sys/fs/cgroup" if V2 else f"/sys/fs/cgroup/{controller}"
    with open(f"{root}/{c.cgroup_path}/{v2_file if V2 else v1_file}") as f:
        return f.read().strip()


@needs_root
def test_update_changes_limits_of_a_running_container():
    with cocoon.Container(["sleep", "30"], cgroup=cocoon.Cgroup(pids_max=16, memory_max=64 << 20)) as c:
        c.update(cocoon.Cgroup(pids_max=5))
        assert _limit(c, "pids", "pids.max", "pids.max") == "5"
        assert _limit(c, "memory", "memory.limit_in_bytes", "memory.max") == str(64 << 20)
        c.update(cocoon.Cgroup(memory_max=48 << 20))
        assert _limit(c, "memory", "memory.limit_in_bytes", "memory.max") == str(48 << 20)
        # Bad values are refused when set (the limits builder checks them), device rules
        # cannot change: CgroupError, and nothing changed.
        with pytest.raises(cocoon.CgroupError, match="cpu.weight"):
            c.update(cocoon.Cgroup(pids_max=7, cpu_weight=0))
        with pytest.raises(cocoon.CgroupError, match="device"):
            c.update(cocoon.Cgroup(pids_max=7, devices=[cocoon.DeviceRule(True, cocoon.DeviceKind.CHAR, 1, 3)]))
        assert _limit(c, "pids", "pids.max", "pids.max") == "5"
        with pytest.raises(TypeError):
            c.update({"pids_max": 3})
    with cocoon.Container(["sleep", "30"]) as c:
        with pytest.raises(cocoon.InvalidConfig, match="cgroup"):
            c.update(cocoon.Cgroup(pids_max=5))
