"""The flat keywords of cocoon 0.1 still work for one release: each emits a
DeprecationWarning naming its new spelling, attributed to the caller, and means exactly
the grouped form (the same Process, Cgroup and rootfs, or the same error)."""

import os
import subprocess
import sys
import warnings

import pytest

import cocoon
from cocoon import _compat

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


@pytest.fixture
def fd():
    """An open fd >= 3 to pass on."""
    n = os.open(os.devnull, os.O_RDONLY)
    yield n
    os.close(n)


def _disk():
    """(major, minor) of a whole disk of this host, for an IoLimit."""
    for d in sorted(os.listdir("/sys/block")):
        if not d.startswith(("loop", "zram", "ram")):
            with open(f"/sys/block/{d}/dev") as f:
                return tuple(int(x) for x in f.read().split(":"))
    return (8, 0)


def container_cases(fd):
    """{alias: (flat keywords, the grouped keywords meaning the same)}."""
    C, P = cocoon.Cgroup, cocoon.Process
    io = [cocoon.IoLimit(_disk(), cocoon.IoRate.READ_BPS, 1 << 20)]
    dev = [cocoon.DeviceRule(True, cocoon.DeviceKind.CHAR, 1, 3, cocoon.DeviceAccess.READ)]
    cases = {
        "cgroup_parent": ("cocoon/pytest-alias", dict(cgroup=C(parent="cocoon/pytest-alias"))),
        "memory_high": (32 << 20, dict(cgroup=C(memory_high=32 << 20))),
        "memory_low": (1 << 20, dict(cgroup=C(memory_low=1 << 20))),
        "swap_max": (64 << 20, dict(cgroup=C(memory_max=32 << 20, swap_max=64 << 20))),
        "oom_kill_disable": (True, dict(cgroup=C(oom_kill_disable=True))),
        "cpu_quota": ((50_000, 100_000), dict(cgroup=C(cpu_quota=(50_000, 100_000)))),
        "cpu_burst": (1000, dict(cgroup=C(cpu_quota=(50_000, 100_000), cpu_burst=1000))),
        "cpu_weight": (200, dict(cgroup=C(cpu_weight=200))),
        "cpu_shares": (512, dict(cgroup=C(cpu_shares=512))),
        "cpus": ("0", dict(cgroup=C(cpus="0"))),
        "mems": ("0", dict(cgroup=C(mems="0"))),
        "io_weight": (100, dict(cgroup=C(io_weight=100))),
        "io_limits": (io, dict(cgroup=C(io_limits=io))),
        "hugetlb_limits": ({2 << 20: 4 << 20}, dict(cgroup=C(hugetlb_limits={2 << 20: 4 << 20}))),
        "device_rules": (dev, dict(cgroup=C(devices=dev))),
        "capabilities": ((1, 1, 1, 0, 0), dict(process=P(capabilities=(1, 1, 1, 0, 0)))),
        "no_new_privs": (False, dict(process=P(no_new_privs=False))),
        "rlimits": ({cocoon.Rlimit.NOFILE: (256, 256)}, dict(process=P(rlimits={cocoon.Rlimit.NOFILE: (256, 256)}))),
        "umask": (0o27, dict(process=P(umask=0o27))),
        "oom_score_adj": (100, dict(process=P(oom_score_adj=100))),
        "pass_fds": ([fd], dict(process=P(pass_fds=[fd]))),
        "groups": ([1, 2], dict(user=cocoon.User(0, 0, (1, 2)))),
        "default_seccomp": (False, dict(seccomp=cocoon.Seccomp.unconfined())),
        "layers": ((["/lower"], "/upper", "/work"), dict(rootfs=cocoon.Layers(["/lower"], "/upper", "/work"))),
    }
    flat = {name: {name: value} for name, (value, _) in cases.items()}
    # what the alias needs beside it (v1 swap needs a memory limit, a burst a quota;
    # groups= always came with a numeric user=): also merging into a given group
    flat["swap_max"]["memory_max"] = 32 << 20
    flat["cpu_burst"]["cgroup"] = C(cpu_quota=(50_000, 100_000))
    flat["groups"]["user"] = (0, 0)
    return {name: (flat[name], grouped) for name, (_, grouped) in cases.items()}


def build(**kw):
    """What Container(["true"], **kw) resolved to, or the error the library gave."""
    try:
        c = cocoon.Container(["true"], **kw)
    except cocoon.CocoonError as e:
        return ("error", type(e), str(e))
    try:
        return ("ok", c._process, c._cgroup, c._rootfs)
    finally:
        c.close()


def test_every_alias_has_a_case():
    assert sorted(container_cases(3)) == sorted(_compat.CONTAINER_ALIASES)
    assert set(_compat.EXEC_ALIASES) <= set(_compat.CONTAINER_ALIASES)


