"""The checker behind docs/first-day.md (tests/firstday.py): parsing, placeholders, and above all
that a changed message, flag or exit code in a command's output fails it."""

from __future__ import annotations

import re

import pytest

import firstday
from testpaths import ROOT

GUIDE = ROOT / "docs" / "first-day.md"

SAMPLE = """
Intro text with `inline` code.

```bash
git clone <this repository> dbstack   # not run
```

```console
$ inv migrate
Migrating to version <VERSION> from 20240206000001 (1 migrations in total):
...
  -- ok (<DURATION>)
$ cat > f.sql <<'SQL'
> SELECT 1;
>
> SQL
$ inv migrate-status
Migration Status: PENDING
[exit 2]
```
"""

MIGRATE_OUT = """Migrating to version 20261201203020 from 20240206000001 (1 migrations in total):

  -- migrating version 20261201203020
    -> ALTER TABLE users ADD COLUMN bio text;
  -- ok (1.48ms)
"""


def test_parse_reads_console_blocks_only_with_continuations_and_exit_codes():
    steps = firstday.parse(SAMPLE)
    assert [s.command for s in steps] == ["inv migrate", "cat > f.sql <<'SQL'\nSELECT 1;\n\nSQL", "inv migrate-status"]
    assert steps[0].expected == [
        "Migrating to version <VERSION> from 20240206000001 (1 migrations in total):",
        "-- ok (<DURATION>)",
    ]
    assert [s.exit_code for s in steps] == [0, 0, 2]
    assert steps[2].expected == ["Migration Status: PENDING"]


def test_parse_refuses_output_before_a_command_and_unclosed_blocks():
    with pytest.raises(ValueError, match="output before any command"):
        firstday.parse("```console\nstray output\n```\n")
    with pytest.raises(ValueError, match="not closed"):
        firstday.parse("```console\n$ inv migrate\n")


def test_matching_output_passes():
    step = firstday.parse(SAMPLE)[0]
    assert firstday.problems(step, 0, MIGRATE_OUT) == []


@pytest.mark.parametrize(
    "changed",
    [
        MIGRATE_OUT.replace("Migrating to version", "Migrating towards version"),  # a reworded message
        MIGRATE_OUT.replace("(1 migrations in total)", "(1 migration in total)"),
        MIGRATE_OUT.replace("-- ok (1.48ms)", "-- ok"),  # a line dropped
        MIGRATE_OUT.replace("20261201203020 from", "2026-12-01 from"),  # placeholder no longer fits
    ],
)
def test_a_changed_line_fails(changed):
    step = firstday.parse(SAMPLE)[0]
    found = firstday.problems(step, 0, changed)
    assert len(found) == 1 and "no output line matches" in found[0]


def test_a_changed_exit_code_fails():
    step = firstday.parse(SAMPLE)[2]
    assert firstday.problems(step, 2, "Migration Status: PENDING\n") == []
    assert firstday.problems(step, 0, "Migration Status: PENDING\n") == ["exit 0, the guide says 2"]


@pytest.mark.parametrize(
    "placeholder,good,bad",
    [
        ("<DURATION>", ["9.5s", "116.961ms", "508µs", "2m"], ["fast", "9.5", "ms"]),
        ("<VERSION>", ["20261201203020"], ["2026120120302", "v20261201203020"]),
        ("<N>", ["4", "4,586", "0.5"], ["four", ""]),
    ],
)
def test_placeholders(placeholder, good, bad):
    rx = firstday.pattern(f"took {placeholder} here")
    for v in good:
        assert rx.fullmatch(f"took {v} here"), v
    for v in bad:
        assert not rx.fullmatch(f"took {v} here"), v


def test_any_text_placeholder_and_literal_regex_characters():
    rx = firstday.pattern("created <...>manifests/x/<VERSION>_add.sql (ok?)")
    assert rx.fullmatch("created /tmp/c/manifests/x/20261201203020_add.sql (ok?)")
    assert rx.fullmatch("created manifests/x/20261201203020_add.sql (ok?)")
    assert not rx.fullmatch("created manifests/x/20261201203020_addXsql (ok?)")


# --------------------------------------------------------------------------- the guide itself


def _fill(expected: str) -> str:
    """A line the real command could print for this expected line (placeholders filled in)."""
    samples = {"<...>": "some text", "<N>": "42", "<DURATION>": "1.5s", "<VERSION>": "20261201203020"}
    return re.sub("|".join(re.escape(p) for p in samples), lambda m: samples[m.group(0)], expected)


def test_the_guide_walks_the_newcomer_path_in_order():
    commands = [s.command for s in firstday.load(GUIDE)]
    order = [
        "./scripts/setup",
        "inv reset-db",
        "inv db-inspect",
        "inv db-erd --format html",
        "inv migrate-new",
        "inv migrate-lint",
        "inv migrate",
        "inv migrate-status",
        "psycopg",
        "inv db-drift",
        "inv db-reset",
        "inv kind-cnpg-setup staging --dry-run",
    ]
    pos = 0
    for want in order:
        hits = [i for i, c in enumerate(commands) if i >= pos and want in c]
        assert hits, f"{want!r} missing from the guide, or out of order"
        pos = hits[0]
    # Nothing in the guide touches a real cluster: every Kubernetes step is a dry run.
    for c in commands:
        if "kind-" in c or "cnpg-" in c:
            assert "--dry-run" in c, c


def test_every_line_the_guide_quotes_is_checked_and_a_change_to_any_of_them_fails():
    steps = firstday.load(GUIDE)
    quoted = [(s, e) for s in steps for e in s.expected]
    assert len(quoted) >= 15, "the guide should show real output for its steps"
    for step, exp in quoted:
        output = "\n".join(_fill(e) for e in step.expected)
        assert firstday.problems(step, step.exit_code, output) == [], exp
        # Change one word of this one line, as a reworded message would.
        words = _fill(exp).split(" ")
        i = max(range(len(words)), key=lambda k: len(words[k]))
        words[i] = words[i][::-1] + "X"
        changed = "\n".join(" ".join(words) if e == exp else _fill(e) for e in step.expected)
        found = firstday.problems(step, step.exit_code, changed)
        assert any(repr(exp) in f for f in found), f"changing {exp!r} went unnoticed"


def test_the_readme_quick_start_links_the_guide():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "(docs/first-day.md)" in quick
