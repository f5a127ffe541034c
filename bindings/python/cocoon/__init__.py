"""cocoon: Linux containers built in-process, from Python (ctypes over libcocoon.so.0).

    import cocoon
    with cocoon.Container(["sh", "-c", "hostname"], hostname="box",
                          stdout=cocoon.PIPE) as c:
        print(c.stdout.read())          # b"box\\n"
        print(c.wait())                 # ExitStatus(code=0, signal=0)

`pip install ./bindings/python` builds libcocoon with cargo and ships it inside this
package. The library is found through the environment variable COCOON_LIBRARY (an
override), then next to this package, then by its SONAME libcocoon.so.0.
"""

from __future__ import annotations

import ctypes
import enum
import io
import os
import select
import threading
import weakref
from dataclasses import dataclass
from typing import IO, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Union

from . import _lib
from ._lib import lib

__all__ = [
    "Bind", "Container", "CocoonError", "CocoonOSError", "ExecProcess", "ExitStatus",
    "ErrorCode", "InvalidArgument", "InvalidConfig", "Namespace", "Rlimit", "Stage",
    "Tmpfs", "MountFlag", "INHERIT", "DEVNULL", "PIPE", "has_feature", "version", "Seccomp",
    "AlreadyExited", "CgroupError", "CgroupOSError", "CgroupStats", "CpuStats", "MemoryStats",
    "PidsStats", "IoStats", "IoRate", "IoLimit", "DeviceKind", "DeviceAccess", "DeviceRule",
    "DEVICE_ANY", "Proc", "Relabel", "SELinux", "SELinuxError", "ImageFileError",
    "ImageFileOSError", "sweep_stale",
]

StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

# --- constants (mirrors include/cocoon.h) -------------------------------------------------


class ErrorCode(enum.IntEnum):
    """COCOON_E_* result codes."""
    OK = 0
    INVALID_ARGUMENT = -1
    INVALID_CONFIG = -2
    SETUP = -3
    OS = -4
    CGROUP = -5
    SELINUX = -6
    ALREADY_EXITED = -7
    PANIC = -8
    NOT_AVAILABLE = -9
    IMAGE_FILE = -10


class Namespace(enum.IntFlag):
    """COCOON_NS_* flags: which namespaces are new."""
    MOUNT = 1 << 0
    UTS = 1 << 1
    IPC = 1 << 2
    PID = 1 << 3
    NET = 1 << 4
    USER = 1 << 5
    CGROUP = 1 << 6
    TIME = 1 << 7
    DEFAULT = 0x5F


class MountFlag(enum.IntFlag):
    """COCOON_MOUNT_* flags."""
    NONE = 0
    READONLY = 1 << 0
    NOEXEC = 1 << 1
    ALLOW_SUID = 1 << 2
    ALLOW_DEV = 1 << 3
    NONRECURSIVE = 1 << 4


class Relabel(enum.IntEnum):
    """COCOON_RELABEL_*: how a Bind source is relabelled for SELinux."""
    SHARED = 0   # `z`: usable by every container (level s0)
    PRIVATE = 1  # `Z`: usable by this container only (its own MCS level)


class Rlimit(enum.IntEnum):
    """COCOON_RLIMIT_* (cocoon's own numbering)."""
    AS = 0
    CORE = 1
    CPU = 2
    DATA = 3
    FSIZE = 4
    MEMLOCK = 5
    MSGQUEUE = 6
    NICE = 7
    NOFILE = 8
    NPROC = 9
    RSS = 10
    RTPRIO = 11
    RTTIME = 12
    SIGPENDING = 13
    STACK = 14


RLIM_INFINITY = 2**64 - 1


class IoRate(enum.IntEnum):
    """COCOON_IO_*: which rate an IoLimit caps (per second)."""
    READ_BPS = 0
    WRITE_BPS = 1
    READ_IOPS = 2
    WRITE_IOPS = 3


class DeviceKind(enum.IntEnum):
    """COCOON_DEVICE_ALL/CHAR/BLOCK: the kind of device a DeviceRule covers."""
    ALL = 0
    CHAR = 1
    BLOCK = 2


class DeviceAccess(enum.IntFlag):
    """COCOON_DEVICE_READ/WRITE/MKNOD."""
    READ = 1 << 0
    WRITE = 1 << 1
    MKNOD = 1 << 2
    ALL = 7


DEVICE_ANY = 0xFFFFFFFF
"""COCOON_DEVICE_ANY: a wildcard major or minor number in a DeviceRule."""

_STATS_CPU, _STATS_MEMORY, _STATS_MEMORY_PEAK, _STATS_PIDS, _STATS_IO = 1, 2, 4, 8, 16

