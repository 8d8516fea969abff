"""Lint's statement recogniser and rewrite rules (no server)."""

from __future__ import annotations

import pytest

from dbstack.analysis.lint import Finding, LintReport, analyzer_of, needs_rewrite, normalize, parse


def test_normalize_drops_comments_keeps_quotes():
    assert normalize("-- c\nCREATE  INDEX /* x */ i ON t (a);") == "CREATE INDEX i ON t (a)"
    assert normalize("SELECT '--not a comment';") == "SELECT '--not a comment'"


@pytest.mark.parametrize(
    "sql,attr,expected",
    [
        ("create index concurrently i on t (a);", "concurrently", True),
        ("CREATE UNIQUE INDEX i ON t (a);", "concurrently", False),
        ("drop index concurrently if exists i;", "concurrently", True),
        ("ALTER TABLE t RENAME TO u;", "rename_table", True),
        ("ALTER TABLE t RENAME COLUMN a TO b;", "rename_column", True),
        ("ALTER TABLE t RENAME CONSTRAINT a TO b;", "rename_column", False),
        ("ALTER TABLE t ADD PRIMARY KEY USING INDEX i;", "using_index", True),
        ("UPDATE t SET a = 1;", "dml", True),
        ("DO $$ BEGIN CREATE TABLE x (); END $$;", "dml", False),
    ],
)
def test_recogniser(sql, attr, expected):
    assert bool(getattr(parse(sql), attr)) is expected


def test_non_transactional_statements():
    assert parse("VACUUM t;").non_transactional(150000) == "VACUUM"
    assert parse("ALTER TYPE mood ADD VALUE 'x';").non_transactional(110000)
    assert parse("ALTER TYPE mood ADD VALUE 'x';").non_transactional(150000) is None
    assert parse("COMMIT;").non_transactional(150000)
    assert parse("CREATE TABLE t (a int);").non_transactional(150000) is None


def test_updates_column():
    p = parse("UPDATE public.users SET email = '' WHERE email IS NULL;")
    assert p.updates_column("users", "email") and not p.updates_column("users", "name")
    assert not p.updates_column("posts", "email")


@pytest.mark.parametrize(
    "old,new,rewrite",
    [
        ("character varying(10)", "character varying(20)", False),
        ("character varying(20)", "character varying(10)", True),
        ("character varying(20)", "character varying", False),
        ("character varying", "text", False),
        ("text", "character varying(40)", True),
        ("numeric(10,2)", "numeric(12,2)", False),
        ("numeric(10,2)", "numeric(12,3)", True),
        ("integer", "bigint", True),
    ],
)
def test_needs_rewrite(old, new, rewrite):
    assert needs_rewrite(old, new) is rewrite


def test_analyzer_names_and_report():
    assert [analyzer_of(c) for c in ("DS102", "MF101", "BC101", "CD101", "PG101", "PG305", "IN101")] == [
        "destructive",
        "data_depend",
        "incompatible",
        "condrop",
        "concurrent_index",
        "blocking",
        "integrity",
    ]
    r = LintReport([Finding("a.sql", 3, "PG101", "msg", "hint", "warning")], files=["a.sql"])
    assert not r.failed
    assert r.render_text() == "a.sql:3: PG101 warning: msg (fix: hint)\n0 errors, 1 warning in 1 migration file.\n"
    assert LintReport([], files=["a.sql", "b.sql"]).render_text() == "No findings in 2 migration files.\n"
