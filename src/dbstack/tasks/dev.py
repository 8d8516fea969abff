"""Tasks for working on dbstack itself."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from ._task import task

# The static checks `inv test` runs before pytest, cheapest first, each configured in pyproject.toml.
# The format check is its own step so that its failure names `ruff format`, not the linter.
CHECKS = {
    "ruff check": ["ruff", "check", "--output-format=concise", "."],  # one line a finding
    "ruff format --check": ["ruff", "format", "--check", "."],
    "mypy": ["mypy"],
}
# --quick keeps the linter only: it takes a second, mypy takes a quarter of a minute.
QUICK_CHECKS = ("ruff check",)


def run_checks(names, *, root, call=None) -> None:
    """Run the named static checks in order from the project root; raise at the first that fails."""
    from ..errors import DbstackError

    call = call or subprocess.call
    for name in names:
        argv = CHECKS[name]
        if importlib.util.find_spec(argv[0]) is None:
            raise DbstackError(
                f"{name}: {argv[0]} is not installed in this environment",
                "run ./scripts/setup --test (it installs the test extra), or pass --no-checks",
            )
        print(f"==> {name}", flush=True)
        code = call([sys.executable, "-m", *argv], cwd=root)
        if code:
            fix = "run `ruff format .`" if name.startswith("ruff format") else "fix the findings above"
            raise DbstackError(f"{name} failed (exit {code})", f"{fix}; `inv test --no-checks` skips the checks")


@task(
    help={
        "k": "only tests matching this pytest -k expression",
        "path": "test file or directory (default: tests/)",
        "quick": "unit tests only, with this interpreter (no PostgreSQL, Docker or kubectl); of the static "
        "checks only `ruff check` runs",
        "checks": "run ruff (lint and format check) and mypy before the tests (default); --no-checks skips them",
        "other_pythons": "after a full run, the unit tier and the engine smoke tests under every other "
        "supported CPython found here (tests/pythons.py); --no-other-pythons skips them",
    }
)
def test(c, k=None, path=None, quick=False, checks=True, other_pythons=True):
    """Run ruff and mypy, then the test suite (all tiers), then the unit tier under every other CPython here."""
    from ..errors import DbstackError
    from ..settings import find_root

    if checks:
        run_checks(QUICK_CHECKS if quick else tuple(CHECKS), root=find_root())
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
