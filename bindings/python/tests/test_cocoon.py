"""Tests of the Python bindings against the real library and kernel (run as root)."""

import gc
import glob
import os
import errno
import signal
import subprocess
import threading
import time
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


def selinux_on():
    """SELinux enabled as cocoon defines it: selinuxfs present and a policy loaded (our
    label is not "kernel")."""
    if not os.path.exists("/sys/fs/selinux/enforce"):
        return False
    try:
        label = Path("/proc/self/attr/current").read_bytes().split(b"\0")[0].strip()
    except OSError:
        return False
    return label not in (b"", b"kernel")


def test_every_exported_symbol_is_declared():
    symbols = (ROOT / "tests/abi/symbols.txt").read_text().split()
    assert symbols, "symbols.txt is empty"
    assert sorted(symbols) == sorted(_lib._SIGNATURES), "declare argtypes/restype for every function"
    for name in symbols:
        fn = getattr(_lib.lib, name)
        assert fn.argtypes is not None, name


def test_version_and_features():
    assert cocoon.version() == "0.1.0"
    assert cocoon.has_feature("cgroup2") == os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    assert cocoon.has_feature("cgroup") is True
    assert cocoon.has_feature("userns") == os.path.exists("/proc/self/ns/user")
    assert cocoon.has_feature("selinux") == selinux_on()
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
        cocoon.Container(["sh"], process=cocoon.Process(umask=0o1000))
    with pytest.raises(cocoon.InvalidArgument):
        cocoon.Container(["sh"], process=cocoon.Process(rlimits={99: (1, 1)}))
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


def cgroup_dirs(name):
    """Every cgroup directory called `name` under a cocoon parent, on any hierarchy."""
    return glob.glob(f"/sys/fs/cgroup/*/cocoon/{name}") + glob.glob(f"/sys/fs/cgroup/cocoon/{name}")


@needs_root
def test_200_containers_leave_no_fd_and_no_cgroup_behind():
    # One container first: a spawn frees what earlier tests' detached containers held
    # (their monitors' stacks and pidfds), which is not this test's to count.
    with cocoon.Container(["true"]) as c:
        c.wait()
    before = fds()
    ids = []
    for i in range(200):
        cid = f"cocoon-pyloop-{os.getpid()}-{i}"
        with cocoon.Container(["true"], id=cid, pids_max=8, stdout=cocoon.PIPE, stderr=cocoon.DEVNULL) as c:
            assert c.id == cid and c.cgroup_path == f"cocoon/{cid}"
            if i % 50 == 0:
                assert cgroup_dirs(cid), "the container's cgroup exists while it runs"
            assert c.stdout.read() == b""
            assert c.wait().success
        ids.append(cid)
    gc.collect()
    assert fds() == before
    left = [d for cid in ids for d in cgroup_dirs(cid)]
    assert left == [], left


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


def _probe(env, cwd):
    """The library path the package loads in a fresh interpreter with `env`."""
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-c", "import cocoon, cocoon._lib as l; print(l.lib._name, cocoon.version())"],
                          env=env, capture_output=True, text=True, cwd=cwd)


def _env_without_library():
    return {k: v for k, v in os.environ.items() if k not in ("COCOON_LIBRARY", "LD_LIBRARY_PATH")}


def test_installed_package_loads_its_bundled_library(tmp_path):
    """pip install ./bindings/python ships libcocoon.so.0 in the package: no COCOON_LIBRARY needed."""
    bundled = Path(cocoon.__file__).parent / "libcocoon.so.0"
    assert bundled.is_file(), f"{bundled} missing: the package was not installed with pip"
    out = _probe(_env_without_library(), tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(bundled), "0.1.0"]


