"""Resource usage of a container's cgroup (Container.stats())."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import _lib

__all__ = ["CgroupStats", "CpuStats", "MemoryStats", "PidsStats", "IoStats"]

# struct cocoon_stats.valid bits
_STATS_CPU, _STATS_MEMORY, _STATS_MEMORY_PEAK, _STATS_PIDS, _STATS_IO = 1, 2, 4, 8, 16


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
