"""The scanner finishes on every input, under every supported CPython.

CPython releases before 3.11.5 match possessive quantifiers and atomic groups
wrongly (python/cpython gh-106052); with them the scanner looped forever on
``SELECT 1;`` under Debian 12's own python3 (3.11.2).  The scan runs in a child
process so that a hang fails this test after a deadline instead of blocking the
suite; the unit tier runs under every interpreter of the machine (see
``tests/pythons.py``), so this guard does too.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from testpaths import ATLAS_DIRS, ROOT

DATA = ROOT / "tests" / "data" / "scanner"

# Inputs that make a backtracking regex explode if an inner loop is not atomic:
# unclosed comments, quotes and parentheses after long runs of text.
PATHOLOGICAL = {
    "unclosed block comment": "select 1 /*" + "a*b/ " * 20000,
    "unclosed parenthesis": "select " + "(" * 6 + "a b -/ $ " * 10000,
    "unclosed quote": "select '" + "x " * 50000,
    "deep nesting": "select " + "(a " * 2000 + ")" * 2000 + ";",
    "comments in parentheses": "select (" + "/* c */ (x) " * 10000 + ";",
    "many statements": "select 1;\n" * 20000,
    "begin atomic blocks": "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC select 1; END;\n" * 300,
}

CHILD = r"""
import json, sys
from dbstack.errors import ScanError
from dbstack.migrations.scanner import scan
out = {}
for name, text in json.load(sys.stdin).items():
    try:
        out[name] = [s.text for s in scan(text)]
    except ScanError as e:
        out[name] = "error: " + str(e)
json.dump(out, sys.stdout)
"""


def scan_in_child(inputs: dict[str, str], deadline: float) -> dict[str, object]:
    try:
        cp = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=json.dumps(inputs),
            capture_output=True,
            text=True,
            timeout=deadline,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the scanner did not finish within {deadline:.0f} s under {sys.version.split()[0]}")
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout)


def test_the_simplest_statement_scans():
    assert scan_in_child({"one": "SELECT 1;"}, 30) == {"one": ["SELECT 1;"]}


def test_pathological_inputs_finish():
    out = scan_in_child(PATHOLOGICAL, 120)
    assert out["many statements"] == ["select 1;"] * 20000
    assert out["deep nesting"] == [PATHOLOGICAL["deep nesting"]]
    assert len(out["begin atomic blocks"]) == 300
    for name in ("unclosed parenthesis", "unclosed quote", "comments in parentheses"):
        assert str(out[name]).startswith("error: "), name
    # An unclosed comment is statement text to the end of the input, as in Atlas.
    assert out["unclosed block comment"] == [PATHOLOGICAL["unclosed block comment"].rstrip()]


def test_golden_corpus_finishes_and_matches():
    cases = sorted(DATA.glob("*.sql"))
    assert cases, "tests/data/scanner is empty"
    out = scan_in_child({p.name: p.read_bytes().decode("utf-8") for p in cases}, 120)
    for p in cases:
        expected = p.with_name(p.name + ".golden").read_bytes().decode("utf-8")
        assert "\n-- end --\n".join(out[p.name]) == expected, p.name


@pytest.mark.skipif(not ATLAS_DIRS.is_dir(), reason="../shared/testdata/atlas-dirs is absent (optional corpus)")
def test_real_world_corpus_finishes():
    files = {
        str(p.relative_to(ATLAS_DIRS)): p.read_bytes().decode("utf-8", "replace")
        for p in sorted(ATLAS_DIRS.rglob("*.sql"))
    }
    out = scan_in_child(files, 300)
    assert set(out) == set(files)
    scanned = sum(len(v) for v in out.values() if isinstance(v, list))
    assert scanned > len(files), "the corpus scanned to almost nothing"
