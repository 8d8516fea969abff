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
    import os
    import shutil
    import subprocess

    import pytest

    path = shutil.which(name)
    try:
        works = bool(path) and subprocess.run([path, *version_args], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        works = False
    if not works:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI and does not work here (scripts/setup --test installs {package})")
        pytest.skip(f"{name} is not usable here (install {package}); CI runs this test")
    return path
