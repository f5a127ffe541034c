"""Questions about the library and the host, and host-wide cleanup."""

from __future__ import annotations

import ctypes
from typing import Optional

from ._lib import lib
from ._util import StrPath, _b
from .errors import _check, _raise

__all__ = ["version", "has_feature", "sweep_stale"]


def version() -> str:
    """The library version at run time."""
    v: bytes = lib.cocoon_version()
    return v.decode()


def has_feature(name: str) -> bool:
    """Whether the running system has a feature: clone3, cgroup (a cgroup layout cocoon
    can use: v1, v2 or hybrid), cgroup2 (the host is cgroup v2 only, so v2-only limits
    such as memory_high work), selinux, overlay, userns, timens."""
    r: int = lib.cocoon_has_feature(name.encode())
    if r < 0:
        _raise()
    return r == 1


def sweep_stale(parent: Optional[StrPath] = None) -> int:
    """Removes the cgroups that callers killed before their teardown left behind (under
    `parent`, default "cocoon"): those with default ids whose owner process is gone and
    that hold no process; and the machine's shared device-policy cgroup
    (`cocoon.devices-<hash>`, where containers without a cgroup of their own run) if it
    holds no process. Returns how many directories went. The first spawn of every process
    does the same for its parent (but keeps the shared directory)."""
    n = ctypes.c_size_t()
    _check(lib.cocoon_sweep_stale(None if parent is None else _b(parent), ctypes.byref(n)))
    return n.value
