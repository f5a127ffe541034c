"""A container's own cgroup and its limits (Rust: `CgroupConfig`,
`ContainerBuilder::cgroup`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from ._lib import lib
from ._util import StrPath, _b, _u64
from .constants import DEVICE_ANY, DeviceAccess, DeviceKind, IoRate
from .errors import _check

__all__ = ["Cgroup", "IoLimit", "DeviceRule"]


@dataclass(frozen=True)
class IoLimit:
    """Throttles a whole disk (`device`: a block device path such as "/dev/vda", or a
    (major, minor) pair) to `value` per second of `rate`."""
    device: Union[StrPath, Tuple[int, int]]
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
class Cgroup:
    """The container's own cgroup and its limits (`cgroup=Cgroup(...)`; `cgroup=True` is
    `Cgroup()`: a cgroup without limits, for stats() and pause()/resume()).

    None (the default of every field) leaves a limit unset.

    parent: the cgroup the container's cgroup is created under, relative to each
        hierarchy's root (default "cocoon"); the container's cgroup is named after its id.
    memory_max: hard memory limit in bytes.
    memory_high: throttling threshold in bytes (cgroup v2 only: has_feature("cgroup2")).
    memory_low: memory reservation in bytes.
    swap_max: swap limit in bytes (on cgroup v1 it needs memory_max too).
    oom_kill_disable: True pauses tasks at the memory limit instead of OOM-killing them
        (cgroup v1 only).
    pids_max: at most this many tasks (fork fails beyond).
    cpu_quota: (quota_us, period_us): at most quota_us of CPU time every period_us.
    cpu_burst: microseconds of unused quota that may be spent in a burst (needs a quota).
    cpu_weight: relative CPU share, 1 to 10000 (cgroup v2 cpu.weight; converted on v1).
    cpu_shares: relative CPU share, 2 to 262144 (cgroup v1 cpu.shares; converted on v2).
    cpus, mems: the CPUs and memory nodes the container may use, lists like "0-1,3".
    io_weight: relative I/O share, 1 to 10000 (1 to 1000 where only BFQ's weight exists).
    io_limits: [IoLimit]: per-disk bandwidth and IOPS caps.
    hugetlb_limits: {page_size: limit}, both in bytes.
    devices: [DeviceRule], applied in order after the default device policy.

    Every value is checked against the host when the Container is built: a rejected one
    raises CgroupError (CgroupOSError when the OS said why) before anything is created.
    """

    parent: Optional[StrPath] = None
    memory_max: Optional[int] = None
    memory_high: Optional[int] = None
    memory_low: Optional[int] = None
    swap_max: Optional[int] = None
    oom_kill_disable: Optional[bool] = None
    pids_max: Optional[int] = None
    cpu_quota: Optional[Tuple[int, int]] = None
    cpu_burst: Optional[int] = None
    cpu_weight: Optional[int] = None
    cpu_shares: Optional[int] = None
    cpus: Optional[str] = None
    mems: Optional[str] = None
    io_weight: Optional[int] = None
    io_limits: Sequence[IoLimit] = ()
    hugetlb_limits: Optional[Mapping[int, int]] = None
    devices: Sequence[DeviceRule] = ()


def _apply_cgroup(h: Any, cg: Optional[Cgroup]) -> None:
    if cg is None:
        return
    if not isinstance(cg, Cgroup):
        raise TypeError(f"cgroup takes True or a cocoon.Cgroup, not {type(cg).__name__}")
    _check(lib.cocoon_builder_enable_cgroup(h))
    if cg.parent is not None:
        _check(lib.cocoon_builder_set_cgroup_parent(h, _b(cg.parent)))
    for fn, val in ((lib.cocoon_builder_set_memory_max, cg.memory_max),
                    (lib.cocoon_builder_set_memory_high, cg.memory_high),
                    (lib.cocoon_builder_set_memory_low, cg.memory_low),
                    (lib.cocoon_builder_set_swap_max, cg.swap_max),
                    (lib.cocoon_builder_set_pids_max, cg.pids_max)):
        if val is not None:
            _check(fn(h, _u64(val)))
    if cg.oom_kill_disable is not None:
        _check(lib.cocoon_builder_set_oom_kill_disable(h, int(bool(cg.oom_kill_disable))))
    if cg.cpu_quota is not None:
        quota_us, period_us = cg.cpu_quota
        _check(lib.cocoon_builder_set_cpu_quota(h, _u64(quota_us), _u64(period_us)))
    for fn, val in ((lib.cocoon_builder_set_cpu_burst, cg.cpu_burst),
                    (lib.cocoon_builder_set_cpu_weight, cg.cpu_weight),
                    (lib.cocoon_builder_set_cpu_shares, cg.cpu_shares)):
        if val is not None:
            _check(fn(h, _u64(val)))
    if cg.cpus is not None:
        _check(lib.cocoon_builder_set_cpuset_cpus(h, str(cg.cpus).encode()))
    if cg.mems is not None:
        _check(lib.cocoon_builder_set_cpuset_mems(h, str(cg.mems).encode()))
    if cg.io_weight is not None:
        _check(lib.cocoon_builder_set_io_weight(h, _u64(cg.io_weight, 0xFFFFFFFF)))
    for lim in cg.io_limits or ():
        if isinstance(lim.device, tuple):
            major, minor = lim.device
            _check(lib.cocoon_builder_add_io_limit_dev(h, major, minor, int(lim.rate), _u64(lim.value)))
        else:
            _check(lib.cocoon_builder_add_io_limit(h, _b(lim.device), int(lim.rate), _u64(lim.value)))
    for page, limit in (cg.hugetlb_limits or {}).items():
        _check(lib.cocoon_builder_set_hugetlb_limit(h, _u64(page), _u64(limit)))
    for r in cg.devices or ():
        _check(lib.cocoon_builder_add_device_rule(h, int(bool(r.allow)), int(r.kind), r.major, r.minor,
                                                  int(r.access)))
