"""The grouped settings at work in real containers: Process (also reused for exec), User,
Capabilities, Cgroup values reaching the cgroup files."""

import glob
import os

import pytest

import cocoon

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")

SCRIPT = ("echo A=$A; pwd; umask; id -u; id -G; ulimit -n; cat /proc/self/oom_score_adj;"
          " grep -E '^(NoNewPrivs|CapEff)' /proc/self/status")


def run(c_or_exec):
    with c_or_exec as p:
        out = p.stdout.read().decode()
        assert p.wait().success, out
    return out.split("\n")


@needs_root
def test_one_process_for_the_container_and_an_exec():
    p = cocoon.Process(env={"A": "1", "PATH": "/usr/bin:/bin"}, cwd="/tmp", umask=0o27,
                       user=cocoon.User(0, 0, (7, 9)), rlimits={cocoon.Rlimit.NOFILE: (200, 200)},
                       oom_score_adj=123, no_new_privs=True, stdout=cocoon.PIPE)
    want = ["A=1", "/tmp", "0027", "0", "0 7 9", "200", "123"]
    first = run(cocoon.Container(["sh", "-c", SCRIPT], process=p))
    assert first[:7] == want
    assert first[8].split() == ["NoNewPrivs:", "1"]
    with cocoon.Container(["sleep", "60"]) as c:
        assert run(c.exec(["sh", "-c", SCRIPT], process=p)) == first
        c.kill()


@needs_root
def test_shortcuts_and_process_together():
    p = cocoon.Process(umask=0o77, capabilities=cocoon.Capabilities(0, 0, 0))
    out = run(cocoon.Container(["sh", "-c", SCRIPT], env={"A": "2"}, cwd="/", user=(0, 0),
                               stdout=cocoon.PIPE, process=p))
    assert out[:3] == ["A=2", "/", "0077"]
    assert out[7].split() == ["CapEff:", "0000000000000000"]


def cgroup_file(path, name):
    found = glob.glob(f"/sys/fs/cgroup/*/{path}/{name}") + glob.glob(f"/sys/fs/cgroup/{path}/{name}")
    assert found, (path, name)
    with open(found[0]) as f:
        return f.read().strip()


@needs_root
def test_cgroup_values_reach_the_cgroup():
    cg = cocoon.Cgroup(pids_max=16, cpus="0", cpu_quota=(20_000, 100_000), parent="cocoon/pytest-groups")
    with cocoon.Container(["sleep", "60"], cgroup=cg, memory_max=48 << 20) as c:
        path = c.cgroup_path
        assert path.startswith("cocoon/pytest-groups/")
        assert cgroup_file(path, "pids.max") == "16"
        assert cgroup_file(path, "cpuset.cpus") == "0"
        mem = glob.glob(f"/sys/fs/cgroup/memory/{path}/memory.limit_in_bytes") or glob.glob(f"/sys/fs/cgroup/{path}/memory.max")
        with open(mem[0]) as f:
            assert int(f.read()) == 48 << 20
        c.kill()
    assert not glob.glob(f"/sys/fs/cgroup/*/{path}") and not glob.glob(f"/sys/fs/cgroup/{path}")
