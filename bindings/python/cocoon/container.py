"""A container: configured by the constructor, started by spawn(); processes exec'd into
it; how a process ended (Rust: `ContainerBuilder`, `Container`, `ExecProcess`)."""

from __future__ import annotations

import ctypes
import os
import threading
import warnings
import weakref
from typing import IO, Any, Iterable, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from . import _compat, _lib
from ._lib import lib
from ._util import StrPath, _b, _strv, _wait_readable
from .cgroup import Cgroup, _apply_cgroup
from .constants import EndedBy, ErrorCode, Namespace
from .errors import TimeoutExpired, _check, _raise
from .mounts import Layers, Mount, _apply_mounts, _apply_rootfs
from .process import Process, UserSpec, _apply_process
from .seccomp import Seccomp
from .selinux import SELinux, _apply_selinux, _selinux_policy
from .net import Bridge, NetworkInfo, _apply_network
from .landlock import Landlock, LandlockStatus, _apply_landlock, _landlock_status
from .image import Image, _apply_image
from .supervisor import Supervisor, _take as _take_supervisor
from .subids import SubordinateIds, _apply_subids
from .stats import CgroupStats, InterfaceStats
from .stdio import StdioSpec, _close_streams, _take_all
from .exec_process import ExecProcess, ExitStatus, _exec_with, _status
from . import aio as _aio
from . import run as _run

__all__ = ["Container", "ExecProcess", "ExitStatus"]


class _Builder:
    """Owns a cocoon_builder; freed by close() or the finalizer."""

    def __init__(self, argv: Sequence[StrPath]) -> None:
        if not argv:
            raise ValueError("argv must name a program")
        h = _lib.BuilderP()
        _check(lib.cocoon_builder_new(_b(argv[0]), ctypes.byref(h)))
        self.h = h
        self._fin = weakref.finalize(self, lib.cocoon_builder_free, h)
        if len(argv) > 1:  # a new builder has none ("" for an image's Cmd takes none)
            arr, n = _strv(list(argv[1:]))
            _check(lib.cocoon_builder_set_args(h, arr, n))

    def close(self) -> None:
        self._fin()


class _NoBuilder:
    """The builder of a container started from a warm one (cocoon.warm): nothing to free,
    the warm container's settings were taken when it was made."""

    h = None

    def close(self) -> None:
        pass


def _warn(messages: Sequence[str]) -> None:
    for m in messages:
        # stacklevel 3: the caller of Container() or exec(), so that Python's default
        # filters show the warning for code run as __main__.
        warnings.warn(m, DeprecationWarning, stacklevel=3)


