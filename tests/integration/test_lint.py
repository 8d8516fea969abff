"""migrate-lint on a real PostgreSQL: one corpus migration per code, nolint, integrity checks, the task."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from dbstack.analysis.lint import lint_layers
from dbstack.migrations.directory import MigrationDir
from dbstack.migrations.layers import Layers
from testpaths import INV, ROOT

pytestmark = pytest.mark.postgres

CORPUS = ROOT / "tests" / "data" / "lint"


def _expected() -> dict[str, tuple[str, int, str]]:
    out = {}
    for line in (CORPUS / "expected.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            case, name, lineno, code = line.split("\t")
            out[case] = (name, int(lineno), code)
    return out


EXPECTED = _expected()


def lint(server, d: Path, **kw):
    return lint_layers(Layers.of([d]), server, root=ROOT, **{"latest": 1, **kw})


def found(report) -> list[tuple[str, int, str]]:
    return [(Path(f.file).name, f.line, f.code) for f in report.findings]


def scratch_left(server) -> list[str]:
    with psycopg.connect(**server.connect_kwargs(), autocommit=True) as pg:
        return [r[0] for r in pg.execute("select datname from pg_database where datname like 'dbstack\\_%%'")]


def copy_case(case: str, tmp_path: Path) -> Path:
    d = tmp_path / case
    shutil.copytree(CORPUS / case, d)
    return d


def insert_line(path: Path, before_line: int, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(before_line - 1, text + "\n")
    path.write_text("".join(lines))


def test_corpus_covers_every_code():
    codes = {code for _, _, code in EXPECTED.values()}
    assert {
        "DS101",
        "DS102",
        "DS103",
        "MF101",
        "MF102",
        "MF103",
        "MF104",
        "BC101",
        "BC102",
        "CD101",
        "PG101",
        "PG102",
        "PG103",
        "PG104",
        "PG105",
        "PG301",
        "PG302",
        "PG303",
        "PG304",
        "PG305",
        "PG306",
    } <= codes


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_migration_triggers_exactly_its_code(pg_server, case):
    report = lint(pg_server, CORPUS / case)
    assert found(report) == [EXPECTED[case]], report.render_text()
    f = report.findings[0]
    assert f.message and f.hint
    assert f.severity == ("error" if f.code.startswith(("DS", "IN")) else "warning")
    assert report.failed == (f.severity == "error")


@pytest.mark.parametrize("case", sorted(c for c in EXPECTED if c != "IN105"))
def test_each_finding_is_silenced_by_its_nolint(pg_server, tmp_path, case):
    d = copy_case(case, tmp_path)
    name, line, code = EXPECTED[case]
    f = d / name
    if code == "PG103":
        f.write_text(f"-- atlas:nolint {code}\n\n" + f.read_text())  # a file-level finding: a file directive
    else:
        insert_line(f, line, f"-- atlas:nolint {code}")
    MigrationDir(d).write_sum()
    assert found(lint(pg_server, d)) == []


@pytest.mark.parametrize(
    "directive,silenced",
    [
        ("-- atlas:nolint destructive", True),  # analyzer name
        ("-- atlas:nolint", True),  # bare: everything on the statement
        ("--atlas:nolint DS102", True),
        ("-- atlas:nolint DS103 data_depend", False),
        ("FILE:-- atlas:nolint DS102", True),  # file directive with a code: every statement
        ("FILE:-- atlas:nolint", True),  # bare file directive: the file is skipped
        ("FILE:-- atlas:nolint incompatible", False),
    ],
)
def test_nolint_forms(pg_server, tmp_path, directive, silenced):
    d = copy_case("DS102", tmp_path)
    name, line, _ = EXPECTED["DS102"]
    f = d / name
    if directive.startswith("FILE:"):
        f.write_text(directive[5:] + "\n\n" + f.read_text())
    else:
        insert_line(f, line, directive)
    MigrationDir(d).write_sum()
    codes = [c for _, _, c in found(lint(pg_server, d))]
    assert codes == ([] if silenced else ["DS102"])


def test_clean_corpus_has_no_findings(pg_server):
    report = lint(pg_server, CORPUS / "clean")
    assert report.findings == [] and not report.failed
    assert report.render_text() == "No findings in 1 migration file.\n"
    assert scratch_left(pg_server) == []


def test_latest_covers_several_files_and_all_by_default_when_fewer(pg_server, tmp_path):
    d = copy_case("PG101", tmp_path)
    (d / "20240103000001_drop_tags.sql").write_text("DROP TABLE tags;\n")
    MigrationDir(d).write_sum()
    assert [c for _, _, c in found(lint(pg_server, d, latest=2))] == ["PG101", "DS102"]
    assert [c for _, _, c in found(lint(pg_server, d, latest=1))] == ["DS102"]


def test_strict_turns_warnings_into_errors(pg_server):
    report = lint(pg_server, CORPUS / "PG101", strict=True)
    assert [f.severity for f in report.findings] == ["error"] and report.failed


def test_edited_file_is_a_checksum_finding(pg_server, tmp_path):
    d = copy_case("PG101", tmp_path)
    name = EXPECTED["PG101"][0]
    (d / name).write_text((d / name).read_text() + "-- edited\n")
    report = lint(pg_server, d)
    assert [(Path(f.file).name, f.code, f.severity) for f in report.findings] == [("atlas.sum", "IN101", "error")]
    assert "L3" in report.findings[0].message and report.findings[0].line == 3


def test_duplicate_versions_are_a_finding(pg_server, tmp_path):
    d = copy_case("PG101", tmp_path)
    (d / "20240102000001_other.sql").write_text("SELECT 1;\n")
    MigrationDir(d).write_sum()
    report = lint(pg_server, d)
    assert [f.code for f in report.findings] == ["IN102"] and report.failed


def test_hidden_files_are_a_finding_named_as_such(pg_server, tmp_path):
    d = copy_case("PG101", tmp_path)
    (d / ".hidden_9999.sql").write_text("SELECT 1;\n")
    MigrationDir(d).write_sum()  # Atlas hashes it, so the sum is fine: lint names the real problem
    report = lint(pg_server, d)
    assert [(f.code, Path(f.file).name) for f in report.findings] == [("IN102", ".hidden_9999.sql")]
    assert "hidden file" in report.findings[0].message and report.failed


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True, capture_output=True
    )


def test_git_base_lints_new_files_and_flags_out_of_order_ones(pg_server, tmp_path):
    repo = tmp_path / "repo"
    d = repo / "migrations"
    d.mkdir(parents=True)
    shutil.copy(CORPUS / "PG101" / "20240101000001_base.sql", d)
    (d / "20240105000001_later.sql").write_text("ALTER TABLE users ADD COLUMN phone text;\n")
    MigrationDir(d).write_sum()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "checkout", "-q", "-b", "feature")
    # a new file after the existing ones (committed on the branch) ...
    (d / "20240106000001_age_idx.sql").write_text("CREATE INDEX users_age_idx ON users (age);\n")
    MigrationDir(d).write_sum()
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "index")
    report = lint(pg_server, d, latest=None, git_base="main")
    assert found(report) == [("20240106000001_age_idx.sql", 1, "PG101")]
    assert report.files == [str(d / "20240106000001_age_idx.sql")]
    # ... and an untracked one that sorts before a file main already has
    (d / "20240102000001_early.sql").write_text("ALTER TABLE users DROP COLUMN bio;\n")
    MigrationDir(d).write_sum()
    report = lint(pg_server, d, latest=None, git_base="main")
    codes = [(Path(f.file).name, f.code) for f in report.findings]
    assert ("20240102000001_early.sql", "IN103") in codes and ("20240102000001_early.sql", "DS103") in codes
    assert ("20240106000001_age_idx.sql", "PG101") in codes
    assert report.failed


def _inv(args, conn):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env["DATABASE_URL"] = conn.url(masked=False)
    return subprocess.run(
        [INV, "migrate-lint", *args, "--target", "cnpg"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_task_exit_codes_and_output(fresh_db, pg_server):
    res = _inv(["--dir", str(CORPUS / "DS102")], fresh_db)
    assert res.returncode == 1
    assert res.stdout.startswith(
        'tests/data/lint/DS102/20240102000001_drop_tags.sql:2: DS102 error: Dropping table "tags" (fix: '
    )
    assert "migrate-lint: 1 error" in res.stderr
    res = _inv(["--dir", str(CORPUS / "PG101")], fresh_db)
    assert res.returncode == 0 and "PG101 warning" in res.stdout
    res = _inv(["--dir", str(CORPUS / "PG101"), "--strict"], fresh_db)
    assert res.returncode == 1 and "PG101 error" in res.stdout
    res = _inv(["--dir", str(CORPUS / "clean"), "--json"], fresh_db)
    assert res.returncode == 0 and json.loads(res.stdout)["findings"] == []
    res = _inv(["--dir", str(CORPUS / "PG101"), "--latest", "x"], fresh_db)
    assert res.returncode == 1 and "--latest must be a number" in res.stderr
    assert fresh_db.password not in res.stdout + res.stderr
    assert scratch_left(pg_server) == []