def test_cocoon_library_overrides_the_bundled_one(tmp_path):
    (tmp_path / "libcocoon.so.0").symlink_to(Path(_lib.lib._name).resolve())
    env = _env_without_library()
    env["COCOON_LIBRARY"] = str(tmp_path / "libcocoon.so.0")
    out = _probe(env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [env["COCOON_LIBRARY"], "0.1.0"]


def test_package_without_library_uses_soname_or_says_how_to_install(tmp_path):
    """A copy of the package sources without the library falls back to the SONAME (here
    through LD_LIBRARY_PATH); with none anywhere, the error says how to get one."""
    import shutil
    pkg = tmp_path / "src" / "cocoon"
    pkg.mkdir(parents=True)
    for f in Path(cocoon.__file__).parent.glob("*.py"):
        shutil.copy(f, pkg)
    env = _env_without_library()
    env["PYTHONPATH"] = str(pkg.parent)
    out = _probe(env, tmp_path)
    assert out.returncode != 0
    assert "libcocoon.so.0 not found" in out.stderr
    assert "pip install ./bindings/python" in out.stderr and "COCOON_LIBRARY=" in out.stderr
    libdir = tmp_path / "lib"
    libdir.mkdir()
    (libdir / "libcocoon.so.0").symlink_to(Path(_lib.lib._name).resolve())
    env["LD_LIBRARY_PATH"] = str(libdir)
    out = _probe(env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["libcocoon.so.0", "0.1.0"]


# --- SELinux, procfs and relabelled mounts, namespace joins, passed fds ---------------------


def test_selinux_values_are_checked_when_set(tmp_path):
    for bad, what in ((dict(process_type="bad type"), "process type"), (dict(level="s0:c1,c2000"), "level"),
                      (dict(level="bogus"), "level"), (dict(mount_label="not-a-context"), "context"),
                      (dict(mcs_range=(20, 10)), "MCS range"), (dict(role=""), "role"),
                      (dict(level="s0:c1,c2", shared_level="s0:c3,c4"), "shared_level")):
        with pytest.raises(cocoon.SELinuxError) as e:
            cocoon.Container(["true"], selinux=cocoon.SELinux(**bad))
        assert e.value.code == cocoon.ErrorCode.SELINUX and e.value.message, bad
        print(what, "->", e.value)
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["true"], selinux=cocoon.SELinux(state_dir="relative/dir"))
    with pytest.raises(TypeError):
        cocoon.Container(["true"], selinux="container_t")
    # every field at once is accepted
    cocoon.Container(["true"], selinux=cocoon.SELinux(
        process_type="container_t", file_type="container_file_t", user="system_u", role="system_r",
        level="s0:c1,c2", mount_label="system_u:object_r:container_file_t:s0:c1,c2", require=False,
        mcs_range=(100, 199), state_dir=tmp_path / "mcs", policy_root="/etc/selinux/default")).close()
    assert not (tmp_path / "mcs").exists()


@needs_root
def test_selinux_label_on_this_host(tmp_path):
    with cocoon.Container(["true"]) as c:
        assert c.selinux_label is None
        assert c.wait().success
    cfg = cocoon.SELinux(process_type="container_t", level="s0:c1,c2", require=False, state_dir=tmp_path / "mcs")
    with cocoon.Container(["true"], selinux=cfg) as c:
        if selinux_on():
            assert c.selinux_label.endswith(":container_t:s0:c1,c2")
        else:
            assert c.selinux_label is None  # labelled, but the host has no SELinux
        assert c.wait().success
    with cocoon.Container(["true"], selinux=True) as c:
        assert c.wait().success
    if not selinux_on():
        c = cocoon.Container(["true"], selinux=cocoon.SELinux(require=True, state_dir=tmp_path / "mcs"))
        with pytest.raises(cocoon.SELinuxError) as e:
            c.spawn()
        assert "not enabled" in str(e.value)
        c.close()
    assert not (tmp_path / "mcs").exists()


@needs_root
def test_relabel_refuses_system_directories(tmp_path):
    with pytest.raises(cocoon.SELinuxError) as e:
        cocoon.Container(["true"], selinux=True, mounts=[cocoon.Bind("/usr", "/mnt", relabel=cocoon.Relabel.PRIVATE)])
    assert "/usr" in str(e.value)
    with pytest.raises(cocoon.SELinuxError):
        cocoon.Container(["true"], selinux=True, mounts=[cocoon.Bind("/etc", "/mnt", relabel=cocoon.Relabel.SHARED)])
    # without selinux= the relabel is a configuration error at spawn
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("hello")
    c = cocoon.Container(["true"], mounts=[cocoon.Bind(data, "/mnt", relabel=cocoon.Relabel.SHARED)])
    with pytest.raises(cocoon.InvalidConfig):
        c.spawn()
    c.close()
    with cocoon.Container(["cat", "/mnt/f"], selinux=True, stdout=cocoon.PIPE,
                          mounts=[cocoon.Bind(data, "/mnt", read_only=True, relabel=cocoon.Relabel.PRIVATE)]) as c:
        assert c.stdout.read() == b"hello"
        assert c.wait().success


@needs_root
def test_proc_mount_without_standard_mounts():
    script = "read pid rest < /proc/self/stat; echo $pid; test -w /proc/self/comm && echo rw || echo ro"
    for ro, want in ((True, b"1\nro\n"), (False, b"1\nrw\n")):
        with cocoon.Container(["sh", "-c", script], standard_mounts=False, stdout=cocoon.PIPE,
                              mounts=[cocoon.Proc("/proc", read_only=ro)]) as c:
            assert c.stdout.read() == want
            assert c.wait().success
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["true"], mounts=[cocoon.Proc("proc")])