Stage = enum.IntEnum("Stage", [
    ("NONE", 0), ("SYNC", 1), ("USER_NAMESPACE", 2), ("TIME_NAMESPACE", 3), ("HOSTNAME", 4),
    ("DOMAINNAME", 5), ("MOUNT_PROPAGATION", 6), ("ROOTFS", 7), ("MOUNT_TARGET", 8), ("MOUNT", 9),
    ("CREATE_FILE", 10), ("PIVOT_ROOT", 11), ("MASK_PATH", 12), ("READONLY_PATH", 13),
    ("READONLY_ROOT", 14), ("LOOPBACK", 15), ("RLIMIT", 16), ("GROUPS", 17), ("SETGID", 18),
    ("SETUID", 19), ("CAP_BOUNDING", 20), ("CAPABILITIES", 21), ("AMBIENT_CAPABILITIES", 22),
    ("NO_NEW_PRIVS", 23), ("CWD", 24), ("STDIO", 25), ("CLOSE_FDS", 26), ("SELINUX_LABEL", 27),
    ("SECCOMP", 28), ("EXEC", 29), ("INIT", 30), ("JOIN_NAMESPACES", 31), ("DUMPABLE", 32),
    ("DEVICE", 33), ("SESSION", 34), ("KEYRING_LABEL", 35),
    ("CGROUP_NAMESPACE", 36),
])
Stage.__doc__ = "COCOON_STAGE_*: the container setup step that failed."

_STDIN, _STDOUT, _STDERR = 0, 1, 2
_K_INHERIT, _K_NULL, _K_PIPE, _K_FD = 0, 1, 2, 3


class _StdioKind:
    def __init__(self, name: str, kind: int) -> None:
        self.name, self.kind = name, kind

    def __repr__(self) -> str:
        return f"cocoon.{self.name}"


INHERIT = _StdioKind("INHERIT", _K_INHERIT)
DEVNULL = _StdioKind("DEVNULL", _K_NULL)
PIPE = _StdioKind("PIPE", _K_PIPE)
StdioSpec = Union[_StdioKind, int, IO, None]

# --- errors -------------------------------------------------------------------------------


class CocoonError(Exception):
    """A failed cocoon call: `code` (ErrorCode), `errno`, `stage` (Stage) and message."""

    def __init__(self, code: int, errno: int, stage: int, message: str) -> None:
        super().__init__(message)
        self.code = _enum(ErrorCode, code)
        self.errno = errno
        self.stage = _enum(Stage, stage)
        self.message = message

    def __str__(self) -> str:
        extra = f" [stage {self.stage.name}]" if self.stage else ""
        return f"{self.message}{extra}"


class CocoonOSError(CocoonError, OSError):
    """A failed cocoon call that carries an OS error (errno is set)."""

    def __init__(self, code: int, errno: int, stage: int, message: str) -> None:
        CocoonError.__init__(self, code, errno, stage, message)
        self.strerror = message
        self.args = (errno, message)

    def __str__(self) -> str:
        return CocoonError.__str__(self)


class InvalidArgument(CocoonError, ValueError):
    """COCOON_E_INVALID_ARGUMENT: a bad argument (unknown enum value, NUL byte...)."""


class InvalidConfig(CocoonError, ValueError):
    """COCOON_E_INVALID_CONFIG: the container configuration was rejected."""


class AlreadyExited(CocoonError):
    """COCOON_E_ALREADY_EXITED: the process has already exited."""


class CgroupError(CocoonError):
    """COCOON_E_CGROUP: a cgroup limit was rejected (out of range, naming a CPU or device
    the host lacks, not expressible on the host's cgroup version) or a cgroup operation
    failed."""


class CgroupOSError(CgroupError, CocoonOSError):
    """COCOON_E_CGROUP with an OS error (errno is set)."""


class SELinuxError(CocoonError):
    """COCOON_E_SELINUX: an SELinux setting is malformed (a type, level, range or
    context), SELinux was required on a host without it, a relabel of a system directory
    was refused, or a label could not be allocated or applied."""


class ImageFileError(CocoonError):
    """COCOON_E_IMAGE_FILE: a file the image controls (its /etc/passwd or /etc/group,
    read to resolve a user name) is a FIFO, device or other non-regular file, or too
    large; the message names the file."""


class ImageFileOSError(ImageFileError, CocoonOSError):
    """COCOON_E_IMAGE_FILE with an OS error (errno is set): the file could not be read."""


def _enum(cls, v: int):
    try:
        return cls(v)
    except ValueError:
        return v


def _raise() -> None:
    code = lib.cocoon_last_error_code()
    errno = lib.cocoon_last_error_errno()
    stage = lib.cocoon_last_error_stage()
    msg = (lib.cocoon_last_error_message() or b"").decode("utf-8", "replace")
    if not msg:
        msg = (lib.cocoon_strerror(code) or b"").decode()
    if errno:
        oscls = {ErrorCode.CGROUP: CgroupOSError, ErrorCode.IMAGE_FILE: ImageFileOSError}.get(code, CocoonOSError)
        raise oscls(code, errno, stage, msg)
    cls = {ErrorCode.INVALID_ARGUMENT: InvalidArgument, ErrorCode.INVALID_CONFIG: InvalidConfig,
           ErrorCode.ALREADY_EXITED: AlreadyExited, ErrorCode.CGROUP: CgroupError,
           ErrorCode.SELINUX: SELinuxError, ErrorCode.IMAGE_FILE: ImageFileError}.get(code, CocoonError)
    raise cls(code, errno, stage, msg)


