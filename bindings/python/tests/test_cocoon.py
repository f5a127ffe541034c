"""Tests of the Python bindings against the real library and kernel (run as root)."""

import gc
import os
import signal
import threading
from pathlib import Path

import pytest

import cocoon
from cocoon import _lib

ROOT = Path(__file__).resolve().parents[3]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def fds():
    return sorted(os.listdir("/proc/self/fd"))


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_every_exported_symbol_is_declared():
    symbols = (ROOT / "tests/abi/symbols.txt").read_text().split()
    assert symbols, "symbols.txt is empty"
    assert sorted(symbols) == sorted(_lib._SIGNATURES), "declare argtypes/restype for every function"
    for name in symbols:
        fn = getattr(_lib.lib, name)
        assert fn.argtypes is not None, name


def test_version_and_features():
    assert cocoon.version() == "0.1.0"
    assert cocoon.has_feature("userns") == os.path.exists("/proc/self/ns/user")
    assert cocoon.has_feature("selinux") == os.path.exists("/sys/fs/selinux/enforce")
    assert cocoon.has_feature("nonsense") is False


def test_config_errors_are_exceptions():
    with pytest.raises(cocoon.InvalidConfig) as e:
        cocoon.Container(["sh"], hostname="x" * 65)
    assert e.value.code == cocoon.ErrorCode.INVALID_CONFIG
    assert e.value.errno == 0 and "65 bytes" in str(e.value)
    assert not isinstance(e.value, OSError)
    with pytest.raises(cocoon.InvalidArgument) as e:
        cocoon.Container(["sh"], hostname="a\0b")  # interior NUL through the _len variant
    assert "NUL" in e.value.message
    with pytest.raises(cocoon.InvalidArgument):
        cocoon.Container(["sh"], namespaces=1 << 20)
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["sh"], mounts=[cocoon.Tmpfs("relative")])
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["sh"], umask=0o1000)
    with pytest.raises(cocoon.InvalidArgument):
        cocoon.Container(["sh"], rlimits={99: (1, 1)})
    with pytest.raises(cocoon.CocoonOSError) as e:
        cocoon.Container(["sh"], stdout=9999)  # a closed fd
    assert e.value.errno == 9 and isinstance(e.value, OSError)
    # Rejected before anything exists: nothing to spawn, nothing left behind.
    c = cocoon.Container(["sh"], hostname="h", namespaces=cocoon.Namespace.MOUNT)
    with pytest.raises(cocoon.InvalidConfig, match="UTS"):
        c.spawn()
    c.close()


@needs_root
def test_run_and_wait():
    with cocoon.Container(["sh", "-c", "echo $(hostname) $$ $X; exit 7"], hostname="pybox",
                          env={"X": "y"}, read_only_root=True, stdout=cocoon.PIPE,
                          namespaces=cocoon.Namespace.DEFAULT,
                          mounts=[cocoon.Tmpfs("/scratch", size=1 << 20), cocoon.Bind("/etc", "/mnt/etc", read_only=True)]) as c:
        assert c.pid > 1 and c.id
        assert c.stdout.read() == b"pybox 1 y\n"
        st = c.wait()
        assert st == cocoon.ExitStatus(7, 0) and not st.success
        assert c.poll() == st
        with pytest.raises(cocoon.AlreadyExited) as e:
            c.kill()
        assert e.value.code == cocoon.ErrorCode.ALREADY_EXITED


@needs_root
def test_setup_error_carries_stage_and_errno():
    c = cocoon.Container(["/no/such/program"])
    with pytest.raises(cocoon.CocoonOSError) as e:
        c.spawn()
    err = e.value
    assert err.code == cocoon.ErrorCode.SETUP and err.stage == cocoon.Stage.EXEC
    assert err.errno == 2 and isinstance(err, FileNotFoundError.__mro__[1])  # an OSError
    assert "/no/such/program" in str(err)
    c.close()


@needs_root
def test_exec_sees_the_same_container():
    with cocoon.Container(["sleep", "30"], hostname="shared") as c:
        assert c.poll() is None
        with c.exec(["sh", "-c", "hostname; echo $$"], stdout=cocoon.PIPE) as p:
            out = p.stdout.read().split()
            assert p.wait().success
        assert out[0] == b"shared" and out[1] != b"1"
        p = c.exec(["sleep", "30"])
        p.kill(signal.SIGKILL)
        assert p.wait() == cocoon.ExitStatus(-1, signal.SIGKILL)
        p.close()
        c.kill(signal.SIGKILL)
        assert c.wait().signal == signal.SIGKILL
        with pytest.raises(cocoon.AlreadyExited):
            c.exec(["true"])


@needs_root
def test_context_manager_and_finalizer_release_the_container():
    with cocoon.Container(["sleep", "30"]) as c:
        pid = c.pid
    assert gone(pid)
    with pytest.raises(RuntimeError):
        c.wait()
    c = cocoon.Container(["sleep", "30"]).spawn()
    pid = c.pid
    del c
    gc.collect()
    assert gone(pid)


@needs_root
def test_delete_and_detach():
    c = cocoon.Container(["sleep", "30"]).spawn()
    pid = c.pid
    c.delete()
    assert gone(pid)
    c = cocoon.Container(["true"]).spawn()
    pid = c.detach()
    info = os.waitid(os.P_PID, pid, os.WEXITED | 0x40000000)  # __WALL
    assert info.si_status == 0


@needs_root
def test_200_containers_leave_no_fd_behind():
    before = fds()
    for i in range(200):
        with cocoon.Container(["true"], stdout=cocoon.PIPE, stderr=cocoon.DEVNULL) as c:
            assert c.stdout.read() == b""
            assert c.wait().success
    gc.collect()
    assert fds() == before


@needs_root
def test_spawning_from_several_threads():
    results, errors = [], []

    def worker(n):
        try:
            for k in range(5):
                name = f"t{n}-{k}"
                with cocoon.Container(["hostname"], hostname=name, stdout=cocoon.PIPE) as c:
                    results.append((name, c.stdout.read().strip().decode(), c.wait()))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 30
    for name, seen, st in results:
        assert name == seen and st.success


def test_library_is_found_by_soname(tmp_path):
    """Without COCOON_LIBRARY the package falls back to the SONAME (here through
    LD_LIBRARY_PATH pointing at a directory holding libcocoon.so.0)."""
    import subprocess
    import sys
    src = Path(_lib.lib._name).resolve()
    (tmp_path / "libcocoon.so.0").symlink_to(src)
    env = {k: v for k, v in os.environ.items() if k != "COCOON_LIBRARY"}
    env["LD_LIBRARY_PATH"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", "import cocoon, cocoon._lib as l; print(l.lib._name, cocoon.version())"],
                         env=env, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.split() == ["libcocoon.so.0", "0.1.0"]
