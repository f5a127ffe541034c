"""Resolving Container's and exec's keywords into the groups (Process, Cgroup, rootfs),
including the flat keywords of cocoon 0.1 that are deprecated for one release."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from ._util import StrPath
from .cgroup import Cgroup
from .mounts import Layers
from .process import Process, User
from .seccomp import Seccomp

# Deprecated flat keyword -> the Cgroup field it now is.
CGROUP_ALIASES: Mapping[str, str] = {
    "cgroup_parent": "parent", "memory_high": "memory_high", "memory_low": "memory_low",
    "swap_max": "swap_max", "oom_kill_disable": "oom_kill_disable", "cpu_quota": "cpu_quota",
    "cpu_burst": "cpu_burst", "cpu_weight": "cpu_weight", "cpu_shares": "cpu_shares",
    "cpus": "cpus", "mems": "mems", "io_weight": "io_weight", "io_limits": "io_limits",
    "hugetlb_limits": "hugetlb_limits", "device_rules": "devices",
}
# Deprecated flat keywords that are Process fields of the same name.
PROCESS_ALIASES = ("capabilities", "no_new_privs", "rlimits", "umask", "oom_score_adj", "pass_fds")
# Deprecated flat keywords folded into another value.
OTHER_ALIASES = {
    "groups": "user=cocoon.User(uid, gid, groups=...)",
    "default_seccomp": "seccomp=cocoon.Seccomp(default_policy=...) (False: cocoon.Seccomp.unconfined())",
    "layers": "rootfs=cocoon.Layers(lower, upper, work)",
}
EXEC_ALIASES = PROCESS_ALIASES + ("groups", "default_seccomp")
CONTAINER_ALIASES = tuple(CGROUP_ALIASES) + EXEC_ALIASES + ("layers",)


def replacement(name: str) -> str:
    """What a deprecated keyword is now spelled as."""
    if name in CGROUP_ALIASES:
        return f"cgroup=cocoon.Cgroup({CGROUP_ALIASES[name]}=...)"
    if name in PROCESS_ALIASES:
        return f"process=cocoon.Process({name}=...)"
    return OTHER_ALIASES[name]


def take_deprecated(kwargs: Dict[str, Any], allowed: Tuple[str, ...], where: str) -> List[str]:
    """Checks that `kwargs` holds only deprecated keywords of `where` and returns a
    warning for each; a keyword cocoon never had is a TypeError, as Python raises it."""
    for name in kwargs:
        if name not in allowed:
            raise TypeError(f"{where}() got an unexpected keyword argument {name!r}")
    return [f"{where}({name}=...) is deprecated: use {replacement(name)}" for name in kwargs]


def _unset(v: Any) -> bool:
    """Whether a deprecated keyword holds what was its default (None, or an empty list or
    dict): then, as before, it sets nothing."""
    return v is None or (isinstance(v, (tuple, list, dict)) and not v)


def _default(obj: Any, field: str) -> Any:
    f = next(f for f in dataclasses.fields(obj) if f.name == field)
    return f.default


def _set(obj: Any, field: str, value: Any, given_as: str, group: str) -> Any:
    """`obj` with `field` = `value`, unless `obj` already sets it (then a TypeError)."""
    if getattr(obj, field) != _default(obj, field):
        raise TypeError(f"{given_as} given twice: as a keyword and in {group}")
    return dataclasses.replace(obj, **{field: value})


def resolve_process(process: Optional[Process], shortcuts: Mapping[str, Any],
                    deprecated: Mapping[str, Any]) -> Process:
    """The Process made of `process=`, the shortcuts (env=, cwd=, ...) and the deprecated
    flat keywords; a field given twice is a TypeError."""
    if process is None:
        p = Process()
    elif isinstance(process, Process):
        p = process
    else:
        raise TypeError(f"process takes a cocoon.Process, not {type(process).__name__}")
    for name, value in shortcuts.items():
        if value is not None:
            p = _set(p, name, value, name, "process=")
    deprecated = {n: v for n, v in deprecated.items() if not _unset(v)}
    for name in PROCESS_ALIASES:
        if name in deprecated:
            p = _set(p, name, deprecated[name], name, "process=")
    if "groups" in deprecated:
        p = dataclasses.replace(p, user=_with_groups(p.user, deprecated["groups"]))
    if "default_seccomp" in deprecated:
        s = p.seccomp if p.seccomp is not None else Seccomp()
        s = _set(s, "default_policy", bool(deprecated["default_seccomp"]), "default_seccomp", "seccomp=")
        p = dataclasses.replace(p, seccomp=s)
    return p


def _with_groups(user: Any, groups: Any) -> User:
    if user is None or isinstance(user, str):
        raise TypeError("groups= needs a numeric user=(uid, gid): use user=cocoon.User(uid, gid, groups=...)")
    uid, gid, *rest = user
    if rest and list(rest[0]):
        raise TypeError("groups given twice: as a keyword and in user=")
    return User(uid, gid, tuple(groups))


def resolve_cgroup(cgroup: Union[None, bool, Cgroup], shortcuts: Mapping[str, Any],
                   deprecated: Mapping[str, Any]) -> Optional[Cgroup]:
    """The Cgroup made of `cgroup=`, memory_max=/pids_max= and the deprecated flat
    keywords, or None for no cgroup of its own."""
    if cgroup is None or cgroup is False:
        cg: Optional[Cgroup] = None
    elif cgroup is True:
        cg = Cgroup()
    elif isinstance(cgroup, Cgroup):
        cg = cgroup
    else:
        raise TypeError(f"cgroup takes True or a cocoon.Cgroup, not {type(cgroup).__name__}")
    fields = [(n, n, v) for n, v in shortcuts.items() if v is not None]
    fields += [(n, CGROUP_ALIASES[n], deprecated[n]) for n in CGROUP_ALIASES
               if n in deprecated and not _unset(deprecated[n])]
    for given_as, field, value in fields:
        cg = _set(cg or Cgroup(), field, value, given_as, "cgroup=")
    return cg


def resolve_rootfs(rootfs: Union[None, StrPath, Layers], deprecated: Mapping[str, Any]) -> Union[None, StrPath, Layers]:
    if "layers" not in deprecated or deprecated["layers"] is None:
        return rootfs
    if rootfs is not None:
        raise TypeError("layers given twice: as a keyword and as rootfs=")
    lower, upper, work = deprecated["layers"]
    return Layers(list(lower), upper, work)