@needs_root
def test_join_a_network_namespace_with_a_veth_pair():
    name = f"cocoon-py-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "cocoonpy0", "type", "veth", "peer", "name", "cocoonpy1"],
                       check=True)
        with cocoon.Container(["cat", "/proc/net/dev"], join={cocoon.Namespace.NET: f"/run/netns/{name}"},
                              stdout=cocoon.PIPE) as c:
            dev = c.stdout.read().decode()
            assert c.wait().success
        names = {line.split(":")[0].strip() for line in dev.splitlines()[2:]}
        assert {"lo", "cocoonpy0", "cocoonpy1"} <= names, dev
        # a fresh network namespace (the default) has only loopback
        with cocoon.Container(["cat", "/proc/net/dev"], stdout=cocoon.PIPE) as c:
            fresh = c.stdout.read().decode()
            assert c.wait().success
        assert "cocoonpy0" not in fresh and "lo:" in fresh
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)
    assert name not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_join_errors():
    with pytest.raises(cocoon.InvalidArgument):
        cocoon.Container(["true"], join={cocoon.Namespace.PID: "/proc/self/ns/pid"})
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["true"], join={cocoon.Namespace.NET: "run/netns/x"})
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["true"], hostname="x", join={cocoon.Namespace.UTS: "/proc/self/ns/uts"}).spawn()


@needs_root
def test_join_missing_namespace_file_is_an_os_error():
    c = cocoon.Container(["true"], join={cocoon.Namespace.NET: "/run/netns/cocoon-no-such-ns"})
    with pytest.raises(cocoon.CocoonOSError) as e:
        c.spawn()
    assert e.value.errno == errno.ENOENT
    c.close()


def _run_with_pipe(script_for, pass_fds_for):
    """Runs sh -c script_for(w) with pass_fds_for(w), w being a pipe's write end; returns
    what arrived on the read end (EOF once the container and the builder are gone)."""
    r, w = os.pipe()
    try:
        c = cocoon.Container(["sh", "-c", script_for(w)], process=cocoon.Process(pass_fds=pass_fds_for(w)))
        os.close(w)
        w = -1
        with c:
            assert c.wait().success
        # leaving `with` freed the builder and with it its duplicates of the passed fds
        with os.fdopen(r, "rb") as f:
            r = -1
            return f.read()
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)


