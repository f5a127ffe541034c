"""Loading libcocoon and declaring every C function (argtypes and restype)."""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, c_char_p, c_int, c_int64, c_size_t, c_uint32, c_uint64
from typing import TYPE_CHECKING, Any, Optional

SONAME = "libcocoon.so.0"


class _Builder(ctypes.Structure):
    """Opaque cocoon_builder."""


class _Container(ctypes.Structure):
    """Opaque cocoon_container."""


class _Exec(ctypes.Structure):
    """Opaque cocoon_exec_process."""


class _Running(ctypes.Structure):
    """Opaque cocoon_running."""


class _Process(ctypes.Structure):
    """Opaque cocoon_process."""


class _Output(ctypes.Structure):
    """Opaque cocoon_output."""


class _ImageStore(ctypes.Structure):
    """Opaque cocoon_image_store."""


class _ImageList(ctypes.Structure):
    """Opaque cocoon_image_list."""


class _Events(ctypes.Structure):
    """Opaque cocoon_events."""


class _LogReader(ctypes.Structure):
    """Opaque cocoon_log_reader."""


class _Warm(ctypes.Structure):
    """Opaque cocoon_warm."""


class _Pool(ctypes.Structure):
    """Opaque cocoon_pool."""


EVENT_ID_MAX = 65


class Event(ctypes.Structure):
    """struct cocoon_event (set `size` to ctypes.sizeof(Event) before the call)."""
    _fields_ = [
        ("size", c_uint32),
        ("kind", c_uint32),
        ("tag", c_uint64),
        ("exit_code", ctypes.c_int32),
        ("signal", ctypes.c_int32),
        ("count", c_uint64),
        ("health", c_uint32),
        ("id", ctypes.c_char * EVENT_ID_MAX),
    ]


class Stats(ctypes.Structure):
    """struct cocoon_stats (set `size` to ctypes.sizeof(Stats) before the call)."""
    _fields_ = [
        ("size", c_uint32),
        ("valid", c_uint32),
        ("cpu_usage_us", c_uint64),
        ("cpu_user_us", c_uint64),
        ("cpu_system_us", c_uint64),
        ("memory_current", c_uint64),
        ("memory_peak", c_uint64),
        ("memory_oom_events", c_uint64),
        ("memory_oom_kills", c_uint64),
        ("pids_current", c_uint64),
        ("io_read_bytes", c_uint64),
        ("io_write_bytes", c_uint64),
        ("io_read_ops", c_uint64),
        ("io_write_ops", c_uint64),
        ("memory_limit", c_uint64),
    ]


class LogLineC(ctypes.Structure):
    """struct cocoon_log_line (set `size` to ctypes.sizeof(LogLineC) before the call; `text`
    is borrowed from the reader until its next call)."""
    _fields_ = [
        ("size", c_uint32),
        ("stream", ctypes.c_uint8),
        ("partial", ctypes.c_uint8),
        ("reserved", ctypes.c_uint8 * 2),
        ("secs", c_int64),
        ("nanos", c_uint32),
        ("text", ctypes.c_void_p),
        ("len", c_size_t),
    ]


class SeccompRequestC(ctypes.Structure):
    """struct cocoon_seccomp_request (set `size` to ctypes.sizeof(SeccompRequestC))."""
    _fields_ = [
        ("size", c_uint32),
        ("pid", c_uint32),
        ("id", c_uint64),
        ("syscall", c_int64),
        ("arch", c_uint32),
        ("reserved", c_uint32),
        ("instruction_pointer", c_uint64),
        ("args", c_uint64 * 6),
    ]


class PoolStatsC(ctypes.Structure):
    """struct cocoon_pool_counters, filled by cocoon_pool_stats (set `size` to
    ctypes.sizeof(PoolStatsC) before the call)."""
    _fields_ = [
        ("size", c_uint32),
        ("reserved", c_uint32),
        ("ready", c_uint64),
        ("in_flight", c_uint64),
        ("prepared", c_uint64),
        ("started", c_uint64),
        ("missed", c_uint64),
        ("recycled", c_uint64),
        ("failed", c_uint64),
    ]