def _check(rc: int) -> None:
    if rc != 0:
        _raise()


def _wait_readable(fd: int) -> None:
    """Blocks until `fd` polls readable. Unlike a wait inside the C library, this runs
    Python's signal handlers: Ctrl-C raises KeyboardInterrupt at once (PEP 475)."""
    p = select.poll()
    p.register(fd, select.POLLIN)
    while not p.poll():
        pass


def _b(s: StrPath) -> bytes:
    return os.fsencode(s)


def _strv(items: Sequence[StrPath]):
    arr = (ctypes.c_char_p * max(len(items), 1))(*[_b(i) for i in items])
    return arr, len(items)


def version() -> str:
    """The library version at run time."""
    return lib.cocoon_version().decode()


def has_feature(name: str) -> bool:
    """Whether the running system has a feature: clone3, cgroup (a cgroup layout cocoon
    can use: v1, v2 or hybrid), cgroup2 (the host is cgroup v2 only, so v2-only limits
    such as memory_high work), selinux, overlay, userns, timens."""
    r = lib.cocoon_has_feature(name.encode())
    if r < 0:
        _raise()
    return r == 1

def sweep_stale(parent: Optional[StrPath] = None) -> int:
    """Removes the cgroups that callers killed before their teardown left behind (under
    `parent`, default "cocoon"): those with default ids whose owner process is gone and
    that hold no process. Returns how many directories went. The first spawn of every
    process does the same for its parent."""
    n = ctypes.c_size_t()
    _check(lib.cocoon_sweep_stale(None if parent is None else _b(parent), ctypes.byref(n)))
    return n.value

# --- configuration types ------------------------------------------------------------------


@dataclass(frozen=True)
class Bind:
    """A bind mount of host path `source` at `target` inside the container. With
    `relabel` (Relabel.SHARED or Relabel.PRIVATE) the source is relabelled for the
    container's SELinux label before it starts (needs `selinux=`; system directories such
    as /usr are refused with SELinuxError; a no-op on a host without SELinux)."""
    source: StrPath
    target: StrPath
    read_only: bool = False
    recursive: bool = True
    noexec: bool = False
    relabel: Optional[Relabel] = None


@dataclass(frozen=True)
class Proc:
    """A procfs of the container's PID namespace at `target` (nosuid, nodev, noexec).
    Only needed with standard_mounts=False."""
    target: StrPath = "/proc"
    read_only: bool = False


@dataclass(frozen=True)
class SELinux:
    """SELinux labels of a container (`selinux=SELinux(...)`; `selinux=True` for the
    defaults). Every field is optional: the process runs as the policy's lxc_contexts
    type (or container_t) with files of container_file_t, at a fresh unique MCS level.
    `level` ("s0:c1,c2") is reserved for this container alone, `shared_level` shared
    with the containers asking for the same (they exclude each other); `mount_label` is
    a full context for tmpfs/devpts mounts; `mcs_range` a (first, last) category pair
    fresh levels are drawn from; `state_dir` where reservations are recorded;
    `policy_root` the directory holding contexts/lxc_contexts. With require=False (the
    default) a host without SELinux runs the container unlabelled; with require=True
    spawning there raises SELinuxError. Malformed values raise SELinuxError at once."""
    process_type: Optional[str] = None
    file_type: Optional[str] = None
    user: Optional[str] = None
    role: Optional[str] = None
    level: Optional[str] = None
    shared_level: Optional[str] = None
    mount_label: Optional[str] = None
    require: bool = False
    mcs_range: Optional[tuple] = None
    state_dir: Optional[StrPath] = None
    policy_root: Optional[StrPath] = None


def _apply_selinux(h, selinux) -> None:
    if selinux is None or selinux is False:
        return
    _check(lib.cocoon_builder_enable_selinux(h))
    if selinux is True:
        return
    if not isinstance(selinux, SELinux):
        raise TypeError(f"selinux takes True or a cocoon.SELinux, not {type(selinux).__name__}")
    for fn, val in ((lib.cocoon_builder_set_selinux_user, selinux.user),
                    (lib.cocoon_builder_set_selinux_role, selinux.role),
                    (lib.cocoon_builder_set_selinux_process_type, selinux.process_type),
                    (lib.cocoon_builder_set_selinux_file_type, selinux.file_type),
                    (lib.cocoon_builder_set_selinux_level, selinux.level),
                    (lib.cocoon_builder_set_selinux_shared_level, selinux.shared_level),
                    (lib.cocoon_builder_set_selinux_mount_label, selinux.mount_label)):
        if val is not None:
            _check(fn(h, str(val).encode()))
    _check(lib.cocoon_builder_set_selinux_require(h, int(bool(selinux.require))))
    if selinux.mcs_range is not None:
        first, last = selinux.mcs_range
        _check(lib.cocoon_builder_set_selinux_mcs_range(h, _u64(first, 0xFFFFFFFF), _u64(last, 0xFFFFFFFF)))
    if selinux.state_dir is not None:
        _check(lib.cocoon_builder_set_selinux_state_dir(h, _b(selinux.state_dir)))
    if selinux.policy_root is not None:
        _check(lib.cocoon_builder_set_selinux_policy_root(h, _b(selinux.policy_root)))