@needs_root
def test_pass_fds():
    # {target: fd}
    assert _run_with_pipe(lambda w: "echo to-five >&5", lambda w: {5: w}) == b"to-five\n"
    # a list: each fd under its own number (written through /proc: dash redirects only 0-9)
    assert _run_with_pipe(lambda w: f"echo same > /proc/self/fd/{w}", lambda w: [w]) == b"same\n"
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["true"], process=cocoon.Process(pass_fds=[1]))
    with pytest.raises(cocoon.InvalidArgument):
        cocoon.Container(["true"], process=cocoon.Process(pass_fds={3: -1}))


# keyctl(KEYCTL_GET_KEYRING_ID, @u), clone(CLONE_NEWUSER|SIGCHLD), clone3(NULL, 0): each
# printed as 0 (worked) or -errno (x86_64 numbers).
_SECCOMP_PROBE = r'''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(*a):
    r = libc.syscall(*a)
    return r if r >= 0 else -ctypes.get_errno()
k = call(250, 0, -4, 0)
c = call(56, 0x10000000 | 17, 0, 0, 0, 0)
if c == 0:
    os._exit(0)
if c > 0:
    os.waitpid(c, 0)
print(min(k, 0), min(c, 0), call(435, 0, 0))
'''


@needs_root
def test_default_seccomp_policy():
    argv = ["/usr/bin/python3", "-c", _SECCOMP_PROBE]
    refused = b"-1 -1 -38\n"  # EPERM, EPERM, ENOSYS
    with cocoon.Container(argv, stdout=cocoon.PIPE) as c:
        assert c.stdout.read() == refused
        assert c.wait().code == 0
    with cocoon.Container(argv, stdout=cocoon.PIPE, seccomp=cocoon.Seccomp.unconfined()) as c:
        assert c.stdout.read() == b"0 0 -22\n"  # clone3 is there: EINVAL for size 0
    # A process exec'd into a container gets it too, unless turned off.
    with cocoon.Container(["sleep", "1000"]) as c:
        with c.exec(argv, stdout=cocoon.PIPE) as p:
            assert p.stdout.read() == refused
        with c.exec(argv, stdout=cocoon.PIPE, seccomp=cocoon.Seccomp.unconfined()) as p:
            assert p.stdout.read() == b"0 0 -22\n"


@needs_root
def test_seccomp_deny_list():
    script = ["sh", "-c", "mkdir /tmp/x 2>/dev/null && echo made || echo denied; unshare -U true 2>/dev/null && echo userns || echo no-userns"]
    mkdir, mkdirat = 83, 258  # x86_64
    # The default policy off, so that each deny-list is seen on its own.
    with cocoon.Container(script, stdout=cocoon.PIPE, seccomp=cocoon.Seccomp.unconfined()) as c:
        assert c.stdout.read() == b"made\nuserns\n"
    deny = cocoon.Seccomp(deny=[mkdir, mkdirat], default_policy=False)
    with cocoon.Container(script, stdout=cocoon.PIPE, seccomp=deny) as c:
        assert c.stdout.read() == b"denied\nuserns\n"
    conservative = cocoon.Seccomp(use_default=True, default_policy=False)
    with cocoon.Container(script, stdout=cocoon.PIPE, seccomp=conservative) as c:
        assert c.stdout.read() == b"made\nno-userns\n"
    # on top of the default policy (which already refuses the user namespace)
    with cocoon.Container(script, stdout=cocoon.PIPE, seccomp=cocoon.Seccomp(deny=[mkdir, mkdirat])) as c:
        assert c.stdout.read() == b"denied\nno-userns\n"
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["true"], seccomp=cocoon.Seccomp(deny=[mkdir], errno=0))


@needs_root
def test_seccomp_profile_json():
    """A Docker JSON profile replaces the default profile (no user namespace refusal)."""
    script = ["sh", "-c", "mkdir /tmp/x 2>/dev/null && echo made || echo denied; unshare -U true 2>/dev/null && echo userns || echo no-userns"]
    profile = ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], '
               '"action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}')
    with cocoon.Container(script, stdout=cocoon.PIPE, seccomp=cocoon.Seccomp(profile_json=profile)) as c:
        assert c.stdout.read() == b"denied\nuserns\n"
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["true"], seccomp=cocoon.Seccomp(profile_json=b'{"defaultAction": "SCMP_ACT_NOPE"}'))


