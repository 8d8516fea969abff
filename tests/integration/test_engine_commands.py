"""The settings-level commands (commands.migrate / commands.migration_status) other tools call."""

from __future__ import annotations

import pytest

from dbstack.migrations import commands
from dbstack.migrations.engine import ApplyOptions
from dbstack.settings import from_mapping
from test_engine_support import make_dir, rows, tables

pytestmark = pytest.mark.postgres


def settings_for(spec, tmp_path, dirs, revisions_schema=""):
    """Database `spec.dbname` with these layers, on a target whose password comes from the env."""
    return from_mapping(
        {
            "database": spec.dbname,
            "lock_timeout": 2,
            "databases": {spec.dbname: {"dirs": [str(d) for d in dirs], "revisions_schema": revisions_schema}},
            "targets": {
                "here": {
                    "kind": "server",
                    "host": spec.host,
                    "port": spec.port,
                    "user": spec.user,
                    "password_env": "DBSTACK_TEST_PW",
                    "dev": True,
                }
            },
        },
        root=tmp_path,
    )


def test_migrate_and_status_from_settings(fresh_db, tmp_path, monkeypatch):
    monkeypatch.setenv("DBSTACK_TEST_PW", fresh_db.password)
    a = make_dir(tmp_path / "bronze", {"1_a.sql": "CREATE TABLE a (id int);\n"})
    b = make_dir(tmp_path / "silver", {"2_b.sql": "CREATE TABLE b (id int);\n"})
    s = settings_for(fresh_db, tmp_path, [a, b], revisions_schema="meta")
    st = commands.migration_status(s, target="here")
    assert st.status == "PENDING" and st.pending == ["1", "2"]
    lines: list[str] = []
    rep = commands.migrate(s, target="here", out=lines.append)
    assert rep.applied == ["1", "2"] and lines == ["migrating versions 1..2 (1-2/2)"]
    assert tables(fresh_db, "meta") == ["atlas_schema_revisions"]  # revisions_schema from settings
    assert [r["version"] for r in rows(fresh_db, '"meta"."atlas_schema_revisions"')] == ["1", "2"]
    assert commands.migration_status(s, target="here").status == "OK"


def test_dir_overrides_the_configured_layers(fresh_db, tmp_path, monkeypatch):
    monkeypatch.setenv("DBSTACK_TEST_PW", fresh_db.password)
    only = make_dir(tmp_path / "other", {"7_x.sql": "CREATE TABLE x (id int);\n"})
    s = from_mapping(
        {
            "database": fresh_db.dbname,
            "databases": {fresh_db.dbname: {"dirs": [str(tmp_path / "missing")]}},
            "targets": {
                "here": {
                    "kind": "server",
                    "host": fresh_db.host,
                    "port": fresh_db.port,
                    "user": fresh_db.user,
                    "password_env": "DBSTACK_TEST_PW",
                }
            },
        },
        root=tmp_path,
    )
    rep = commands.migrate(s, target="here", dir=str(only), opts=ApplyOptions(dry_run=True))
    assert rep.pending == ["7"] and tables(fresh_db) == []
    assert commands.migrate(s, target="here", dir=str(only)).applied == ["7"]
