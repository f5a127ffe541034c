"""Resource usage of a container's cgroup (Container.stats())."""

from __future__ import annotations

from dataclasses import dataclass
import ctypes
from typing import Optional

from . import _lib

__all__ = ["CgroupStats", "CpuStats", "MemoryStats", "PidsStats", "IoStats", "InterfaceStats", "cpu_percent"]

# struct cocoon_stats.valid bits
_STATS_CPU, _STATS_MEMORY, _STATS_MEMORY_PEAK, _STATS_PIDS, _STATS_IO, _STATS_MEMORY_LIMIT = 1, 2, 4, 8, 16, 32


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
    where the kernel has no peak counter; `limit` is None when unlimited."""
    current: int
    peak: Optional[int]
    oom_events: int
    oom_kills: int
    limit: Optional[int] = None


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
                               s.memory_oom_events, s.memory_oom_kills,
                               s.memory_limit if v & _STATS_MEMORY_LIMIT else None) if v & _STATS_MEMORY else None,
            pids=PidsStats(s.pids_current) if v & _STATS_PIDS else None,
            io=IoStats(s.io_read_bytes, s.io_write_bytes, s.io_read_ops, s.io_write_ops) if v & _STATS_IO else None,
        )


@dataclass(frozen=True)
class InterfaceStats:
    """The counters of one of a container's network interfaces (Container.net_stats())."""
    name: str
    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_dropped: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_dropped: int

    @classmethod
    def _from_c(cls, i: "_lib.InterfaceStatsC") -> "InterfaceStats":
        return cls(i.name.decode(errors="replace"), i.rx_bytes, i.rx_packets, i.rx_errors, i.rx_dropped,
                   i.tx_bytes, i.tx_packets, i.tx_errors, i.tx_dropped)


def cpu_percent(before: CpuStats, after: CpuStats, seconds: float) -> float:
    """CPU use between two samples taken `seconds` apart, in percent of one CPU (200 is two
    CPUs busy, as podman stats shows it); 0 for no time or a counter that went back."""
    if seconds <= 0 or after.usage_us < before.usage_us:
        return 0.0
    return (after.usage_us - before.usage_us) / 1e6 / seconds * 100.0


def prometheus(containers: "list") -> str:
    """The Prometheus text format (version 0.0.4) of `containers`' cgroup figures and
    network counters, as monitoring stacks scrape it."""
    hs = [c._handle() for c in containers]
    arr = (_lib.ContainerP * max(len(hs), 1))(*hs)
    from .errors import _check
    need = ctypes.c_size_t(0)
    _check(_lib.lib.cocoon_stats_prometheus(arr, len(hs), None, 0, ctypes.byref(need)))
    buf = ctypes.create_string_buffer(need.value)
    _check(_lib.lib.cocoon_stats_prometheus(arr, len(hs), buf, len(buf), ctypes.byref(need)))
    return buf.value.decode()