IFNAME_MAX = 16


class InterfaceStatsC(ctypes.Structure):
    """struct cocoon_interface_stats (set the first element's `size`)."""
    _fields_ = [
        ("size", c_uint32),
        ("name", ctypes.c_char * IFNAME_MAX),
        ("rx_bytes", c_uint64),
        ("rx_packets", c_uint64),
        ("rx_errors", c_uint64),
        ("rx_dropped", c_uint64),
        ("tx_bytes", c_uint64),
        ("tx_packets", c_uint64),
        ("tx_errors", c_uint64),
        ("tx_dropped", c_uint64),
    ]


if TYPE_CHECKING:  # the handle pointer types, as type checkers can name them
    BuilderP = ctypes._Pointer[_Builder]
    ContainerP = ctypes._Pointer[_Container]
    ExecP = ctypes._Pointer[_Exec]
    RunningP = ctypes._Pointer[_Running]
    ProcessP = ctypes._Pointer[_Process]
    OutputP = ctypes._Pointer[_Output]
    ImageStoreP = ctypes._Pointer[_ImageStore]
    ImageListP = ctypes._Pointer[_ImageList]
    EventsP = ctypes._Pointer[_Events]
    LogReaderP = ctypes._Pointer[_LogReader]
    WarmP = ctypes._Pointer[_Warm]
    PoolP = ctypes._Pointer[_Pool]
else:
    BuilderP = POINTER(_Builder)
    ContainerP = POINTER(_Container)
    ExecP = POINTER(_Exec)
    RunningP = POINTER(_Running)
    ProcessP = POINTER(_Process)
    OutputP = POINTER(_Output)
    ImageStoreP = POINTER(_ImageStore)
    ImageListP = POINTER(_ImageList)
    EventsP = POINTER(_Events)
    LogReaderP = POINTER(_LogReader)
    WarmP = POINTER(_Warm)
    PoolP = POINTER(_Pool)
c_char_pp = POINTER(c_char_p)
c_int_p = POINTER(c_int)