@pytest.mark.parametrize("alias", sorted(_compat.CONTAINER_ALIASES))
def test_container_alias_warns_and_means_the_grouped_form(alias, fd):
    flat, grouped = container_cases(fd)[alias]
    with pytest.warns(DeprecationWarning) as rec:
        old = build(**flat)
    msgs = [str(w.message) for w in rec]
    assert msgs == [f"Container({alias}=...) is deprecated: use {_compat.replacement(alias)}"], msgs
    assert rec[0].filename == __file__, "attributed to the caller of Container()"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = build(**grouped)
    assert old == new
    print(alias, "->", old[0], old[1:] if old[0] == "error" else "")


def test_flat_cgroup_values_are_still_checked():
    """The 0.1 spellings of the cgroup limits reach the same checks in the library."""
    from test_cgroup import BAD_CGROUP_VALUES
    inverse = {v: k for k, v in _compat.CGROUP_ALIASES.items()}
    inverse.update(memory_max="memory_max", pids_max="pids_max")  # shortcuts, not deprecated
    for fields, words in BAD_CGROUP_VALUES:
        flat = {inverse[k]: v for k, v in fields.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(cocoon.CgroupError, match=words.replace(".", r"\.")):
                cocoon.Container(["true"], **flat)


def test_an_alias_left_at_its_old_default_sets_nothing():
    with pytest.warns(DeprecationWarning):
        c = cocoon.Container(["true"], cpu_quota=None, io_limits=(), rlimits=None, layers=None,
                             groups=None, pass_fds=[])
    assert c._cgroup is None and c._process == cocoon.Process() and c._rootfs is None
    c.close()


def test_a_setting_given_twice_is_a_type_error():
    P, C = cocoon.Process, cocoon.Cgroup
    for kw in (dict(umask=0o22, process=P(umask=0o77)), dict(cgroup_parent="a", cgroup=C(parent="b")),
               dict(env={"A": "1"}, process=P(env={})), dict(memory_max=1 << 30, cgroup=C(memory_max=1 << 30)),
               dict(layers=(["/l"], "/u", "/w"), rootfs="/r"), dict(groups=[1], user="alice"),
               dict(groups=[1], user=cocoon.User(0, 0, (2,))),
               dict(default_seccomp=False, seccomp=cocoon.Seccomp.unconfined())):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(TypeError):
                cocoon.Container(["true"], **kw)


def test_unknown_keywords_are_type_errors():
    with pytest.raises(TypeError, match="unexpected keyword argument 'nonsense'"):
        cocoon.Container(["true"], nonsense=1)
    with pytest.raises(TypeError, match="cocoon.Process"):
        cocoon.Container(["true"], process={"umask": 0})


def test_the_warning_shows_by_default_in_a_script():
    """Python shows a DeprecationWarning by default only for code of __main__: the
    warning must be attributed to the caller's line, not to cocoon."""
    code = "import cocoon\ncocoon.Container(['true'], umask=0o22, cpu_weight=100).close()\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "<string>:2: DeprecationWarning: Container(umask=...) is deprecated: use process=cocoon.Process(umask=...)" in out.stderr
    assert "Container(cpu_weight=...) is deprecated: use cgroup=cocoon.Cgroup(cpu_weight=...)" in out.stderr


PROBE = ("umask; id -G; ulimit -n; cat /proc/self/oom_score_adj; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status;"
         " ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; unshare -U true 2>/dev/null && echo userns || echo no-userns")


def exec_cases(fd):
    """{alias: (flat keywords, grouped keywords)} for Container.exec."""
    cases = container_cases(fd)
    return {a: cases[a] for a in _compat.EXEC_ALIASES}


@needs_root
def test_exec_aliases_warn_and_still_apply(fd):
    def run(c, **kw):
        with c.exec(["sh", "-c", PROBE], stdout=cocoon.PIPE, **kw) as p:
            out = p.stdout.read().decode()
            assert p.wait().success, out
        return out.replace(f" {fd} ", " FD ")

    with cocoon.Container(["sleep", "60"]) as c:
        base = run(c)
        for alias, (flat, grouped) in sorted(exec_cases(fd).items()):
            with pytest.warns(DeprecationWarning) as rec:
                old = run(c, **flat)
            assert [str(w.message) for w in rec] == [f"exec({alias}=...) is deprecated: use {_compat.replacement(alias)}"]
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                new = run(c, **grouped)
            assert old == new, (alias, old, new)
            assert old != base, (alias, "had no effect", base)
        with pytest.raises(TypeError, match="unexpected keyword argument 'cpu_weight'"):
            c.exec(["true"], cpu_weight=100)
        c.kill()
