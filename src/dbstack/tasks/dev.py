"""Tasks for working on dbstack itself."""
from __future__ import annotations

import subprocess
import sys

from ._task import task


@task(help={"k": "only tests matching this pytest -k expression",
            "path": "test file or directory (default: tests/)",
            "quick": "unit tests only (no PostgreSQL, Docker or kubectl)"})
def test(c, k=None, path=None, quick=False):
    """Run the test suite (unit, PostgreSQL, Docker and manifest tiers)."""
    from ..errors import DbstackError

    args = [sys.executable, "-m", "pytest", path or ("tests/unit" if quick else "tests")]
    if k:
        args += ["-k", k]
    code = subprocess.call(args)
    if code:
        raise DbstackError(f"tests failed (pytest exit {code})", "see the failures above")