@dataclass(frozen=True)
class Tmpfs:
    """A fresh tmpfs at `target` (size in bytes, None = kernel default; mode None = 0755)."""
    target: StrPath
    size: Optional[int] = None
    mode: Optional[int] = None
    read_only: bool = False
    noexec: bool = False


@dataclass(frozen=True)
class IoLimit:
    """Throttles a whole disk (`device`: a block device path such as "/dev/vda", or a
    (major, minor) pair) to `value` per second of `rate`."""
    device: Union[StrPath, tuple]
    rate: IoRate
    value: int


@dataclass(frozen=True)
class DeviceRule:
    """A device rule: allow or deny `access` to `kind` devices major:minor (DEVICE_ANY =
    any), with cgroup v1 semantics (on cgroup v2 enforced by an eBPF device program).
    Applied in order after the default device policy every container of a root caller
    gets (Docker's: null, zero, full, random, urandom, tty, console, ptmx, pts), so
    allowing one more device is one rule; allow DeviceKind.ALL turns the policy off."""
    allow: bool
    kind: DeviceKind = DeviceKind.ALL
    major: int = DEVICE_ANY
    minor: int = DEVICE_ANY
    access: DeviceAccess = DeviceAccess.ALL


@dataclass(frozen=True)
class CpuStats:
    """CPU time of every task of the container, in microseconds."""
    usage_us: int
    user_us: int
    system_us: int


@dataclass(frozen=True)
class MemoryStats:
    """Memory of the container in bytes; `oom_events` counts hits of the limit (v1:
    memory.failcnt), `oom_kills` processes killed by the OOM killer; `peak` is None
    where the kernel has no peak counter."""
    current: int
    peak: Optional[int]
    oom_events: int
    oom_kills: int


@dataclass(frozen=True)
class PidsStats:
    """Tasks in the container now."""
    current: int


@dataclass(frozen=True)
class IoStats:
    """Block I/O of the container, summed over devices."""
    read_bytes: int
    write_bytes: int
    read_ops: int
    write_ops: int


@dataclass(frozen=True)
class CgroupStats:
    """Resource usage of a container's cgroup (Container.stats()). A group is None when
    the host lacks its controller."""
    cpu: Optional[CpuStats]
    memory: Optional[MemoryStats]
    pids: Optional[PidsStats]
    io: Optional[IoStats]

    @classmethod
    def _from_c(cls, s: "_lib.Stats") -> "CgroupStats":
        v = s.valid
        return cls(
            cpu=CpuStats(s.cpu_usage_us, s.cpu_user_us, s.cpu_system_us) if v & _STATS_CPU else None,
            memory=MemoryStats(s.memory_current, s.memory_peak if v & _STATS_MEMORY_PEAK else None,
                               s.memory_oom_events, s.memory_oom_kills) if v & _STATS_MEMORY else None,
            pids=PidsStats(s.pids_current) if v & _STATS_PIDS else None,
            io=IoStats(s.io_read_bytes, s.io_write_bytes, s.io_read_ops, s.io_write_ops) if v & _STATS_IO else None,
        )


def _apply_cgroup(h, *, cgroup, cgroup_parent, memory_max, memory_high, memory_low, swap_max,
                  oom_kill_disable, pids_max, cpu_quota, cpu_burst, cpu_weight, cpu_shares, cpus,
                  mems, io_weight, io_limits, hugetlb_limits, device_rules) -> None:
    if cgroup:
        _check(lib.cocoon_builder_enable_cgroup(h))
    if cgroup_parent is not None:
        _check(lib.cocoon_builder_set_cgroup_parent(h, _b(cgroup_parent)))
    for fn, val in ((lib.cocoon_builder_set_memory_max, memory_max),
                    (lib.cocoon_builder_set_memory_high, memory_high),
                    (lib.cocoon_builder_set_memory_low, memory_low),
                    (lib.cocoon_builder_set_swap_max, swap_max),
                    (lib.cocoon_builder_set_pids_max, pids_max)):
        if val is not None:
            _check(fn(h, _u64(val)))
    if oom_kill_disable is not None:
        _check(lib.cocoon_builder_set_oom_kill_disable(h, int(bool(oom_kill_disable))))
    if cpu_quota is not None:
        quota_us, period_us = cpu_quota
        _check(lib.cocoon_builder_set_cpu_quota(h, _u64(quota_us), _u64(period_us)))
    if cpu_burst is not None:
        _check(lib.cocoon_builder_set_cpu_burst(h, _u64(cpu_burst)))
    if cpu_weight is not None:
        _check(lib.cocoon_builder_set_cpu_weight(h, _u64(cpu_weight)))
    if cpu_shares is not None:
        _check(lib.cocoon_builder_set_cpu_shares(h, _u64(cpu_shares)))
    if cpus is not None:
        _check(lib.cocoon_builder_set_cpuset_cpus(h, str(cpus).encode()))
    if mems is not None:
        _check(lib.cocoon_builder_set_cpuset_mems(h, str(mems).encode()))
    if io_weight is not None:
        _check(lib.cocoon_builder_set_io_weight(h, _u64(io_weight, 0xFFFFFFFF)))
    for lim in io_limits or ():
        if isinstance(lim.device, tuple):
            major, minor = lim.device
            _check(lib.cocoon_builder_add_io_limit_dev(h, major, minor, int(lim.rate), _u64(lim.value)))
        else:
            _check(lib.cocoon_builder_add_io_limit(h, _b(lim.device), int(lim.rate), _u64(lim.value)))
    for page, limit in (hugetlb_limits or {}).items():
        _check(lib.cocoon_builder_set_hugetlb_limit(h, _u64(page), _u64(limit)))
    for r in device_rules or ():
        _check(lib.cocoon_builder_add_device_rule(h, int(bool(r.allow)), int(r.kind), r.major, r.minor, int(r.access)))


