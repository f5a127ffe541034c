"""The shape of the package: every public name of cocoon 0.1 still imports from `cocoon`,
the modules stay small, and the documentation names every keyword and field."""

import dataclasses
import inspect
from pathlib import Path

import pytest

import cocoon

# Every public name `cocoon` had before the package was split (cocoon 0.1): `from cocoon
# import X` keeps working for each.
NAMES_0_1 = [
    "AlreadyExited", "Bind", "CgroupError", "CgroupOSError", "CgroupStats", "CocoonError",
    "CocoonOSError", "Container", "CpuStats", "DEVICE_ANY", "DEVNULL", "DeviceAccess",
    "DeviceKind", "DeviceRule", "ErrorCode", "ExecProcess", "ExitStatus", "INHERIT",
    "ImageFileError", "ImageFileOSError", "InvalidArgument", "InvalidConfig", "IoLimit",
    "IoRate", "IoStats", "MemoryStats", "MountFlag", "Namespace", "PIPE", "PidsStats", "Proc",
    "RLIM_INFINITY", "Relabel", "Rlimit", "SELinux", "SELinuxError", "Seccomp", "Stage",
    "StdioSpec", "StrPath", "Tmpfs", "has_feature", "lib", "sweep_stale", "version",
]
NEW_NAMES = ["Cgroup", "Process", "User", "Capabilities", "Layers"]
MODULES = ["constants", "errors", "system", "stdio", "process", "seccomp", "landlock", "mounts", "cgroup",
           "stats", "selinux", "container", "exec_process", "running"]


@pytest.mark.parametrize("name", NAMES_0_1 + NEW_NAMES)
def test_public_name_imports_from_cocoon(name):
    ns = {}
    exec(f"from cocoon import {name}", ns)  # noqa: S102 - the statement a user writes
    assert ns[name] is getattr(cocoon, name)


def test_all_lists_the_public_names_and_each_exists():
    for name in cocoon.__all__:
        assert hasattr(cocoon, name), name
    # everything of 0.1's __all__ (the names above but the aliases of types and `lib`)
    assert set(NAMES_0_1) - {"StdioSpec", "StrPath", "lib"} <= set(cocoon.__all__)
    assert set(NEW_NAMES) <= set(cocoon.__all__)
    star = {}
    exec("from cocoon import *", star)  # noqa: S102
    assert set(cocoon.__all__) <= set(star)


def test_each_module_is_small_and_says_what_it_holds():
    pkg = Path(cocoon.__file__).parent
    for f in sorted(pkg.glob("*.py")):
        lines = f.read_text().count("\n")
        assert lines < 600, f"{f.name}: {lines} lines"
    for name in MODULES:
        mod = getattr(__import__(f"cocoon.{name}"), name)
        assert mod.__doc__, name
        for exported in getattr(mod, "__all__", ()):
            assert getattr(cocoon, exported) is getattr(mod, exported), (name, exported)


def test_container_docstring_names_every_keyword():
    doc = cocoon.Container.__doc__
    params = inspect.signature(cocoon.Container).parameters
    for name, p in params.items():
        if p.kind is p.VAR_KEYWORD or name == "argv":
            continue
        assert f"{name}" in doc, name
    for name in ("env", "cwd", "user", "stdin", "stdout", "stderr", "seccomp", "process"):
        assert name in inspect.signature(cocoon.Container.exec).parameters


@pytest.mark.parametrize("cls", [cocoon.Process, cocoon.Cgroup, cocoon.SELinux, cocoon.Seccomp, cocoon.Landlock])
def test_group_docstrings_name_every_field(cls):
    for f in dataclasses.fields(cls):
        assert f"{f.name}" in cls.__doc__, (cls.__name__, f.name)


def test_groups_are_values():
    p = cocoon.Process(umask=0o22)
    assert dataclasses.replace(p, umask=0o77).umask == 0o77 and p.umask == 0o22
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.umask = 0  # type: ignore[misc]
    assert cocoon.Cgroup(pids_max=4) == cocoon.Cgroup(pids_max=4)
    assert cocoon.User(1, 2) == (1, 2, ())
    assert cocoon.Capabilities(1, 1, 1) == (1, 1, 1, 0, 0)
    assert cocoon.Seccomp.unconfined() == cocoon.Seccomp(default_policy=False)
    assert cocoon.Seccomp.default().use_default and cocoon.Seccomp.default().default_policy
