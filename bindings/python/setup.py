"""Builds libcocoon with cargo and ships it inside the package as cocoon/libcocoon.so.0.

`pip install ./bindings/python` from a cocoon checkout is then all a user needs: pip (>= 21.3)
builds a local directory in place, so the repository root is found relative to this file.
Environment: CARGO (the cargo binary), CARGO_TARGET_DIR (honoured, as cargo does),
COCOON_BUILD_PROFILE (release, the default, or debug: the test suite reuses its debug build).

`pip wheel ./bindings/python` gives a wheel that needs no Rust where it is installed: the
release library inside is stripped (objcopy --strip-unneeded), and the wheel is tagged
py3-none-manylinux_2_N_x86_64 with N the newest GLIBC_2.N symbol version the library
needs (read from its dynamic symbols with objdump), so pip only installs it where the
C library is new enough. tests/packaging/run.sh checks the tag with auditwheel.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 has its own; older ones use the wheel package's
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SONAME = "libcocoon.so.0"


def build_library() -> Path:
    """Runs cargo on the repository root and returns the built libcocoon.so."""
    manifest = ROOT / "Cargo.toml"
    if not manifest.is_file():
        raise SystemExit(
            f"cocoon: no Cargo.toml at {manifest}: build the package from a cocoon checkout "
            "(pip install ./bindings/python), not from a copy of bindings/python alone")
    profile = os.environ.get("COCOON_BUILD_PROFILE", "release")
    if profile not in ("release", "debug"):
        raise SystemExit(f"cocoon: COCOON_BUILD_PROFILE must be release or debug, not {profile!r}")
    cargo = os.environ.get("CARGO") or shutil.which("cargo")
    if not cargo:
        raise SystemExit("cocoon: cargo not found: install Rust (https://rustup.rs) to build libcocoon")
    # Every feature: the C ABI the bindings call holds them all (images included).
    cmd = [cargo, "build", "--lib", "--all-features", "--manifest-path", str(manifest)]
    if profile == "release":
        cmd.append("--release")
    print("cocoon: " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    if not target.is_absolute():
        target = ROOT / target  # cargo resolves a relative CARGO_TARGET_DIR from the cwd
    so = target / profile / "libcocoon.so"
    if not so.is_file():
        raise SystemExit(f"cocoon: cargo succeeded but {so} does not exist")
    return so


def strip(path: Path) -> None:
    """Drops the debug info and local symbols of a release library (38 MB -> a few MB)."""
    objcopy = shutil.which("objcopy")
    if not objcopy:
        raise SystemExit("cocoon: objcopy (binutils) not found: it strips the bundled library")
    subprocess.run([objcopy, "--strip-unneeded", "--remove-section=.comment", str(path)], check=True)


def glibc_needed(path: Path) -> tuple:
    """The newest GLIBC_2.N version any dynamic symbol of the library needs, as (2, N)."""
    objdump = shutil.which("objdump")
    if not objdump:
        raise SystemExit("cocoon: objdump (binutils) not found: it reads the glibc versions the library needs")
    out = subprocess.run([objdump, "-T", str(path)], check=True, capture_output=True, text=True).stdout
    versions = {(int(a), int(b)) for a, b in re.findall(r"\bGLIBC_(\d+)\.(\d+)\b", out)}
    if not versions:
        raise SystemExit(f"cocoon: {path} needs no GLIBC_ symbol version: not a glibc build?")
    return max(versions)


BUNDLED = []  # the library copied into the build tree, for the wheel's tag


class BuildPy(build_py):
    """build_py that also puts the freshly built library into the package."""

    def run(self):
        super().run()
        so = build_library()
        dests = [Path(self.build_lib) / "cocoon"]
        if getattr(self, "editable_mode", False):
            dests.append(HERE / "cocoon")  # an editable install loads from the source tree
        release = os.environ.get("COCOON_BUILD_PROFILE", "release") == "release"
        for d in dests:
            d.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(so, d / SONAME)
            if release:
                strip(d / SONAME)  # a debug build keeps its symbols for the test suite
            BUNDLED.append(d / SONAME)


class BdistWheel(bdist_wheel):
    """Tags the wheel py3-none-manylinux_2_N_x86_64: ctypes, so any CPython 3; N from the library."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        lib = BUNDLED[0] if BUNDLED else Path(self.bdist_dir) / "cocoon" / SONAME
        major, minor = glibc_needed(lib)
        return "py3", "none", f"manylinux_{major}_{minor}_x86_64"


class BinaryDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform, not py3-none-any."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPy, "bdist_wheel": BdistWheel}, distclass=BinaryDistribution)
