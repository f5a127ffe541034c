"""SELinux labels of a container (Rust: `SelinuxConfig`, `ContainerBuilder::selinux`)."""

from __future__ import annotations

from dataclasses import dataclass
import ctypes
from typing import Any, Optional, Tuple, Union

from ._lib import lib
from ._util import StrPath, _b, _u64
from .errors import _check

__all__ = ["SELinux", "selinux_policy"]


@dataclass(frozen=True)
class SELinux:
    """SELinux labels of a container (`selinux=SELinux(...)`; `selinux=True` for the
    defaults).

    Every field is optional: the process runs as the policy's lxc_contexts type (or
    container_t) with files of container_file_t, at a fresh unique MCS level.

    process_type, file_type, user, role: parts of the process and file labels.
    level: an MCS level ("s0:c1,c2") reserved for this container alone.
    shared_level: a level shared with the containers asking for the same one (they
        exclude the containers that reserved it alone).
    mount_label: a full context for tmpfs/devpts mounts.
    require: with False (the default) a host without SELinux runs the container
        unlabelled; with True spawning there raises SELinuxError.
    mcs_range: a (first, last) category pair fresh levels are drawn from.
    state_dir: where reservations are recorded.
    policy_root: the directory holding contexts/lxc_contexts.

    Malformed values raise SELinuxError when the Container is built.
    """

    process_type: Optional[str] = None
    file_type: Optional[str] = None
    user: Optional[str] = None
    role: Optional[str] = None
    level: Optional[str] = None
    shared_level: Optional[str] = None
    mount_label: Optional[str] = None
    require: bool = False
    mcs_range: Optional[Tuple[int, int]] = None
    state_dir: Optional[StrPath] = None
    policy_root: Optional[StrPath] = None


def _apply_selinux(h: Any, selinux: Union[None, bool, SELinux]) -> None:
    if selinux is None or selinux is False:
        return
    if selinux is not True and not isinstance(selinux, SELinux):
        raise TypeError(f"selinux takes True or a cocoon.SELinux, not {type(selinux).__name__}")
    _check(lib.cocoon_builder_enable_selinux(h))
    if selinux is True:
        return
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


def _selinux_policy(h: Any, name: str) -> str:
    needed = ctypes.c_size_t()
    _check(lib.cocoon_builder_selinux_policy(h, name.encode(), None, 0, ctypes.byref(needed)))
    buf = ctypes.create_string_buffer(needed.value)
    _check(lib.cocoon_builder_selinux_policy(h, name.encode(), buf, len(buf), None))
    return buf.value.decode("utf-8")


def selinux_policy(container: Any, name: str) -> str:
    """The per-container SELinux policy of `container` (a cocoon.Container, spawned or
    not): a CIL module deriving the domain NAME.process from cocoon.cil's `container`
    template that allows exactly its bind mounts (read-only or read-write), devices,
    published ports and bounding capabilities. Install it with
    `semodule -i cocoon_NAME.cil` and run with SELinux(process_type=f"{name}.process").
    A bad name (not a letter followed by letters, digits, '_') raises SELinuxError.
    Runs nothing, writes nothing."""
    return container.selinux_policy(name)
