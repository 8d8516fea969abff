"""Tasks for working on dbstack itself."""
from __future__ import annotations

import subprocess
import sys

from ._task import task


@task(help={"k": "only tests matching this pytest -k expression",
            "path": "test file or directory (default: tests/)",
            "quick": "unit tests only, with this interpreter (no PostgreSQL, Docker or kubectl)",
            "other_pythons": "after a full run, the unit tier and the engine smoke tests under every other "
                             "supported CPython found here (tests/pythons.py); --no-other-pythons skips them"})
def test(c, k=None, path=None, quick=False, other_pythons=True):
    """Run the test suite (all tiers), then the unit tier under every other CPython here."""
    from ..errors import DbstackError

    args = [sys.executable, "-m", "pytest", path or ("tests/unit" if quick else "tests")]
    if k:
        args += ["-k", k]
    code = subprocess.call(args)
    if code:
        raise DbstackError(f"tests failed (pytest exit {code})", "see the failures above")
    if other_pythons and not (quick or k or path):
        code = subprocess.call([sys.executable, "tests/pythons.py"])
        if code:
            raise DbstackError("tests failed under another Python (tests/pythons.py)", "see the failures above")
