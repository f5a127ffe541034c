"""Landlock from Python on the real kernel: writes outside read_write paths fail with
EACCES, a TCP connect to a port without a rule is refused, required mode refuses a right
above the ABI before anything runs, best effort reports what it dropped, bad paths are
typed errors."""

import ctypes
import os

import pytest

import cocoon

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")

SCRATCH = cocoon.Landlock(read=["/"], execute=["/"], read_write=["/scratch"])


def kernel_abi():
    libc = ctypes.CDLL(None, use_errno=True)
    r = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(r, 0)


def run(script, **kw):
    kw.setdefault("mounts", [cocoon.Tmpfs("/scratch")])
    return cocoon.run(["sh", "-c", script], capture_output=True, timeout=60, **kw)


@needs_root
def test_write_outside_read_write_paths_is_eacces():
    script = "echo in > /scratch/a && cat /scratch/a; touch /tmp/x 2>&1; echo rc=$?"
    control = run(script)
    assert b"rc=0" in control.stdout, control
    r = run(script, landlock=SCRATCH)
    assert r.stdout.startswith(b"in\n"), r
    assert b"Permission denied" in r.stdout and b"rc=1" in r.stdout, r


@needs_root
def test_tcp_connect_only_to_allowed_ports():
    assert kernel_abi() >= 4
    r = run("busybox nc -w 2 127.0.0.1 8001 </dev/null 2>&1; busybox nc -w 2 127.0.0.1 8002 </dev/null 2>&1",
            namespaces=cocoon.Namespace.DEFAULT | cocoon.Namespace.NET,
            landlock=cocoon.Landlock(connect_ports=[8001]))
    first, second = r.stdout.decode().splitlines()[:2]
    assert "Connection refused" in first and "Permission denied" in second, r


@needs_root
def test_required_refuses_and_best_effort_reports():
    before = sorted(os.listdir("/proc/self/fd"))
    limited = cocoon.Landlock(read=["/"], execute=["/"], read_write=["/scratch"], max_abi=4)
    with pytest.raises(cocoon.UnsupportedError, match="IOCTL_DEV needs ABI 5") as e:
        run("true", landlock=cocoon.Landlock(read_write=["/scratch"], max_abi=4, required=True))
    assert e.value.code == cocoon.ErrorCode.UNSUPPORTED
    c = cocoon.Container(["sh", "-c", "touch /tmp/x 2>/dev/null || echo denied"], stdout=cocoon.PIPE,
                         mounts=[cocoon.Tmpfs("/scratch")], landlock=limited)
    st = c.landlock_status()
    assert st.abi == 4 and st.dropped == 1 and "/scratch: IOCTL_DEV" in st.text, st
    with c:
        assert c.stdout.read() == b"denied\n"
        assert c.wait().code == 0
    assert cocoon.Container(["true"]).landlock_status() is None
    assert sorted(os.listdir("/proc/self/fd")) == before


@needs_root
def test_bad_and_missing_paths():
    with pytest.raises(cocoon.InvalidConfig, match="landlock path"):
        cocoon.Container(["true"], landlock=cocoon.Landlock(read=["relative"]))
    with pytest.raises(ValueError):
        cocoon.Container(["true"], landlock=cocoon.Landlock(connect_ports=[70000]))
    with pytest.raises(cocoon.CocoonOSError) as e:
        run("true", landlock=cocoon.Landlock(read=["/", "/no/such/dir"]))
    assert e.value.stage == cocoon.Stage.LANDLOCK and "/no/such/dir" in str(e.value)


def test_rights_are_the_headers():
    assert cocoon.LandlockAccess.READ == cocoon.LandlockAccess.FS_READ_FILE | cocoon.LandlockAccess.FS_READ_DIR
    assert cocoon.LandlockAccess.READ_WRITE & cocoon.LandlockAccess.FS_EXECUTE == 0
