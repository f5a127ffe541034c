"""cocoon: Linux containers built in-process, from Python (ctypes over libcocoon.so.0).

    import cocoon
    with cocoon.Container(["sh", "-c", "hostname"], hostname="box",
                          cgroup=cocoon.Cgroup(memory_max=64 << 20, pids_max=32),
                          stdout=cocoon.PIPE) as c:
        print(c.stdout.read())          # b"box\\n"
        print(c.wait())                 # ExitStatus(code=0, signal=0)

Settings are grouped as in the Rust API: Container takes the container's own settings
and the common process ones (argv, env, cwd, user, stdio, hostname, read_only_root,
memory_max, pids_max), and objects for the rest: process=Process(...),
cgroup=Cgroup(...), seccomp=Seccomp(...), selinux=SELinux(...), rootfs=Layers(...),
mounts=[Bind(...), Tmpfs(...), Proc(...)]. See help(cocoon.Container).

`pip install ./bindings/python` builds libcocoon with cargo and ships it inside this
package. The library is found through the environment variable COCOON_LIBRARY (an
override), then next to this package, then by its SONAME libcocoon.so.0.

Modules: constants (the header's numbers), errors, system (version, has_feature,
sweep_stale), stdio, process, seccomp, mounts, cgroup, stats, selinux, container.
"""

from __future__ import annotations

from . import _lib
from ._lib import lib
from ._util import StrPath
from .cgroup import Cgroup, DeviceRule, IoLimit
from .constants import (DEVICE_ANY, RLIM_INFINITY, DeviceAccess, DeviceKind, ErrorCode, IoRate,
                        MountFlag, Namespace, Relabel, Rlimit, Stage)
from .container import Container, ExecProcess, ExitStatus
from .errors import (AlreadyExited, CgroupError, CgroupOSError, CocoonError, CocoonOSError,
                     ImageFileError, ImageFileOSError, InvalidArgument, InvalidConfig, SELinuxError)
from .mounts import Bind, Layers, Proc, Tmpfs
from .process import Capabilities, Process, User
from .seccomp import Seccomp
from .selinux import SELinux
from .stats import CgroupStats, CpuStats, IoStats, MemoryStats, PidsStats
from .stdio import DEVNULL, INHERIT, PIPE, StdioSpec
from .system import has_feature, sweep_stale, version

__all__ = [
    # running
    "Container", "ExecProcess", "ExitStatus",
    # configuration
    "Process", "User", "Capabilities", "Seccomp", "Cgroup", "IoLimit", "DeviceRule", "SELinux",
    "Bind", "Tmpfs", "Proc", "Layers", "INHERIT", "DEVNULL", "PIPE",
    # constants
    "ErrorCode", "Stage", "Namespace", "MountFlag", "Relabel", "Rlimit", "RLIM_INFINITY", "IoRate",
    "DeviceKind", "DeviceAccess", "DEVICE_ANY",
    # results
    "CgroupStats", "CpuStats", "MemoryStats", "PidsStats", "IoStats",
    # errors
    "CocoonError", "CocoonOSError", "InvalidArgument", "InvalidConfig", "AlreadyExited",
    "CgroupError", "CgroupOSError", "SELinuxError", "ImageFileError", "ImageFileOSError",
    # the library and the host
    "version", "has_feature", "sweep_stale",
]
