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

    r = cocoon.run(["sh", "-c", "cat; echo done >&2"], input=b"hi", capture_output=True,
                   timeout=2.0, memory_max=64 << 20, pids_max=32)
    print(r.stdout, r.stderr, r.returncode, r.ended_by)   # b'hi' b'done\n' 0 EndedBy.EXITED

subprocess's names work the same way: run(), CompletedProcess, Container.wait(timeout=),
communicate(), TimeoutExpired, CalledProcessError; `await container.wait_async()` in
asyncio (see docs/FROM_SUBPROCESS.md).

Modules: constants (the header's numbers), errors, system (version, has_feature,
sweep_stale), stdio, process, seccomp, mounts, cgroup, stats, selinux, landlock, image, container, warm
(WarmContainer, Pool), run (run, CompletedProcess), logs (LogReader, LogLine), aio (asyncio).
"""

from __future__ import annotations

from . import _lib
from ._lib import lib
from ._util import StrPath
from .cgroup import Cgroup, DeviceRule, IoLimit
from .aio import Streams
from .constants import (DEVICE_ANY, RLIM_INFINITY, DeviceAccess, DeviceKind, EndedBy, ErrorCode,
                        IoRate, LandlockAccess, MountFlag, Namespace, Relabel, Rlimit, Stage)
from .container import Container, ExecProcess, ExitStatus
from .created import start_created
from .events import Event, EventKind, EventSource, HealthCheck, HealthStatus
from .running import RunningContainer
from .errors import (AddressInUse, PortInUse, NotCreated, AlreadyExited, CalledProcessError, CgroupError, CgroupOSError, CocoonError,
                     CocoonOSError, ImageFileError, ImageFileOSError, InvalidArgument, InvalidConfig,
                     ImageDigestError, ImageError, ImageFormatError, ImageNotFound, ImageUnsafeError,
                     SELinuxError, TimeoutExpired, UnsupportedError)
from .mounts import Bind, Layers, Proc, Tmpfs
from .net import Bridge, NetworkInfo, net_sweep_stale
from .process import Capabilities, LogFile, Process, User
from .run import CompletedProcess, run
from .seccomp import Seccomp
from .selinux import SELinux, selinux_policy
from .landlock import Landlock, LandlockStatus
from .logs import LogLine, LogReader
from .supervisor import SeccompRequest, Supervisor
from .subids import SubordinateIds
from .image import ExportFormat, Image, ImageFormat, ImageInfo, ImageStore
from .stats import CgroupStats, CpuStats, InterfaceStats, IoStats, MemoryStats, PidsStats, cpu_percent, prometheus
from .stdio import DEVNULL, INHERIT, PIPE, StdioSpec
from .system import has_feature, sweep_stale, version
from .warm import Pool, PoolStats, WarmContainer

__all__ = [
    # running
    "Container", "ExecProcess", "ExitStatus", "run", "CompletedProcess", "EndedBy", "Streams",
    "EventSource", "Event", "EventKind", "HealthCheck", "HealthStatus",
    "WarmContainer", "Pool", "PoolStats",
    # logs
    "LogReader", "LogLine",
    # the seccomp supervisor
    "Supervisor", "SeccompRequest",
    # configuration
    "Process", "LogFile", "User", "SubordinateIds", "Capabilities", "Seccomp", "Cgroup", "IoLimit", "DeviceRule", "SELinux", "selinux_policy",
    "Landlock", "LandlockStatus", "Bridge", "NetworkInfo", "Bind", "Tmpfs", "Proc", "Layers", "INHERIT", "DEVNULL", "PIPE",
    # images
    "ImageStore", "Image", "ImageInfo", "ImageFormat", "ExportFormat",
    # constants
    "ErrorCode", "Stage", "Namespace", "MountFlag", "Relabel", "Rlimit", "RLIM_INFINITY", "IoRate",
    "DeviceKind", "DeviceAccess", "DEVICE_ANY", "LandlockAccess",
    # results
    "CgroupStats", "CpuStats", "MemoryStats", "PidsStats", "IoStats", "InterfaceStats", "cpu_percent", "prometheus",
    # errors
    "CocoonError", "CocoonOSError", "InvalidArgument", "InvalidConfig", "AlreadyExited",
    "CgroupError", "CgroupOSError", "SELinuxError", "ImageFileError", "ImageFileOSError",
    "TimeoutExpired", "CalledProcessError", "AddressInUse", "PortInUse", "NotCreated", "start_created", "RunningContainer", "UnsupportedError",
    "ImageError", "ImageDigestError", "ImageUnsafeError", "ImageFormatError", "ImageNotFound",
    # the library and the host
    "version", "has_feature", "sweep_stale", "net_sweep_stale",
]