def _u64(v: int, top: int = 2**64 - 1) -> int:
    """A non-negative integer that fits the C parameter (ctypes would wrap -1 silently)."""
    v = int(v)
    if not 0 <= v <= top:
        raise ValueError(f"{v} is outside 0..={top}")
    return v


class ExitStatus(NamedTuple):
    """How a process ended: `code` (-1 if killed) and `signal` (0 if it exited)."""
    code: int
    signal: int

    @property
    def success(self) -> bool:
        return self.code == 0 and self.signal == 0


class _Builder:
    """Owns a cocoon_builder; freed by close() or the finalizer."""

    def __init__(self, argv: Sequence[StrPath]) -> None:
        if not argv:
            raise ValueError("argv must name a program")
        h = _lib.BuilderP()
        _check(lib.cocoon_builder_new(_b(argv[0]), ctypes.byref(h)))
        self.h = h
        self._fin = weakref.finalize(self, lib.cocoon_builder_free, h)
        arr, n = _strv(list(argv[1:]))
        _check(lib.cocoon_builder_set_args(h, arr, n))

    def close(self) -> None:
        self._fin()


@dataclass(frozen=True)
class Seccomp:
    """A seccomp deny-list: the syscall numbers in `deny` (x86_64 numbers, as in
    <asm/unistd_64.h>) fail with `errno`; everything else is allowed. `Seccomp.default()`
    is cocoon's conservative deny-list (keyrings, unshare/setns, modules, kexec, BPF,
    perf, userfaultfd, ptrace, mounts, swap, reboot, clocks, ...). A deny-list applies on
    top of the default policy (the `default_seccomp` keyword), which it cannot loosen;
    where both refuse a syscall, the deny-list's errno is the one seen."""

    deny: Sequence[int] = ()
    errno: int = 1  # EPERM
    use_default: bool = False

    @staticmethod
    def default() -> "Seccomp":
        return Seccomp(use_default=True)


def _apply_seccomp(h, seccomp: Optional[Seccomp]) -> None:
    if seccomp is None:
        return
    if seccomp.use_default:
        _check(lib.cocoon_builder_set_seccomp_default_deny(h))
        return
    nrs = list(seccomp.deny)
    arr = (ctypes.c_int64 * max(len(nrs), 1))(*nrs)
    _check(lib.cocoon_builder_set_seccomp_deny(h, arr, len(nrs), seccomp.errno))


def _apply_process(b: _Builder, *, env, cwd, user, groups, capabilities, no_new_privs,
                   rlimits, umask, oom_score_adj, stdin, stdout, stderr, pass_fds=None,
                   seccomp=None, default_seccomp=True) -> None:
    h = b.h
    _apply_seccomp(h, seccomp)
    _check(lib.cocoon_builder_set_default_seccomp(h, int(bool(default_seccomp))))
    if env is not None:
        arr, n = _strv([_b(k) + b"=" + _b(v) for k, v in env.items()])
        _check(lib.cocoon_builder_set_env(h, arr, n))
    if cwd is not None:
        _check(lib.cocoon_builder_set_cwd(h, _b(cwd)))
    if isinstance(user, str):
        _check(lib.cocoon_builder_set_user_name(h, user.encode()))
    elif user is not None:
        uid, gid = user
        gs = list(groups or [])
        garr = (ctypes.c_uint32 * max(len(gs), 1))(*gs)
        _check(lib.cocoon_builder_set_user(h, uid, gid, garr, len(gs)))
    if capabilities is not None:
        _check(lib.cocoon_builder_set_capabilities(h, *capabilities))
    if no_new_privs is not None:
        _check(lib.cocoon_builder_set_no_new_privs(h, int(bool(no_new_privs))))
    for res, (soft, hard) in (rlimits or {}).items():
        _check(lib.cocoon_builder_set_rlimit(h, int(res), soft, hard))
    if umask is not None:
        _check(lib.cocoon_builder_set_umask(h, umask))
    if oom_score_adj is not None:
        _check(lib.cocoon_builder_set_oom_score_adj(h, oom_score_adj))
    for stream, spec in ((_STDIN, stdin), (_STDOUT, stdout), (_STDERR, stderr)):
        if spec is None or spec is INHERIT:
            continue
        if isinstance(spec, _StdioKind):
            _check(lib.cocoon_builder_set_stdio(h, stream, spec.kind, -1))
        else:
            fd = spec if isinstance(spec, int) else spec.fileno()
            _check(lib.cocoon_builder_set_stdio(h, stream, _K_FD, fd))
    if pass_fds:
        pairs = pass_fds.items() if isinstance(pass_fds, Mapping) else ((fd, fd) for fd in pass_fds)
        for target, fd in pairs:
            fd = fd if isinstance(fd, int) else fd.fileno()
            _check(lib.cocoon_builder_pass_fd(h, fd, int(target)))


