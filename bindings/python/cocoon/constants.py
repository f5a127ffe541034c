"""The numbers of include/cocoon.h as Python enums: error codes, setup stages, namespace,
mount, rlimit, I/O and device constants (tests/test_constants.py checks them against the
header)."""

from __future__ import annotations

import enum

__all__ = [
    "ErrorCode", "Stage", "Namespace", "MountFlag", "Relabel", "Rlimit", "RLIM_INFINITY",
    "IoRate", "DeviceKind", "DeviceAccess", "DEVICE_ANY", "EndedBy", "LandlockAccess",
]


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
    ADDRESS_IN_USE = -11
    UNSUPPORTED = -12
    IMAGE_DIGEST = -13
    IMAGE_UNSAFE = -14
    IMAGE_FORMAT = -15
    IMAGE_NOT_FOUND = -16
    PORT_IN_USE = -17
    NOT_CREATED = -18


Stage = enum.IntEnum("Stage", [
    ("NONE", 0), ("SYNC", 1), ("USER_NAMESPACE", 2), ("TIME_NAMESPACE", 3), ("HOSTNAME", 4),
    ("DOMAINNAME", 5), ("MOUNT_PROPAGATION", 6), ("ROOTFS", 7), ("MOUNT_TARGET", 8), ("MOUNT", 9),
    ("CREATE_FILE", 10), ("PIVOT_ROOT", 11), ("MASK_PATH", 12), ("READONLY_PATH", 13),
    ("READONLY_ROOT", 14), ("LOOPBACK", 15), ("RLIMIT", 16), ("GROUPS", 17), ("SETGID", 18),
    ("SETUID", 19), ("CAP_BOUNDING", 20), ("CAPABILITIES", 21), ("AMBIENT_CAPABILITIES", 22),
    ("NO_NEW_PRIVS", 23), ("CWD", 24), ("STDIO", 25), ("CLOSE_FDS", 26), ("SELINUX_LABEL", 27),
    ("SECCOMP", 28), ("EXEC", 29), ("INIT", 30), ("JOIN_NAMESPACES", 31), ("DUMPABLE", 32),
    ("DEVICE", 33), ("SESSION", 34), ("KEYRING_LABEL", 35),
    ("CGROUP_NAMESPACE", 36), ("NETWORK", 37), ("LANDLOCK", 38),
    ("SYSCTL", 39),
], module=__name__)
Stage.__doc__ = "COCOON_STAGE_*: the container setup step that failed."


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


class LandlockAccess(enum.IntFlag):
    """COCOON_LANDLOCK_* rights: FS_* for Landlock(allow=[(path, rights)]), BIND_TCP and
    CONNECT_TCP for ports (the kernel's LANDLOCK_ACCESS_* bits)."""
    FS_EXECUTE = 1 << 0
    FS_WRITE_FILE = 1 << 1
    FS_READ_FILE = 1 << 2
    FS_READ_DIR = 1 << 3
    FS_REMOVE_DIR = 1 << 4
    FS_REMOVE_FILE = 1 << 5
    FS_MAKE_CHAR = 1 << 6
    FS_MAKE_DIR = 1 << 7
    FS_MAKE_REG = 1 << 8
    FS_MAKE_SOCK = 1 << 9
    FS_MAKE_FIFO = 1 << 10
    FS_MAKE_BLOCK = 1 << 11
    FS_MAKE_SYM = 1 << 12
    FS_REFER = 1 << 13
    FS_TRUNCATE = 1 << 14
    FS_IOCTL_DEV = 1 << 15
    READ = 0xC
    READ_WRITE = 0xFFFE
    BIND_TCP = 1 << 0
    CONNECT_TCP = 1 << 1


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
"""An rlimit value meaning "no limit"."""


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


class EndedBy(enum.IntEnum):
    """COCOON_ENDED_*: what ended a run (CompletedProcess.ended_by, Container.ended_by)."""
    EXITED = 0
    """The program exited by itself."""
    SIGNALED = 1
    """A signal killed it (not one of the limits below)."""
    TIMEOUT = 2
    """The time limit passed: cocoon killed the container."""
    OOM_KILL = 3
    """The OOM killer killed a process of the container's cgroup (its memory limit)."""
    PIDS_LIMIT = 4
    """The cgroup's pids limit refused a fork at least once."""

    def __str__(self) -> str:  # an IntEnum prints as its number from Python 3.11 on
        return f"EndedBy.{self.name}"
