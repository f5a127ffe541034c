"""RunningContainer: exec into a container by its pid, as another process would."""

import os
import subprocess

import pytest

import cocoon
from test_cocoon import needs_root


@needs_root
def test_exec_by_pid_joins_the_container():
    with cocoon.Container(["sleep", "30"], hostname="by-pid") as c:
        with cocoon.RunningContainer(c.pid) as r:
            p = r.exec(["sh", "-c", "echo $(hostname) $$; exit 5"], stdout=cocoon.PIPE)
            out, _ = p.communicate()
            assert p.wait().code == 5
            host, pid = out.decode().split()
            assert host == "by-pid" and int(pid) > 1


@needs_root
def test_a_direct_child_is_ours_and_detachable():
    with cocoon.Container(["sleep", "30"]) as c:
        r = cocoon.RunningContainer(c.pid, direct_child=True)
        p = r.exec(["sleep", "30"])
        pid = p.detach()
        r.close()
        with open(f"/proc/{pid}/status") as f:
            assert f"PPid:\t{os.getpid()}" in f.read()
        c.kill(9)
        # Ours to reap: the container's PID namespace ends only once it is reaped.
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status)


@needs_root
def test_bad_pids_are_typed():
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.RunningContainer(os.getpid())
    p = subprocess.Popen(["true"])
    p.wait()
    with pytest.raises(cocoon.AlreadyExited):
        cocoon.RunningContainer(p.pid)
    with cocoon.Container(["sleep", "30"]) as c:
        with pytest.raises(cocoon.CgroupError):
            cocoon.RunningContainer(c.pid, cgroup="cocoon/no-such-cgroup")