def _take(take, h, stream: int, mode: str) -> Optional[IO[bytes]]:
    fd = ctypes.c_int(-1)
    rc = take(h, stream, ctypes.byref(fd))
    if rc == ErrorCode.NOT_AVAILABLE:
        return None
    _check(rc)
    return io.open(fd.value, mode, buffering=0 if mode == "wb" else -1)


def _status(code: ctypes.c_int, sig: ctypes.c_int) -> ExitStatus:
    return ExitStatus(code.value, sig.value)


def _close_streams(obj) -> None:
    for name in ("stdin", "stdout", "stderr"):
        f = getattr(obj, name, None)
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

# --- running ------------------------------------------------------------------------------


class Container:
    """A container: configured by the constructor, started by spawn() (or `with`).

    Leaving the `with` block (or close(), or garbage collection) kills every process of
    the container, reaps them and cleans up. Process options: env (dict), cwd, user
    ((uid, gid) or a name), groups, capabilities ((bounding, effective, permitted,
    inheritable, ambient) masks), no_new_privs, rlimits ({Rlimit: (soft, hard)}), umask,
    oom_score_adj, seccomp (Seccomp(deny=[...]) or Seccomp.default()), default_seccomp
    (True by default: the default seccomp policy — keyctl/add_key/request_key, setns, and
    clone/unshare with any CLONE_NEW* flag fail with EPERM, clone3 with ENOSYS; fork and
    threads work; False turns it off for programs that need those calls),
    stdin/stdout/stderr (INHERIT, DEVNULL, PIPE, an fd or a file),
    pass_fds (fds passed on under the same number, like subprocess, or {target: fd or
    file}; they are duplicated when the Container is built).

    Mounts: `mounts` takes Bind, Tmpfs and Proc. `join` ({Namespace.NET: "/run/netns/x"};
    NET, IPC or UTS) joins existing namespaces instead of creating them. `selinux` (True
    or SELinux(...)) labels the container; `Container.selinux_label` tells the label it
    got (None when unlabelled, e.g. on a host without SELinux).

    Cgroup options (any of them gives the container its own cgroup; cgroup=True gives
    one without limits): cgroup_parent, memory_max, memory_high, memory_low, swap_max
    (bytes), oom_kill_disable, pids_max, cpu_quota ((quota_us, period_us)), cpu_burst
    (us), cpu_weight, cpu_shares, cpus and mems (lists like "0-1"), io_weight,
    io_limits ([IoLimit]), hugetlb_limits ({page_size: limit}), device_rules
    ([DeviceRule]). A rejected value raises CgroupError before anything is created.
    """

    def __init__(
        self,
        argv: Sequence[StrPath],
        *,
        hostname: Optional[str] = None,
        domainname: Optional[str] = None,
        namespaces: Optional[Namespace] = None,
        id: Optional[str] = None,
        uid_map: Iterable[tuple] = (),
        gid_map: Iterable[tuple] = (),
        rootfs: Optional[StrPath] = None,
        layers: Optional[tuple] = None,
        read_only_root: bool = False,
        standard_mounts: bool = True,
        mounts: Sequence[Union[Bind, Tmpfs]] = (),
        masked_paths: Optional[Sequence[StrPath]] = None,
        readonly_paths: Optional[Sequence[StrPath]] = None,
        init: bool = False,
        time_offsets_ns: Optional[tuple] = None,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[StrPath] = None,
        user: Union[None, str, tuple] = None,
        groups: Optional[Sequence[int]] = None,
        capabilities: Optional[tuple] = None,
        no_new_privs: Optional[bool] = None,
        rlimits: Optional[Mapping[Rlimit, tuple]] = None,
        umask: Optional[int] = None,
        oom_score_adj: Optional[int] = None,
        seccomp: Optional[Seccomp] = None,
        default_seccomp: bool = True,
        stdin: StdioSpec = None,
        stdout: StdioSpec = None,
        stderr: StdioSpec = None,
        cgroup: bool = False,
        cgroup_parent: Optional[StrPath] = None,
        memory_max: Optional[int] = None,
        memory_high: Optional[int] = None,
        memory_low: Optional[int] = None,
        swap_max: Optional[int] = None,
        oom_kill_disable: Optional[bool] = None,
        pids_max: Optional[int] = None,
        cpu_quota: Optional[tuple] = None,
        cpu_burst: Optional[int] = None,
        cpu_weight: Optional[int] = None,
        cpu_shares: Optional[int] = None,
        cpus: Optional[str] = None,
        mems: Optional[str] = None,
        io_weight: Optional[int] = None,
        io_limits: Sequence[IoLimit] = (),
        hugetlb_limits: Optional[Mapping[int, int]] = None,
        device_rules: Sequence[DeviceRule] = (),
        join: Optional[Mapping[Namespace, StrPath]] = None,
        pass_fds: Union[None, Sequence[int], Mapping[int, Union[int, IO]]] = None,
        selinux: Union[None, bool, SELinux] = None,
    ) -> None:
        self._lock = threading.Lock()
        self._h: Optional[_lib.ContainerP] = None
        self._fin: Optional[weakref.finalize] = None
        self.stdin: Optional[IO[bytes]] = None
        self.stdout: Optional[IO[bytes]] = None
        self.stderr: Optional[IO[bytes]] = None
        self._builder = b = _Builder(argv)
        h = b.h
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
        if rootfs is not None:
            _check(lib.cocoon_builder_set_rootfs_dir(h, _b(rootfs)))
        if layers is not None:
            lower, upper, work = layers
            arr, n = _strv(list(lower))
            _check(lib.cocoon_builder_set_rootfs_layers(h, arr, n, _b(upper), _b(work)))
        _check(lib.cocoon_builder_set_read_only_root(h, int(bool(read_only_root))))
        _check(lib.cocoon_builder_set_standard_mounts(h, int(bool(standard_mounts))))
        for m in mounts:
            if isinstance(m, Proc):
                _check(lib.cocoon_builder_add_proc(h, _b(m.target), int(MountFlag.READONLY if m.read_only else 0)))
                continue
            flags = (MountFlag.READONLY if m.read_only else 0) | (MountFlag.NOEXEC if m.noexec else 0)
            if isinstance(m, Bind):
                if not m.recursive:
                    flags |= MountFlag.NONRECURSIVE
                if m.relabel is None:
                    _check(lib.cocoon_builder_add_bind(h, _b(m.source), _b(m.target), int(flags)))
                else:
                    _check(lib.cocoon_builder_add_bind_relabel(h, _b(m.source), _b(m.target), int(flags),
                                                               int(Relabel(m.relabel))))
            elif isinstance(m, Tmpfs):
                mode = 0xFFFFFFFF if m.mode is None else m.mode
                _check(lib.cocoon_builder_add_tmpfs(h, _b(m.target), m.size or 0, mode, int(flags)))
            else:
                raise TypeError(f"mounts take Bind, Tmpfs or Proc, not {type(m).__name__}")
        if masked_paths is not None:
            arr, n = _strv(list(masked_paths))
            _check(lib.cocoon_builder_set_masked_paths(h, arr, n))
        if readonly_paths is not None:
            arr, n = _strv(list(readonly_paths))
            _check(lib.cocoon_builder_set_readonly_paths(h, arr, n))
        _check(lib.cocoon_builder_set_init(h, int(bool(init))))
        for ns, path in (join or {}).items():
            _check(lib.cocoon_builder_join_namespace(h, int(ns), _b(path)))
        _apply_process(b, env=env, cwd=cwd, user=user, groups=groups, capabilities=capabilities,
                       no_new_privs=no_new_privs, rlimits=rlimits, umask=umask,
                       oom_score_adj=oom_score_adj, stdin=stdin, stdout=stdout, stderr=stderr,
                       pass_fds=pass_fds, seccomp=seccomp, default_seccomp=default_seccomp)
        _apply_selinux(h, selinux)
        _apply_cgroup(h, cgroup=cgroup, cgroup_parent=cgroup_parent, memory_max=memory_max,
                      memory_high=memory_high, memory_low=memory_low, swap_max=swap_max,
                      oom_kill_disable=oom_kill_disable, pids_max=pids_max, cpu_quota=cpu_quota,
                      cpu_burst=cpu_burst, cpu_weight=cpu_weight, cpu_shares=cpu_shares, cpus=cpus,
                      mems=mems, io_weight=io_weight, io_limits=io_limits,
                      hugetlb_limits=hugetlb_limits, device_rules=device_rules)

    # lifecycle
    def spawn(self) -> "Container":
        """Starts the container (once). Returns self."""
        with self._lock:
            if self._h is not None:
                raise RuntimeError("the container was already spawned")
            h = _lib.ContainerP()
            _check(lib.cocoon_container_spawn(self._builder.h, ctypes.byref(h)))
            self._h = h
            self._fin = weakref.finalize(self, lib.cocoon_container_free, h)
            self.stdin = _take(lib.cocoon_container_take_stdio, h, _STDIN, "wb")
            self.stdout = _take(lib.cocoon_container_take_stdio, h, _STDOUT, "rb")
            self.stderr = _take(lib.cocoon_container_take_stdio, h, _STDERR, "rb")
        return self

    def _handle(self) -> _lib.ContainerP:
        if self._h is None:
            raise RuntimeError("the container is not running (spawn() it first)")
        return self._h

    def __enter__(self) -> "Container":
        if self._h is None:
            self.spawn()
        return self

    def __exit__(self, *exc) -> None:
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
        r = lib.cocoon_container_id(self._handle())
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

    def wait(self) -> ExitStatus:
        """Waits for the first process to end. Interruptible: Ctrl-C raises
        KeyboardInterrupt at once (the container keeps running until close())."""
        _wait_readable(self.wait_fd())
        code, sig = ctypes.c_int(), ctypes.c_int()
        _check(lib.cocoon_container_wait(self._handle(), ctypes.byref(code), ctypes.byref(sig)))
        return _status(code, sig)

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

    def stats(self) -> CgroupStats:
        """CPU, memory, pids and I/O usage of the container's cgroup (needs a cgroup)."""
        st = _lib.Stats()
        st.size = ctypes.sizeof(_lib.Stats)
        _check(lib.cocoon_container_stats(self._handle(), ctypes.byref(st)))
        return CgroupStats._from_c(st)

    @property
    def cgroup_path(self) -> str:
        """The container's cgroup directory on the first hierarchy it uses."""
        p = ctypes.c_char_p()
        _check(lib.cocoon_container_cgroup_path(self._handle(), ctypes.byref(p)))
        return os.fsdecode(p.value or b"")

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
             cwd: Optional[StrPath] = None, user: Union[None, str, tuple] = None,
             groups: Optional[Sequence[int]] = None, capabilities: Optional[tuple] = None,
             no_new_privs: Optional[bool] = None, rlimits: Optional[Mapping[Rlimit, tuple]] = None,
             umask: Optional[int] = None, oom_score_adj: Optional[int] = None,
             seccomp: Optional[Seccomp] = None, default_seccomp: bool = True,
             stdin: StdioSpec = None, stdout: StdioSpec = None, stderr: StdioSpec = None,
             pass_fds: Union[None, Sequence[int], Mapping[int, Union[int, IO]]] = None) -> "ExecProcess":
        """Runs another process inside the running container (joins its namespaces); it
        gets the default seccomp policy unless `default_seccomp=False`."""
        b = _Builder(argv)
        try:
            _apply_process(b, env=env, cwd=cwd, user=user, groups=groups, capabilities=capabilities,
                           no_new_privs=no_new_privs, rlimits=rlimits, umask=umask,
                           oom_score_adj=oom_score_adj, stdin=stdin, stdout=stdout, stderr=stderr,
                           pass_fds=pass_fds, seccomp=seccomp, default_seccomp=default_seccomp)
            h = _lib.ExecP()
            _check(lib.cocoon_container_exec(self._handle(), b.h, ctypes.byref(h)))
        finally:
            b.close()
        return ExecProcess(h)