@needs_root
def test_ctrl_c_interrupts_wait_at_once():
    """A real SIGINT during wait() raises KeyboardInterrupt at once (the C wait retries
    EINTR, so Python's handler would only run when the container ended, 30 s later);
    leaving the `with` block then kills the container and removes its cgroup."""
    assert threading.current_thread() is threading.main_thread()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with cocoon.Container(["sleep", "30"], cgroup=True) as c:
        pid, cid = c.pid, c.id
        assert cgroup_dirs(cid)
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        t0 = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            c.wait()
        elapsed = time.monotonic() - t0
        timer.join()
        assert 0.25 <= elapsed < 5, f"KeyboardInterrupt after {elapsed:.2f} s"
        assert c.poll() is None  # still running: only the wait was interrupted
        with c.exec(["sleep", "30"]) as p:
            timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
            t0 = time.monotonic()
            timer.start()
            with pytest.raises(KeyboardInterrupt):
                p.wait()
            timer.join()
            assert time.monotonic() - t0 < 5
            epid = p.pid
        assert gone(epid)
    assert gone(pid)
    assert cgroup_dirs(cid) == []


@needs_root
def test_wait_fd_polls_readable_once_exited():
    import select
    with cocoon.Container(["sleep", "30"]) as c:
        fd = c.wait_fd()
        assert select.select([fd], [], [], 0)[0] == []
        c.kill(signal.SIGKILL)
        assert select.select([fd], [], [], 10)[0] == [fd]
        assert c.wait().signal == signal.SIGKILL
        assert c.wait_fd() == fd


@needs_root
def test_fifo_passwd_is_an_image_file_error(tmp_path):
    (tmp_path / "etc").mkdir()
    fifo = tmp_path / "etc" / "passwd"
    os.mkfifo(fifo)
    # A regression would block in open(2): release it after 10 s and fail.
    release = threading.Timer(10, lambda: os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)))
    release.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(cocoon.ImageFileError) as e:
            cocoon.Container(["/bin/true"], rootfs=tmp_path, user="alice").spawn()
    finally:
        release.cancel()
    assert time.monotonic() - t0 < 5
    assert e.value.code == cocoon.ErrorCode.IMAGE_FILE and "etc/passwd" in str(e.value)


@needs_root
def test_proc_self_exe_script_cannot_run_python(tmp_path):
    """CVE-2019-5736 class: a `#!/proc/self/exe` program must not make the kernel run
    the host's binary (here python3, which would run the script as Python) inside the
    container, neither as the spawned program nor through exec: cocoon's sealed exec
    helper runs first and refuses to be an interpreter."""
    victim = tmp_path / "victim"
    victim.write_text("#!/proc/self/exe\nimport sys\nprint('PYTHON-RAN', sys.executable)\n")
    victim.chmod(0o755)
    tmp_path.chmod(0o755)
    mounts = [cocoon.Bind(str(tmp_path), "/w", read_only=True)]
    for init in (False, True):
        with cocoon.Container(["/w/victim"], mounts=mounts, init=init, stdout=cocoon.PIPE, stderr=cocoon.PIPE) as c:
            out, err = c.stdout.read(), c.stderr.read()
            st = c.wait()
        assert b"PYTHON-RAN" not in out, out
        assert st == cocoon.ExitStatus(126, 0) and b"cocoon-helper: refusing" in err, (st, err)
    with cocoon.Container(["sleep", "30"], mounts=mounts) as c:
        with c.exec(["/w/victim"], stdout=cocoon.PIPE, stderr=cocoon.PIPE) as p:
            out, err = p.stdout.read(), p.stderr.read()
            st = p.wait()
        assert b"PYTHON-RAN" not in out, out
        assert st == cocoon.ExitStatus(126, 0) and b"cocoon-helper: refusing" in err, (st, err)
        c.kill(signal.SIGKILL)
        c.wait()
