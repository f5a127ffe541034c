"""cocoon.Supervisor (Process(seccomp_notify=[...])): a container's mount(2) reaches the
Python supervisor, which reads its arguments from the caller's memory and decides; one tmpfs
mount is done by the supervisor in the container's mount namespace, others are refused; a
closed supervisor means ENOSYS; bad configurations raise InvalidConfig."""

import errno
import subprocess

import pytest

import cocoon
from test_cocoon import needs_root

SYS_MOUNT = 165  # x86_64
BB = "/bin/busybox"


def mounting(script, **kw):
    return cocoon.Container(["sh", "-c", script], stdout=cocoon.PIPE,
                            process=cocoon.Process(seccomp_notify=[SYS_MOUNT], **kw))


@needs_root
def test_the_supervisor_does_one_mount_and_refuses_the_other():
    script = (f"mkdir -p /tmp/ok /tmp/no; {BB} mount -t tmpfs tmpfs /tmp/ok; echo ok=$?; "
              f"{BB} mount -t tmpfs tmpfs /tmp/no 2>&1; echo no=$?; grep -c ' /tmp/ok ' /proc/self/mountinfo")
    with mounting(script) as c:
        sup = c.take_seccomp_supervisor()
        assert sup is not None and c.take_seccomp_supervisor() is None
        seen = []
        with sup:
            for req in sup:
                assert req.syscall == SYS_MOUNT and sup.id_valid(req)
                target = sup.read_string(req, req.args[1]).decode()
                fstype = sup.read_string(req, req.args[2]).decode()
                seen.append((fstype, target))
                if (fstype, target) == ("tmpfs", "/tmp/ok"):
                    subprocess.run(["nsenter", "-t", str(req.pid), "-m", "--", BB, "mount", "-t", "tmpfs",
                                    "tmpfs", target], check=True)
                    sup.respond_value(req, 0)
                else:
                    sup.respond_errno(req, errno.EPERM)
            assert sup.ended
        out = c.stdout.read().decode()
        assert c.wait().code == 0
    assert seen == [("tmpfs", "/tmp/ok"), ("tmpfs", "/tmp/no")]
    lines = out.split("\n")
    assert "ok=0" in lines and "no=1" in lines and "permission denied" in out and lines[-2] == "1", out


@needs_root
def test_a_closed_supervisor_means_enosys_and_reads_are_bounded():
    with mounting(f"mkdir -p /tmp/m; {BB} mount -t tmpfs tmpfs /tmp/m 2>&1; echo rc=$?") as c:
        sup = c.take_seccomp_supervisor()
        req = sup.recv(timeout=20)
        assert req is not None
        assert sup.read_memory(req, req.args[1], 4) == b"/tmp"
        with pytest.raises(OSError) as e:
            sup.read_string(req, req.args[1], max_len=3)
        assert e.value.errno == errno.ENAMETOOLONG
        with pytest.raises(cocoon.InvalidConfig):
            sup.respond_errno(req, 0)
        sup.close()
        out = c.stdout.read().decode()
        assert c.wait().code == 0
    assert "Function not implemented" in out and "rc=255" in out, out


@needs_root
def test_an_exec_has_its_own_supervisor_and_none_without_notify():
    with cocoon.Container([BB, "sleep", "30"]) as c:
        assert c.take_seccomp_supervisor() is None
        p = c.exec([BB, "sh", "-c", f"mkdir -p /tmp/e; {BB} mount -t tmpfs tmpfs /tmp/e 2>&1; echo rc=$?"],
                   stdout=cocoon.PIPE, process=cocoon.Process(seccomp_notify=[SYS_MOUNT]))
        with p.take_seccomp_supervisor() as sup:
            req = sup.recv(timeout=20)
            assert sup.read_string(req, req.args[1]) == b"/tmp/e"
            sup.respond_errno(req, errno.ENODEV)
            out = p.stdout.read().decode()
        assert p.wait().code == 0 and "No such device" in out, out
        c.kill()


@needs_root
@pytest.mark.parametrize("nrs", [[], [59], [SYS_MOUNT, 5000]])
def test_bad_notify_sets_are_invalid_config(nrs):
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container([BB, "true"], process=cocoon.Process(seccomp_notify=nrs))