class ExecProcess:
    """A process exec'd into a container; `with`/close() kills (if running) and reaps it."""

    def __init__(self, h: _lib.ExecP) -> None:
        self._h: Optional[_lib.ExecP] = h
        self._fin = weakref.finalize(self, lib.cocoon_exec_process_free, h)
        self.stdin = _take(lib.cocoon_exec_process_take_stdio, h, _STDIN, "wb")
        self.stdout = _take(lib.cocoon_exec_process_take_stdio, h, _STDOUT, "rb")
        self.stderr = _take(lib.cocoon_exec_process_take_stdio, h, _STDERR, "rb")

    def _handle(self) -> _lib.ExecP:
        if self._h is None:
            raise RuntimeError("the process handle is closed")
        return self._h

    @property
    def pid(self) -> int:
        """Host pid."""
        v = ctypes.c_int()
        _check(lib.cocoon_exec_process_pid(self._handle(), ctypes.byref(v)))
        return v.value

    def wait_fd(self) -> int:
        """An fd owned by the process handle that polls readable once it has exited
        (as Container.wait_fd)."""
        fd = ctypes.c_int()
        _check(lib.cocoon_exec_process_wait_fd(self._handle(), ctypes.byref(fd)))
        return fd.value

    def wait(self) -> ExitStatus:
        """Waits for it to end (interruptible: Ctrl-C raises KeyboardInterrupt)."""
        _wait_readable(self.wait_fd())
        code, sig = ctypes.c_int(), ctypes.c_int()
        _check(lib.cocoon_exec_process_wait(self._handle(), ctypes.byref(code), ctypes.byref(sig)))
        return _status(code, sig)

    def poll(self) -> Optional[ExitStatus]:
        """The exit status if it has ended, else None."""
        ex, code, sig = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        _check(lib.cocoon_exec_process_try_wait(self._handle(), ctypes.byref(ex), ctypes.byref(code), ctypes.byref(sig)))
        return _status(code, sig) if ex.value else None

    def kill(self, signal: int = 9) -> None:
        """Sends it a signal (default SIGKILL)."""
        _check(lib.cocoon_exec_process_kill(self._handle(), int(signal)))

    def close(self) -> None:
        """Kills it if still running, reaps it, frees the handle."""
        _close_streams(self)
        self._fin()
        self._h = None

    def __enter__(self) -> "ExecProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