def _find() -> str:
    """COCOON_LIBRARY, then a library next to the package, then the SONAME."""
    env = os.environ.get("COCOON_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for name in (SONAME, "libcocoon.so"):
        p = os.path.join(here, name)
        if os.path.exists(p):
            return p
    return SONAME


_SIGNATURES = {
    # errors, version, features
    "cocoon_last_error_code": ([], c_int),
    "cocoon_last_error_errno": ([], c_int),
    "cocoon_last_error_stage": ([], c_int),
    "cocoon_last_error_message": ([], c_char_p),
    "cocoon_strerror": ([c_int], c_char_p),
    "cocoon_stage_name": ([c_int], c_char_p),
    "cocoon_version": ([], c_char_p),
    "cocoon_has_feature": ([c_char_p], c_int),
    "cocoon_sweep_stale": ([c_char_p, POINTER(c_size_t)], c_int),
    "cocoon_net_sweep_stale": ([c_char_p, POINTER(c_size_t)], c_int),
    "cocoon_builder_set_network_none": ([BuilderP], c_int),
    "cocoon_builder_set_network_bridge": ([BuilderP, c_char_p, c_char_p, c_char_p], c_int),
    "cocoon_builder_set_network_mtu": ([BuilderP, c_uint32], c_int),
    "cocoon_builder_set_network_gateway": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_network_mac": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_network_state_dir": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_network_nat": ([BuilderP, c_int], c_int),
    "cocoon_builder_add_published_port": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_network_firewall_default": ([BuilderP, c_int, c_int], c_int),
    "cocoon_builder_add_firewall_rule": ([BuilderP, c_int, c_char_p], c_int),
    "cocoon_builder_set_network_rate": ([BuilderP, c_int, c_char_p, c_uint32], c_int),
    # builder
    "cocoon_builder_new": ([c_char_p, POINTER(BuilderP)], c_int),
    "cocoon_builder_free": ([BuilderP], None),
    "cocoon_builder_validate": ([BuilderP], c_int),
    "cocoon_builder_set_program": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_program_len": ([BuilderP, c_char_p, c_size_t], c_int),
    "cocoon_builder_set_args": ([BuilderP, c_char_pp, c_size_t], c_int),
    "cocoon_builder_set_env": ([BuilderP, c_char_pp, c_size_t], c_int),
    "cocoon_builder_set_cwd": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_user": ([BuilderP, c_uint32, c_uint32, POINTER(c_uint32), c_size_t], c_int),
    "cocoon_builder_set_user_name": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_id": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_namespaces": ([BuilderP, c_uint32], c_int),
    "cocoon_builder_add_uid_range": ([BuilderP, c_uint32, c_uint32, c_uint32], c_int),
    "cocoon_builder_add_gid_range": ([BuilderP, c_uint32, c_uint32, c_uint32], c_int),
    "cocoon_builder_clear_id_maps": ([BuilderP], c_int),
    "cocoon_builder_set_hostname": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_hostname_len": ([BuilderP, c_char_p, c_size_t], c_int),
    "cocoon_builder_set_domainname": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_domainname_len": ([BuilderP, c_char_p, c_size_t], c_int),
    "cocoon_builder_set_time_offsets": ([BuilderP, c_uint64, c_uint64], c_int),
    "cocoon_builder_set_rootfs_host_sandbox": ([BuilderP], c_int),
    "cocoon_builder_set_rootfs_dir": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_rootfs_layers": ([BuilderP, c_char_pp, c_size_t, c_char_p, c_char_p], c_int),
    "cocoon_builder_set_read_only_root": ([BuilderP, c_int], c_int),
    "cocoon_builder_set_standard_mounts": ([BuilderP, c_int], c_int),
    "cocoon_builder_add_bind": ([BuilderP, c_char_p, c_char_p, c_uint32], c_int),
    "cocoon_builder_add_tmpfs": ([BuilderP, c_char_p, c_uint64, c_uint32, c_uint32], c_int),
    "cocoon_builder_clear_mounts": ([BuilderP], c_int),
    "cocoon_builder_set_masked_paths": ([BuilderP, c_char_pp, c_size_t], c_int),
    "cocoon_builder_set_readonly_paths": ([BuilderP, c_char_pp, c_size_t], c_int),
    "cocoon_builder_set_capabilities": ([BuilderP, c_uint64, c_uint64, c_uint64, c_uint64, c_uint64], c_int),
    "cocoon_builder_set_no_new_privs": ([BuilderP, c_int], c_int),
    "cocoon_builder_set_rlimit": ([BuilderP, c_int, c_uint64, c_uint64], c_int),
    "cocoon_builder_set_umask": ([BuilderP, c_uint32], c_int),
    "cocoon_builder_set_oom_score_adj": ([BuilderP, c_int], c_int),
    "cocoon_builder_set_seccomp_deny": ([BuilderP, POINTER(c_int64), c_size_t, c_int], c_int),
    "cocoon_builder_set_seccomp_default_deny": ([BuilderP], c_int),
    "cocoon_builder_clear_seccomp": ([BuilderP], c_int),
    "cocoon_builder_set_default_seccomp": ([BuilderP, c_int], c_int),
    "cocoon_builder_set_seccomp_profile_json": ([BuilderP, ctypes.c_char_p, c_size_t], c_int),
    "cocoon_builder_set_stdio": ([BuilderP, c_int, c_int, c_int], c_int),
    "cocoon_builder_set_log": ([BuilderP, c_char_p, ctypes.c_uint64, ctypes.c_uint32], c_int),
    "cocoon_builder_set_init": ([BuilderP, c_int], c_int),
    "cocoon_builder_set_direct_child": ([BuilderP, c_int], c_int),
    # builder: cgroup
    "cocoon_builder_enable_cgroup": ([BuilderP], c_int),
    "cocoon_builder_clear_cgroup": ([BuilderP], c_int),
    "cocoon_builder_set_cgroup_parent": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_memory_max": ([BuilderP, c_uint64], c_int),
    "cocoon_builder_set_memory_high": ([BuilderP, c_uint64], c_int),
    "cocoon_builder_set_memory_low": ([BuilderP, c_uint64], c_int),
    "cocoon_builder_set_swap_max": ([BuilderP, c_uint64], c_int),
    "cocoon_builder_set_oom_kill_disable": ([BuilderP, c_int], c_int),
    "cocoon_builder_set_pids_max": ([BuilderP, c_uint64], c_int),
    "cocoon_builder_set_cpu_quota": ([BuilderP, c_uint64, c_uint64], c_int),
    "cocoon_builder_set_cpu_burst": ([BuilderP, c_uint64], c_int),
    "cocoon_builder_set_cpu_weight": ([BuilderP, c_uint64], c_int),
    "cocoon_builder_set_cpu_shares": ([BuilderP, c_uint64], c_int),
    "cocoon_builder_set_cpuset_cpus": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_cpuset_mems": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_io_weight": ([BuilderP, c_uint32], c_int),
    "cocoon_builder_add_io_limit": ([BuilderP, c_char_p, c_int, c_uint64], c_int),
    "cocoon_builder_add_io_limit_dev": ([BuilderP, c_uint32, c_uint32, c_int, c_uint64], c_int),
    "cocoon_builder_set_hugetlb_limit": ([BuilderP, c_uint64, c_uint64], c_int),
    "cocoon_builder_add_device_rule": ([BuilderP, c_int, c_int, c_uint32, c_uint32, c_uint32], c_int),
    # builder: more mounts, namespace joins, passed fds
    "cocoon_builder_add_proc": ([BuilderP, c_char_p, c_uint32], c_int),
    "cocoon_builder_add_bind_relabel": ([BuilderP, c_char_p, c_char_p, c_uint32, c_int], c_int),
    "cocoon_builder_join_namespace": ([BuilderP, c_uint32, c_char_p], c_int),
    "cocoon_builder_clear_namespace_joins": ([BuilderP], c_int),
    "cocoon_builder_pass_fd": ([BuilderP, c_int, c_int], c_int),
    "cocoon_builder_clear_passed_fds": ([BuilderP], c_int),
    # builder: SELinux
    "cocoon_builder_enable_selinux": ([BuilderP], c_int),
    "cocoon_builder_clear_selinux": ([BuilderP], c_int),
    "cocoon_builder_set_selinux_user": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_selinux_role": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_selinux_process_type": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_selinux_file_type": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_selinux_level": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_selinux_shared_level": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_selinux_mount_label": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_selinux_require": ([BuilderP, c_int], c_int),
    "cocoon_builder_set_selinux_mcs_range": ([BuilderP, c_uint32, c_uint32], c_int),
    "cocoon_builder_set_selinux_state_dir": ([BuilderP, c_char_p], c_int),
    "cocoon_builder_set_selinux_policy_root": ([BuilderP, c_char_p], c_int),
    # builder: Landlock
    "cocoon_builder_landlock_allow": ([BuilderP, c_char_p, c_uint64], c_int),
    "cocoon_builder_landlock_allow_port": ([BuilderP, ctypes.c_uint16, c_uint64], c_int),
    "cocoon_builder_set_landlock_mode": ([BuilderP, c_int], c_int),
    "cocoon_builder_set_landlock_max_abi": ([BuilderP, c_uint32], c_int),
    "cocoon_builder_clear_landlock": ([BuilderP], c_int),
    "cocoon_builder_landlock_status": ([BuilderP, POINTER(c_uint32), POINTER(c_uint32), c_char_p, c_size_t,
                                        POINTER(c_size_t)], c_int),
    "cocoon_builder_selinux_policy": ([BuilderP, c_char_p, c_char_p, c_size_t, POINTER(c_size_t)], c_int),
    # container
    "cocoon_container_spawn": ([BuilderP, POINTER(ContainerP)], c_int),
    "cocoon_container_create": ([BuilderP, POINTER(ContainerP)], c_int),
    "cocoon_container_create_at": ([BuilderP, c_char_p, POINTER(ContainerP)], c_int),
    # warm containers and pools
    "cocoon_warm_new": ([BuilderP, POINTER(WarmP)], c_int),
    "cocoon_warm_start": ([WarmP, ProcessP, POINTER(ContainerP)], c_int),
    "cocoon_warm_pid": ([WarmP, c_int_p], c_int),
    "cocoon_warm_free": ([WarmP], None),
    "cocoon_pool_new": ([BuilderP, c_size_t, c_size_t, c_uint64, POINTER(PoolP)], c_int),
    "cocoon_pool_start": ([PoolP, ProcessP, POINTER(ContainerP)], c_int),
    "cocoon_pool_stats": ([PoolP, POINTER(PoolStatsC)], c_int),
    "cocoon_pool_wait_ready": ([PoolP, c_size_t, c_uint64, POINTER(c_size_t)], c_int),
    "cocoon_pool_free": ([PoolP], None),
    "cocoon_container_start": ([ContainerP], c_int),
    "cocoon_container_is_created": ([ContainerP], c_int),
    "cocoon_start_created": ([c_char_p], c_int),
    "cocoon_container_id": ([ContainerP], c_char_p),
    "cocoon_container_pid": ([ContainerP, c_int_p], c_int),
    "cocoon_container_wait": ([ContainerP, c_int_p, c_int_p], c_int),
    "cocoon_container_try_wait": ([ContainerP, c_int_p, c_int_p, c_int_p], c_int),
    "cocoon_container_wait_fd": ([ContainerP, c_int_p], c_int),
    "cocoon_container_kill": ([ContainerP, c_int], c_int),
    "cocoon_container_take_stdio": ([ContainerP, c_int, c_int_p], c_int),
    "cocoon_container_exec": ([ContainerP, BuilderP, POINTER(ExecP)], c_int),
    "cocoon_container_exec_process": ([ContainerP, ProcessP, POINTER(ExecP)], c_int),
    "cocoon_container_delete": ([ContainerP], c_int),
    "cocoon_container_detach": ([ContainerP, c_int_p], c_int),
    "cocoon_container_free": ([ContainerP], None),
    "cocoon_container_pause": ([ContainerP], c_int),
    "cocoon_container_resume": ([ContainerP], c_int),
    "cocoon_container_update_cgroup": ([ContainerP, BuilderP], c_int),
    "cocoon_container_stats": ([ContainerP, POINTER(Stats)], c_int),
    "cocoon_container_log_lost_bytes": ([ContainerP, POINTER(ctypes.c_uint64)], c_int),
    "cocoon_container_log_errno": ([ContainerP, c_int_p], c_int),
    "cocoon_container_net_stats": ([ContainerP, POINTER(InterfaceStatsC), c_size_t, POINTER(c_size_t)], c_int),
    "cocoon_stats_prometheus": ([POINTER(ContainerP), c_size_t, c_char_p, c_size_t, POINTER(c_size_t)], c_int),
    "cocoon_container_cgroup_path": ([ContainerP, POINTER(c_char_p)], c_int),
    "cocoon_container_selinux_label": ([ContainerP, POINTER(c_char_p)], c_int),
    "cocoon_container_network": ([ContainerP, POINTER(c_char_p), POINTER(c_char_p)], c_int),
    # events
    "cocoon_events_new": ([POINTER(EventsP)], c_int),
    "cocoon_events_add": ([EventsP, ContainerP, c_uint64], c_int),
    "cocoon_events_add_health": ([EventsP, ContainerP, c_uint64, ProcessP, c_uint64, c_uint64, c_uint32, c_uint64],
                                 c_int),
    "cocoon_events_fd": ([EventsP, c_int_p], c_int),
    "cocoon_events_count": ([EventsP, POINTER(c_size_t)], c_int),
    "cocoon_events_next": ([EventsP, POINTER(Event), c_int_p], c_int),
    "cocoon_events_wait": ([EventsP, c_int, POINTER(Event), c_int_p], c_int),
    "cocoon_events_free": ([EventsP], None),
    # logs
    "cocoon_log_reader_open": ([c_char_p, c_int64, c_uint32, c_int, c_int64, POINTER(LogReaderP)], c_int),
    "cocoon_log_reader_next": ([LogReaderP, POINTER(LogLineC)], c_int),
    "cocoon_log_reader_skipped": ([LogReaderP, POINTER(c_uint64)], c_int),
    "cocoon_log_reader_free": ([LogReaderP], None),
    "cocoon_builder_set_subordinate_ids": ([BuilderP, c_uint32, c_uint32], c_int),
    # the seccomp supervisor
    "cocoon_builder_set_seccomp_notify": ([BuilderP, POINTER(c_int64), c_size_t], c_int),
    "cocoon_container_take_seccomp_listener": ([ContainerP, c_int_p], c_int),
    "cocoon_exec_process_take_seccomp_listener": ([ExecP, c_int_p], c_int),
    "cocoon_seccomp_recv": ([c_int, c_int64, POINTER(SeccompRequestC), c_int_p], c_int),
    "cocoon_seccomp_respond": ([c_int, c_uint64, c_int, c_int64], c_int),
    "cocoon_seccomp_id_valid": ([c_int, c_uint64], c_int),
    "cocoon_seccomp_read_memory": ([c_int, POINTER(SeccompRequestC), c_uint64, ctypes.c_void_p, c_size_t,
                                    POINTER(c_size_t)], c_int),
    # exec
    "cocoon_exec_process_pid": ([ExecP, c_int_p], c_int),
    "cocoon_exec_process_wait": ([ExecP, c_int_p, c_int_p], c_int),
    "cocoon_exec_process_try_wait": ([ExecP, c_int_p, c_int_p, c_int_p], c_int),
    "cocoon_exec_process_wait_fd": ([ExecP, c_int_p], c_int),
    "cocoon_exec_process_kill": ([ExecP, c_int], c_int),
    "cocoon_exec_process_take_stdio": ([ExecP, c_int, c_int_p], c_int),
    "cocoon_exec_process_free": ([ExecP], None),
    "cocoon_exec_process_detach": ([ExecP, c_int_p], c_int),
    "cocoon_running_open": ([c_int, c_char_p, POINTER(RunningP)], c_int),
    "cocoon_running_set_direct_child": ([RunningP, c_int], c_int),
    "cocoon_running_exec_process": ([RunningP, ProcessP, POINTER(ExecP)], c_int),
    "cocoon_running_free": ([RunningP], None),
    # process handle (its setters take the builder's process setters' arguments)
    "cocoon_process_new": ([c_char_p, POINTER(ProcessP)], c_int),
    "cocoon_process_free": ([ProcessP], None),
    "cocoon_process_validate": ([ProcessP], c_int),
    # images
    "cocoon_image_store_open": ([c_char_p, POINTER(ImageStoreP)], c_int),
    "cocoon_image_store_free": ([ImageStoreP], None),
    "cocoon_image_import": ([ImageStoreP, c_char_p, c_int, c_char_p, c_uint32], c_int),
    "cocoon_image_store_list": ([ImageStoreP, POINTER(ImageListP)], c_int),
    "cocoon_image_list_len": ([ImageListP], c_size_t),
    "cocoon_image_list_name": ([ImageListP, c_size_t], c_char_p),
    "cocoon_image_list_digest": ([ImageListP, c_size_t], c_char_p),
    "cocoon_image_list_image_id": ([ImageListP, c_size_t], c_char_p),
    "cocoon_image_list_free": ([ImageListP], None),
    "cocoon_image_remove": ([ImageStoreP, c_char_p], c_int),
    "cocoon_image_store_gc": ([ImageStoreP, POINTER(c_size_t)], c_int),
    "cocoon_builder_set_image": ([BuilderP, ImageStoreP, c_char_p, c_uint32], c_int),
    "cocoon_image_commit": ([ImageStoreP, ContainerP, c_char_p, c_char_pp, c_size_t, c_char_pp, c_size_t], c_int),
    "cocoon_image_export": ([ImageStoreP, c_char_p, c_char_p, c_int], c_int),
    "cocoon_container_writable_layer": ([ContainerP], c_char_p),
    # waits with a time limit, the pidfd, one-shot runs
    "cocoon_container_wait_timeout": ([ContainerP, c_int64, c_int_p, c_int_p, c_int_p], c_int),
    "cocoon_exec_process_wait_timeout": ([ExecP, c_int64, c_int_p, c_int_p, c_int_p], c_int),
    "cocoon_container_pidfd": ([ContainerP, c_int_p], c_int),
    "cocoon_container_ended_by": ([ContainerP, c_int_p], c_int),
    "cocoon_builder_run_output": ([BuilderP, ctypes.c_void_p, c_size_t, c_int64, POINTER(OutputP)], c_int),
    "cocoon_output_status": ([OutputP, c_int_p, c_int_p], c_int),
    "cocoon_output_ended_by": ([OutputP, c_int_p], c_int),
    "cocoon_output_stdout": ([OutputP, POINTER(ctypes.POINTER(ctypes.c_uint8)), POINTER(c_size_t)], c_int),
    "cocoon_output_stderr": ([OutputP, POINTER(ctypes.POINTER(ctypes.c_uint8)), POINTER(c_size_t)], c_int),
    "cocoon_output_free": ([OutputP], None),
}
# The process setters shared by cocoon_builder_* and cocoon_process_*.
_PROCESS_SETTERS = (
    "set_program", "set_program_len", "set_args", "set_env", "set_cwd", "set_user", "set_user_name",
    "set_capabilities", "set_no_new_privs", "set_rlimit", "set_umask", "set_seccomp_deny",
    "set_seccomp_default_deny", "clear_seccomp", "set_default_seccomp", "set_oom_score_adj",
    "set_seccomp_profile_json",
    "set_stdio", "pass_fd", "clear_passed_fds", "set_seccomp_notify")
for _name in _PROCESS_SETTERS:
    _args, _res = _SIGNATURES["cocoon_builder_" + _name]
    _SIGNATURES["cocoon_process_" + _name] = ([ProcessP] + _args[1:], _res)


def process_fn(h: object, name: str) -> Any:
    """The process setter `name` for handle `h`: cocoon_process_NAME for a process handle,
    cocoon_builder_NAME for a builder."""
    prefix = "cocoon_process_" if isinstance(h, ProcessP) else "cocoon_builder_"
    return getattr(lib, prefix + name)


_NOT_FOUND = (
    "{soname} not found ({err}): install with `pip install ./bindings/python` from a cocoon "
    "checkout (it builds the library with cargo and ships it in the package), or set "
    "COCOON_LIBRARY=/path/to/{soname}")


def load(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads the library and declares every function; fails if one is missing."""
    path = path or _find()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        if path != SONAME:
            raise  # an explicit path (COCOON_LIBRARY or bundled): its own error says why
        raise OSError(_NOT_FOUND.format(soname=SONAME, err=e)) from None
    for name, (args, res) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    return lib


lib = load()
