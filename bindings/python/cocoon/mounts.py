"""The container's root filesystem and its mounts (Rust: `Rootfs`, `Mount`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

from ._lib import lib
from ._util import StrPath, _b, _strv
from .constants import MountFlag, Relabel
from .errors import _check

__all__ = ["Bind", "Tmpfs", "Proc", "Layers"]


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
class Tmpfs:
    """A fresh tmpfs at `target` (size in bytes, None = kernel default; mode None = 0755)."""
    target: StrPath
    size: Optional[int] = None
    mode: Optional[int] = None
    read_only: bool = False
    noexec: bool = False


@dataclass(frozen=True)
class Proc:
    """A procfs of the container's PID namespace at `target` (nosuid, nodev, noexec).
    Only needed with standard_mounts=False."""
    target: StrPath = "/proc"
    read_only: bool = False


Mount = Union[Bind, Tmpfs, Proc]
"""One entry of `mounts=`."""


@dataclass(frozen=True)
class Layers:
    """Image layers as the root (`rootfs=Layers(...)`): read-only `lower` directories
    (first = top-most) under one writable `upper` directory, joined with overlayfs.
    `work` is overlayfs' scratch directory: empty, on the same filesystem as `upper`."""
    lower: Sequence[StrPath]
    upper: StrPath
    work: StrPath


def _apply_rootfs(h: Any, rootfs: Union[None, StrPath, Layers]) -> None:
    if rootfs is None:
        return  # the embedded host sandbox
    if isinstance(rootfs, Layers):
        arr, n = _strv(list(rootfs.lower))
        _check(lib.cocoon_builder_set_rootfs_layers(h, arr, n, _b(rootfs.upper), _b(rootfs.work)))
    else:
        _check(lib.cocoon_builder_set_rootfs_dir(h, _b(rootfs)))


def _apply_mounts(h: Any, mounts: Sequence[Mount]) -> None:
    for m in mounts:
        if isinstance(m, Proc):
            _check(lib.cocoon_builder_add_proc(h, _b(m.target), int(MountFlag.READONLY if m.read_only else 0)))
            continue
        if not isinstance(m, (Bind, Tmpfs)):
            raise TypeError(f"mounts take Bind, Tmpfs or Proc, not {type(m).__name__}")
        flags = (MountFlag.READONLY if m.read_only else 0) | (MountFlag.NOEXEC if m.noexec else 0)
        if isinstance(m, Bind):
            if not m.recursive:
                flags |= MountFlag.NONRECURSIVE
            if m.relabel is None:
                _check(lib.cocoon_builder_add_bind(h, _b(m.source), _b(m.target), int(flags)))
            else:
                _check(lib.cocoon_builder_add_bind_relabel(h, _b(m.source), _b(m.target), int(flags),
                                                           int(Relabel(m.relabel))))
        else:
            mode = 0xFFFFFFFF if m.mode is None else m.mode
            _check(lib.cocoon_builder_add_tmpfs(h, _b(m.target), m.size or 0, mode, int(flags)))
