"""Landlock rules of a container (Rust: `Landlock`, `ContainerBuilder::landlock`)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Sequence, Tuple

from ._lib import lib
from ._util import StrPath, _b
from .constants import ErrorCode, LandlockAccess
from .errors import _check

__all__ = ["Landlock", "LandlockStatus"]


@dataclass(frozen=True)
class Landlock:
    """A Landlock ruleset applied to the container's program right before its exec
    (`landlock=Landlock(...)`). Paths are inside the container.

    read: paths beneath which files are readable and directories listable.
    read_write: paths beneath which everything but executing is allowed.
    execute: paths beneath which files may be executed (the program itself always may;
        a dynamically linked one needs its loader's directory, e.g. "/usr/lib").
    allow: (path, LandlockAccess rights) pairs for any other combination.
    bind_ports, connect_ports: TCP ports that may be bound / connected to; with any,
        every other port is refused for that kind of access (Landlock ABI 4).
    required: False (the default) drops the rights the kernel's Landlock ABI lacks
        (Container.landlock_status() tells which); True raises UnsupportedError
        before anything is created.
    max_abi: use at most this ABI even on a newer kernel.

    With any filesystem rule every filesystem access not allowed is refused (EACCES).
    A bad path (relative, with "..") raises InvalidConfig when the Container is built;
    a path that does not exist fails the spawn at Stage.LANDLOCK.
    """

    read: Sequence[StrPath] = ()
    read_write: Sequence[StrPath] = ()
    execute: Sequence[StrPath] = ()
    allow: Sequence[Tuple[StrPath, int]] = ()
    bind_ports: Sequence[int] = ()
    connect_ports: Sequence[int] = ()
    required: bool = False
    max_abi: Optional[int] = None


class LandlockStatus(NamedTuple):
    """What a ruleset becomes on this kernel: the ABI used (0: no Landlock), how many
    rules lost rights, and the description naming them."""
    abi: int
    dropped: int
    text: str


def _port(p: int) -> int:
    if not isinstance(p, int) or not 0 <= p <= 0xFFFF:
        raise ValueError(f"a TCP port is 0..65535, not {p!r}")
    return p


def _apply_landlock(h: Any, landlock: Optional[Landlock]) -> None:
    if landlock is None:
        return
    if not isinstance(landlock, Landlock):
        raise TypeError(f"landlock takes a cocoon.Landlock, not {type(landlock).__name__}")
    rules = [(p, LandlockAccess.READ) for p in landlock.read]
    rules += [(p, LandlockAccess.READ_WRITE) for p in landlock.read_write]
    rules += [(p, LandlockAccess.FS_EXECUTE) for p in landlock.execute]
    rules += list(landlock.allow)
    for path, rights in rules:
        _check(lib.cocoon_builder_landlock_allow(h, _b(path), int(rights)))
    for p in landlock.bind_ports:
        _check(lib.cocoon_builder_landlock_allow_port(h, _port(p), int(LandlockAccess.BIND_TCP)))
    for p in landlock.connect_ports:
        _check(lib.cocoon_builder_landlock_allow_port(h, _port(p), int(LandlockAccess.CONNECT_TCP)))
    _check(lib.cocoon_builder_set_landlock_mode(h, 1 if landlock.required else 0))
    if landlock.max_abi is not None:
        _check(lib.cocoon_builder_set_landlock_max_abi(h, int(landlock.max_abi)))


def _landlock_status(h: Any) -> Optional[LandlockStatus]:
    abi, dropped, needed = ctypes.c_uint32(), ctypes.c_uint32(), ctypes.c_size_t()
    buf = ctypes.create_string_buffer(1024)
    rc = lib.cocoon_builder_landlock_status(h, ctypes.byref(abi), ctypes.byref(dropped), buf,
                                            len(buf), ctypes.byref(needed))
    if rc == ErrorCode.NOT_AVAILABLE:
        return None
    _check(rc)
    if needed.value > len(buf):
        buf = ctypes.create_string_buffer(needed.value)
        _check(lib.cocoon_builder_landlock_status(h, None, None, buf, len(buf), None))
    return LandlockStatus(abi.value, dropped.value, buf.value.decode("utf-8", "replace"))
