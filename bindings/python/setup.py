"""Builds libcocoon with cargo and ships it inside the package as cocoon/libcocoon.so.0.

`pip install ./bindings/python` from a cocoon checkout is then all a user needs: pip (>= 21.3)
builds a local directory in place, so the repository root is found relative to this file.
Environment: CARGO (the cargo binary), CARGO_TARGET_DIR (honoured, as cargo does),
COCOON_BUILD_PROFILE (release, the default, or debug: the test suite reuses its debug build).
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

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
    cmd = [cargo, "build", "--lib", "--manifest-path", str(manifest)]
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


class BuildPy(build_py):
    """build_py that also puts the freshly built library into the package."""

    def run(self):
        super().run()
        so = build_library()
        dests = [Path(self.build_lib) / "cocoon"]
        if getattr(self, "editable_mode", False):
            dests.append(HERE / "cocoon")  # an editable install loads from the source tree
        for d in dests:
            d.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(so, d / SONAME)


class BinaryDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform, not py3-none-any."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPy}, distclass=BinaryDistribution)
