"""Paths every test may need (a module of its own: `conftest` names are ambiguous)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ATLAS_DIRS = SHARED / "testdata" / "atlas-dirs"
# The `inv` installed beside the interpreter that runs the tests, whatever virtualenv that is.
INV = str(Path(sys.executable).parent / "inv")


def require_tool(name: str, package: str, version_args: tuple[str, ...] = ("--version",)) -> str:
    """The path of a working `name`; a test without it is skipped on a laptop but FAILS in CI (CI set),
    where scripts/setup --test installs `package`."""
    import shutil
    import subprocess

    path = shutil.which(name)
    try:
        works = bool(path) and subprocess.run([path, *version_args], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        works = False
    if not works:
        unavailable(
            f"{name} is not usable here (install {package})",
            f"{name} is required in CI and does not work here (scripts/setup --test installs {package})",
        )
    return path


def unavailable(why: str, in_ci: str) -> None:
    """Something a test needs is missing: skip on a laptop, fail in CI (CI set), where it must run."""
    import os

    import pytest

    if os.environ.get("CI"):
        pytest.fail(in_ci)
    pytest.skip(f"{why}; CI runs this test")
