"""`inv test` runs ruff and mypy before pytest: all of them, the linter alone with --quick, none with --no-checks."""

from __future__ import annotations

import sys

import invoke
import pytest

from dbstack.errors import DbstackError
from dbstack.tasks import dev


class Calls:
    """Stands in for subprocess.call: records each argv and answers from `codes` (0 when absent)."""

    def __init__(self, codes=None):
        self.argvs: list[list[str]] = []
        self.codes = codes or {}

    def __call__(self, argv, cwd=None):
        self.argvs.append(list(argv))
        return next((code for word, code in self.codes.items() if word in argv), 0)

    def tools(self):
        return [" ".join(a[2:4]) if a[:2] == [sys.executable, "-m"] else a[0] for a in self.argvs]


def run_task(monkeypatch, calls, **kw):
    monkeypatch.setattr(dev.subprocess, "call", calls)
    try:
        dev.test.body(invoke.Context(), **kw)
    except invoke.Exit as exc:
        return exc.code
    return 0


def test_a_full_run_checks_before_pytest_and_the_quick_one_lints_only(monkeypatch):
    calls = Calls()
    assert run_task(monkeypatch, calls, other_pythons=False) == 0
    assert calls.tools() == ["ruff check", "ruff format", "mypy", "pytest tests"]
    calls = Calls()
    assert run_task(monkeypatch, calls, quick=True) == 0
    assert calls.tools() == ["ruff check", "pytest tests/unit"]
    calls = Calls()
    assert run_task(monkeypatch, calls, quick=True, checks=False) == 0
    assert calls.tools() == ["pytest tests/unit"]


def test_a_failing_check_stops_the_run_and_names_the_tool(monkeypatch, capsys):
    calls = Calls({"format": 1})
    assert run_task(monkeypatch, calls, other_pythons=False) == 1
    assert calls.tools() == ["ruff check", "ruff format"]  # neither mypy nor pytest ran
    err = capsys.readouterr().err
    assert "Error: ruff format --check failed (exit 1)" in err and "`ruff format .`" in err


def test_a_missing_tool_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(dev.CHECKS, "mypy", ["no_such_checker_module"])
    calls = Calls()
    with pytest.raises(DbstackError, match="not installed") as ei:
        dev.run_checks(["ruff check", "mypy"], root=tmp_path, call=calls)
    assert "scripts/setup --test" in ei.value.hint
    assert [a[2] for a in calls.argvs] == ["ruff"]