class Container:
    """A container: configured by the constructor, started by spawn() (or `with`).

        with cocoon.Container(["sh", "-c", "hostname"], hostname="box", read_only_root=True,
                              memory_max=64 << 20, stdout=cocoon.PIPE) as c:
            print(c.stdout.read(), c.wait())

    Leaving the `with` block (or close(), or garbage collection) kills every process of
    the container, reaps them and cleans up. Settings are grouped as in the Rust API:

    The program (Process; the common fields are keywords of their own):
        argv: the program and its arguments (searched in env's PATH).
        env, cwd, user, stdin, stdout, stderr: shortcuts for the Process fields of the
            same name (stdio: INHERIT, DEVNULL, PIPE, an fd or a file; with PIPE the
            caller's ends are .stdin/.stdout/.stderr once spawned).
        seccomp: the syscall filter, Seccomp(deny=[...]), Seccomp.default() or
            Seccomp.unconfined(); None is cocoon's default profile (help(cocoon.Seccomp)).
        process: Process(...) for the rest: capabilities, no_new_privs, rlimits, umask,
            oom_score_adj, pass_fds (a field may be given once: there or as a shortcut).

    The container (ContainerBuilder):
        hostname, domainname: of its UTS namespace.
        read_only_root: the root mounted read-only (mounts on top keep their own mode).
        id: the container id (names its cgroup; default cocoon-<pid>-<n>).
        namespaces: the Namespace flags to create (default Namespace.DEFAULT).
        uid_map, gid_map: [(inside, outside, count)] ranges of a user namespace.
        subordinate_ids: SubordinateIds(count=65536, whole_range=False): a user namespace
            with the caller's ranges from /etc/subuid and /etc/subgid instead.
        join: {Namespace.NET: "/run/netns/x"} joins existing namespaces (NET, IPC, UTS).
        time_offsets_ns: (monotonic, boottime) offsets of a time namespace.
        rootfs: None (the embedded host sandbox: the host's /usr read-only and a minimal
            /etc), a directory, or Layers(lower, upper, work).
        mounts: [Bind, Tmpfs, Proc] on top of the standard mounts.
        standard_mounts: /proc, /sys, /dev (default True).
        masked_paths, readonly_paths: replace Docker's lists.
        init: a minimal init as PID 1 that reaps orphans and forwards signals.
        direct_child: the container's first process becomes a child of the calling
            process (as an OCI runtime's caller, conmon or a shim, expects); no monitor
            stays behind.

    The cgroup (CgroupConfig):
        cgroup: Cgroup(...) (memory, pids, cpu, cpuset, io, hugetlb, device rules), or
            True for a cgroup without limits; a rejected value raises CgroupError before
            anything is created.
        memory_max, pids_max: shortcuts for the Cgroup fields of the same name.

    The network (Network):
        network: None (loopback only) or Bridge(name, subnet, address=None, mtu=None):
            a veth pair on a bridge; Container.network tells the address it got.

    SELinux (SelinuxConfig):
        selinux: True or SELinux(...); Container.selinux_label tells the label it got
            (None when unlabelled, e.g. on a host without SELinux).

    Landlock (Landlock):
        landlock: Landlock(read=[...], read_write=[...], execute=[...], connect_ports=[...],
            required=False); Container.landlock_status() tells what it became here.
        image: Image(store, "name:tag"): run from an image of an ImageStore (its layers
            as the root, its config as the defaults; argv [] runs its Entrypoint + Cmd).

    The flat keywords of cocoon 0.1 (cgroup_parent, cpu_quota, ..., umask, groups,
    default_seccomp, layers, ...) still work for this release and emit a
    DeprecationWarning naming their new spelling.
    """

    def __init__(
        self,
        argv: Sequence[StrPath],
        *,
        hostname: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[StrPath] = None,
        user: Optional[UserSpec] = None,
        stdin: StdioSpec = None,
        stdout: StdioSpec = None,
        stderr: StdioSpec = None,
        read_only_root: bool = False,
        memory_max: Optional[int] = None,
        pids_max: Optional[int] = None,
        process: Optional[Process] = None,
        seccomp: Optional[Seccomp] = None,
        cgroup: Union[None, bool, Cgroup] = None,
        selinux: Union[None, bool, SELinux] = None,
        id: Optional[str] = None,
        namespaces: Optional[Namespace] = None,
        uid_map: Iterable[Tuple[int, int, int]] = (),
        gid_map: Iterable[Tuple[int, int, int]] = (),
        subordinate_ids: Optional[SubordinateIds] = None,
        join: Optional[Mapping[Namespace, StrPath]] = None,
        domainname: Optional[str] = None,
        time_offsets_ns: Optional[Tuple[int, int]] = None,
        rootfs: Union[None, StrPath, Layers] = None,
        mounts: Sequence[Mount] = (),
        standard_mounts: bool = True,
        masked_paths: Optional[Sequence[StrPath]] = None,
        readonly_paths: Optional[Sequence[StrPath]] = None,
        init: bool = False,
        direct_child: bool = False,
        network: Optional[Bridge] = None,
        landlock: Optional[Landlock] = None,
        image: Optional[Image] = None,
        **deprecated: Any,
    ) -> None:
        self._lock = threading.Lock()
        self.args = list(argv)
        self._communication: Any = None
        self._h: Optional[_lib.ContainerP] = None
        self._fin: Optional[weakref.finalize[Any, Any]] = None
        self.stdin: Optional[IO[bytes]] = None
        self.stdout: Optional[IO[bytes]] = None
        self.stderr: Optional[IO[bytes]] = None
        _warn(_compat.take_deprecated(deprecated, _compat.CONTAINER_ALIASES, "Container"))
        # Resolved before the builder exists: a conflict leaves nothing to free.
        self._process = _compat.resolve_process(
            process, dict(env=env, cwd=cwd, user=user, stdin=stdin, stdout=stdout, stderr=stderr,
                          seccomp=seccomp), deprecated)
        self._cgroup = _compat.resolve_cgroup(cgroup, dict(memory_max=memory_max, pids_max=pids_max),
                                              deprecated)
        self._rootfs = _compat.resolve_rootfs(rootfs, deprecated)
        if image is not None and self._rootfs is not None:
            raise ValueError("give rootfs= or image=, not both")
        self._image = image
        # [] with an image: its Entrypoint + Cmd (the C program "").
        self._builder = b = _Builder(argv if argv or image is None else [""])
        try:
            if not argv:
                # The program from the image's Entrypoint + Cmd before any process setter
                # (they check the process, which needs a program).
                _apply_image(b.h, image)
            _apply_network(b.h, network)
            self._configure(b.h, hostname=hostname, read_only_root=read_only_root, selinux=selinux,
                            id=id, namespaces=namespaces, uid_map=uid_map, gid_map=gid_map,
                            join=join, domainname=domainname, time_offsets_ns=time_offsets_ns,
                            mounts=mounts, standard_mounts=standard_mounts,
                            masked_paths=masked_paths, readonly_paths=readonly_paths, init=init)
            _check(lib.cocoon_builder_set_direct_child(b.h, int(bool(direct_child))))
            _apply_subids(b.h, subordinate_ids)
            _apply_landlock(b.h, landlock)
        except BaseException:
            b.close()
            raise

    def _configure(self, h: Any, *, hostname: Optional[str], read_only_root: bool,
                   selinux: Union[None, bool, SELinux], id: Optional[str],
                   namespaces: Optional[Namespace], uid_map: Iterable[Tuple[int, int, int]],
                   gid_map: Iterable[Tuple[int, int, int]], join: Optional[Mapping[Namespace, StrPath]],
                   domainname: Optional[str], time_offsets_ns: Optional[Tuple[int, int]],
                   mounts: Sequence[Mount], standard_mounts: bool,
                   masked_paths: Optional[Sequence[StrPath]],
                   readonly_paths: Optional[Sequence[StrPath]], init: bool) -> None:
        if namespaces is not None:
            _check(lib.cocoon_builder_set_namespaces(h, int(namespaces)))
        if id is not None:
            _check(lib.cocoon_builder_set_id(h, id.encode()))
        for inside, outside, count in uid_map:
            _check(lib.cocoon_builder_add_uid_range(h, inside, outside, count))
        for inside, outside, count in gid_map:
            _check(lib.cocoon_builder_add_gid_range(h, inside, outside, count))
        if hostname is not None:
            name = hostname.encode()
            _check(lib.cocoon_builder_set_hostname_len(h, name, len(name)))
        if domainname is not None:
            name = domainname.encode()
            _check(lib.cocoon_builder_set_domainname_len(h, name, len(name)))
        if time_offsets_ns is not None:
            _check(lib.cocoon_builder_set_time_offsets(h, *time_offsets_ns))
        _apply_rootfs(h, self._rootfs)
        _check(lib.cocoon_builder_set_read_only_root(h, int(bool(read_only_root))))
        _check(lib.cocoon_builder_set_standard_mounts(h, int(bool(standard_mounts))))
        _apply_mounts(h, mounts)
        if masked_paths is not None:
            arr, n = _strv(list(masked_paths))
            _check(lib.cocoon_builder_set_masked_paths(h, arr, n))
        if readonly_paths is not None:
            arr, n = _strv(list(readonly_paths))
            _check(lib.cocoon_builder_set_readonly_paths(h, arr, n))
        _check(lib.cocoon_builder_set_init(h, int(bool(init))))
        for ns, path in (join or {}).items():
            _check(lib.cocoon_builder_join_namespace(h, int(ns), _b(path)))
        _apply_process(h, self._process)
        # After the process: the image's config fills only what it left unset.
        _apply_image(h, self._image, keep_user=self._process.user is not None,
                     keep_cwd=self._process.cwd is not None)
        _apply_selinux(h, selinux)
        _apply_cgroup(h, self._cgroup)

    # lifecycle
    def spawn(self) -> "Container":
        """Starts the container (once). Returns self."""
        return self._make(lambda h: lib.cocoon_container_spawn(self._builder.h, ctypes.byref(h)))

    def create(self, start_socket: Optional[StrPath] = None) -> "Container":
        """Sets the container up and holds it right before its program's exec (OCI's
        create); start() runs the program. With start_socket, cocoon.start_created(path)
        also starts it, from any process. Returns self."""
        if start_socket is None:
            return self._make(lambda h: lib.cocoon_container_create(self._builder.h, ctypes.byref(h)))
        return self._make(lambda h: lib.cocoon_container_create_at(self._builder.h, _b(start_socket),
                                                                   ctypes.byref(h)))

    def start(self) -> None:
        """Runs the program of a created container (raises NotCreated if started already)."""
        _check(lib.cocoon_container_start(self._handle()))

    @property
    def created(self) -> bool:
        """Whether this is a created container that start() has not run yet."""
        return self._h is not None and lib.cocoon_container_is_created(self._h) == 1

    def _make(self, call: Any) -> "Container":
        with self._lock:
            if self._h is not None:
                raise RuntimeError("the container was already spawned")
            h = _lib.ContainerP()
            _check(call(h))
            self._h = h
            self._fin = weakref.finalize(self, lib.cocoon_container_free, h)
            _take_all(lib.cocoon_container_take_stdio, h, self)
        return self

    @classmethod
    def _adopt(cls, call: Any, args: Sequence[StrPath]) -> "Container":
        """A running Container around the handle `call(out)` makes (a warm start)."""
        c = cls.__new__(cls)
        c._lock = threading.Lock()
        c.args = list(args)
        c._communication = None
        c._h = None
        c._fin = None
        c.stdin = c.stdout = c.stderr = None
        c._builder = _NoBuilder()  # type: ignore[assignment]
        return c._make(call)

    def _handle(self) -> _lib.ContainerP:
        if self._h is None:
            raise RuntimeError("the container is not running (spawn() it first)")
        return self._h

    def __enter__(self) -> "Container":
        if self._h is None:
            self.spawn()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kills every process of the container, reaps them, cleans up, frees the builder."""
        _close_streams(self)
        if self._fin is not None:
            self._fin()
        self._h = None
        self._builder.close()

    def delete(self) -> None:
        """Like close(), but raises if cleaning up fails."""
        h = self._handle()
        _close_streams(self)
        if self._fin is not None:
            self._fin.detach()
        self._h = None
        try:
            _check(lib.cocoon_container_delete(h))
        finally:
            self._builder.close()

    def detach(self) -> int:
        """Leaves the container running, also past this process's end; returns the pid
        the caller must reap (os.waitid(os.P_PID, pid, os.WEXITED | 0x40000000)): cocoon's
        monitor of the container, which exits with the status of its first process (read
        `pid` before for the first process's own pid)."""
        h = self._handle()
        pid = ctypes.c_int()
        _check(lib.cocoon_container_detach(h, ctypes.byref(pid)))
        if self._fin is not None:
            self._fin.detach()
        self._h = None
        _close_streams(self)
        self._builder.close()
        return pid.value

    # queries and control
    @property
    def pid(self) -> int:
        """Host pid of the first process."""
        v = ctypes.c_int()
        _check(lib.cocoon_container_pid(self._handle(), ctypes.byref(v)))
        return v.value

    @property
    def id(self) -> str:
        """The container id."""
        r: Optional[bytes] = lib.cocoon_container_id(self._handle())
        if r is None:
            _raise()
        return r.decode()

    def wait_fd(self) -> int:
        """An fd owned by the container that polls readable once the first process has
        exited: use it in an event loop (selectors, asyncio's add_reader), then wait()
        returns at once. Only poll it: do not read or close it, signal with kill()."""
        fd = ctypes.c_int()
        _check(lib.cocoon_container_wait_fd(self._handle(), ctypes.byref(fd)))
        return fd.value

    @property
    def pidfd(self) -> int:
        """A pidfd of the first process, owned by the container (do not close it): for
        os.pidfd_open-style uses (signal.pidfd_send_signal, setns). It polls readable
        once that process exited, but wait() may then block a moment longer: to wait in
        an event loop, use wait_fd()."""
        fd = ctypes.c_int()
        _check(lib.cocoon_container_pidfd(self._handle(), ctypes.byref(fd)))
        return fd.value

    def wait(self, timeout: Optional[float] = None) -> ExitStatus:
        """Waits for the first process to end, at most `timeout` seconds: then raises
        cocoon.TimeoutExpired (the container keeps running). Interruptible: Ctrl-C raises
        KeyboardInterrupt at once (the container keeps running until close())."""
        if not _wait_readable(self.wait_fd(), timeout):
            raise TimeoutExpired(self.args, timeout or 0)
        code, sig = ctypes.c_int(), ctypes.c_int()
        _check(lib.cocoon_container_wait(self._handle(), ctypes.byref(code), ctypes.byref(sig)))
        return _status(code, sig)

    def communicate(self, input: Optional[bytes] = None,
                    timeout: Optional[float] = None) -> Tuple[Optional[bytes], Optional[bytes]]:
        """As Popen.communicate: feeds `input` to stdin (stdin=PIPE), collects stdout and
        stderr (None for a stream that is not PIPE) until the first process has ended,
        and waits for it; no deadlock however much flows each way. After `timeout`
        seconds raises cocoon.TimeoutExpired (with the output so far; the container keeps
        running: call again to resume, or kill() first). Interruptible by Ctrl-C."""
        return _run.communicate(self, input, timeout)

    @property
    def ended_by(self) -> Optional[EndedBy]:
        """What ended the first process (None while it runs): EndedBy.OOM_KILL or
        PIDS_LIMIT when the container's cgroup limits struck, else EXITED or SIGNALED."""
        v = ctypes.c_int()
        rc = lib.cocoon_container_ended_by(self._handle(), ctypes.byref(v))
        if rc == ErrorCode.NOT_AVAILABLE:
            return None
        _check(rc)
        return EndedBy(v.value)

    async def wait_async(self) -> ExitStatus:
        """Awaits the end of the first process in the running asyncio loop (its wait fd
        on loop.add_reader: no thread). Cancelling the await (asyncio.wait_for's timeout,
        task.cancel()) kills the container's first process — and with a PID namespace
        everything in it."""
        return await _aio.wait_async(self)

    async def streams(self) -> "_aio.Streams":
        """The PIPE streams as asyncio objects: Streams(stdin: StreamWriter, stdout,
        stderr: StreamReader; None where not piped). They take over .stdin/.stdout/.stderr
        (set to None here)."""
        return await _aio.streams(self)

    def poll(self) -> Optional[ExitStatus]:
        """The exit status if the first process has ended, else None."""
        ex, code, sig = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        _check(lib.cocoon_container_try_wait(self._handle(), ctypes.byref(ex), ctypes.byref(code), ctypes.byref(sig)))
        return _status(code, sig) if ex.value else None

    def kill(self, signal: int = 9) -> None:
        """Sends a signal (default SIGKILL) to the first process."""
        _check(lib.cocoon_container_kill(self._handle(), int(signal)))

    # cgroup
    def pause(self) -> None:
        """Freezes every process of the container (needs a cgroup)."""
        _check(lib.cocoon_container_pause(self._handle()))

    def resume(self) -> None:
        """Thaws a paused container (needs a cgroup)."""
        _check(lib.cocoon_container_resume(self._handle()))

    def update(self, cgroup: Cgroup) -> None:
        """Changes the cgroup limits of the running container to those `cgroup` sets
        (fields left None stay as they are; its parent is not used), as `runc update`.
        Values are checked first (CgroupError, nothing written); device rules cannot
        change after creation (CgroupError). Needs a cgroup (InvalidConfig otherwise)."""
        if not isinstance(cgroup, Cgroup):
            raise TypeError(f"update takes a cocoon.Cgroup, not {type(cgroup).__name__}")
        limits = _Builder(["unused"])
        try:
            _apply_cgroup(limits.h, cgroup)
            _check(lib.cocoon_container_update_cgroup(self._handle(), limits.h))
        finally:
            limits.close()

    def stats(self) -> CgroupStats:
        """CPU, memory, pids and I/O usage of the container's cgroup (needs a cgroup)."""
        st = _lib.Stats()
        st.size = ctypes.sizeof(_lib.Stats)
        _check(lib.cocoon_container_stats(self._handle(), ctypes.byref(st)))
        return CgroupStats._from_c(st)

    @property
    def log_lost_bytes(self) -> int:
        """Bytes of output its log (Process(log=LogFile(...))) could not take: a full or
        failing disk makes the monitor drop output rather than block the container."""
        n = ctypes.c_uint64(0)
        _check(lib.cocoon_container_log_lost_bytes(self._handle(), ctypes.byref(n)))
        return n.value

    def take_seccomp_supervisor(self) -> Optional["Supervisor"]:
        """The supervisor of the program's notified syscalls (Process(seccomp_notify=...)),
        once; None if it notifies nothing or it was taken. Until taken, notified calls wait."""
        return _take_supervisor(lib.cocoon_container_take_seccomp_listener, self._handle())

    @property
    def log_errno(self) -> int:
        """The errno of the log's last failed write (e.g. errno.ENOSPC), 0 if none."""
        e = ctypes.c_int(0)
        _check(lib.cocoon_container_log_errno(self._handle(), ctypes.byref(e)))
        return e.value

    def net_stats(self) -> "list[InterfaceStats]":
        """The counters of the container's network interfaces, read in its network
        namespace ([] without one of its own)."""
        n = ctypes.c_size_t(0)
        _check(lib.cocoon_container_net_stats(self._handle(), None, 0, ctypes.byref(n)))
        while True:
            arr = (_lib.InterfaceStatsC * max(n.value, 1))()
            arr[0].size = ctypes.sizeof(_lib.InterfaceStatsC)
            cap = len(arr)
            _check(lib.cocoon_container_net_stats(self._handle(), arr, cap, ctypes.byref(n)))
            if n.value <= cap:  # else an interface came in between: again
                return [InterfaceStats._from_c(arr[i]) for i in range(n.value)]

    @property
    def cgroup_path(self) -> str:
        """The container's cgroup directory on the first hierarchy it uses."""
        p = ctypes.c_char_p()
        _check(lib.cocoon_container_cgroup_path(self._handle(), ctypes.byref(p)))
        return os.fsdecode(p.value or b"")

    def landlock_status(self) -> Optional[LandlockStatus]:
        """What the landlock= ruleset becomes on this kernel (the ABI used, the rules that
        lost rights), or None without one. Works before spawn() too."""
        return _landlock_status(self._builder.h)

    def selinux_policy(self, name: str) -> str:
        """The generated per-container SELinux policy (CIL text) named `name`; see
        cocoon.selinux_policy. Works before spawn() too."""
        return _selinux_policy(self._builder.h, name)

    @property
    def writable_layer(self) -> Optional[bytes]:
        """For a container run with image=: its writable layer's directory (`upper` holds
        every change), removed with the container unless Image(keep_upper=True)."""
        return lib.cocoon_container_writable_layer(self._handle())

    @property
    def network(self) -> Optional[NetworkInfo]:
        """The container's bridge network (address with prefix, host veth), or None."""
        a, h = ctypes.c_char_p(), ctypes.c_char_p()
        rc = lib.cocoon_container_network(self._handle(), ctypes.byref(a), ctypes.byref(h))
        if rc == ErrorCode.NOT_AVAILABLE:
            return None
        _check(rc)
        return NetworkInfo((a.value or b"").decode(), (h.value or b"").decode())

    @property
    def selinux_label(self) -> Optional[str]:
        """The SELinux label the container's processes run with, or None when it runs
        unlabelled (no selinux= setting, or SELinux disabled on the host)."""
        p = ctypes.c_char_p()
        rc = lib.cocoon_container_selinux_label(self._handle(), ctypes.byref(p))
        if rc == ErrorCode.NOT_AVAILABLE:
            return None
        _check(rc)
        return (p.value or b"").decode()

    def exec(self, argv: Sequence[StrPath], *, env: Optional[Mapping[str, str]] = None,
             cwd: Optional[StrPath] = None, user: Optional[UserSpec] = None,
             stdin: StdioSpec = None, stdout: StdioSpec = None, stderr: StdioSpec = None,
             seccomp: Optional[Seccomp] = None, process: Optional[Process] = None,
             **deprecated: Any) -> "ExecProcess":
        """Runs another process inside the running container (joins its namespaces).

        The keywords are those of the container's own program: env, cwd, user, stdin,
        stdout, stderr, seccomp, and process=Process(...) for the rest. It gets cocoon's
        default seccomp policy unless seccomp=Seccomp.unconfined(). The flat keywords of
        cocoon 0.1 (umask=, default_seccomp=, ...) emit a DeprecationWarning.
        """
        _warn(_compat.take_deprecated(deprecated, _compat.EXEC_ALIASES, "exec"))
        p = _compat.resolve_process(
            process, dict(env=env, cwd=cwd, user=user, stdin=stdin, stdout=stdout, stderr=stderr,
                          seccomp=seccomp), deprecated)
        return _exec_with(lib.cocoon_container_exec_process, self._handle(), argv, p)
