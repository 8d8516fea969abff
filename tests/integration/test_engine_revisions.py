"""The revisions table as Atlas uses it: rows Atlas wrote, schema resolution, the guard, the lock."""

from __future__ import annotations

import json
from dataclasses import replace

import psycopg
import pytest

from dbstack.errors import MigrationError
from dbstack.migrations.engine import ApplyOptions, apply, status
from dbstack.migrations.executor import LOCK_HELD, LOCK_KEY, statement_sums
from dbstack.migrations.revisions import RevisionTable
from test_engine_support import layers, make_dir, query, rows, schemas, tables

pytestmark = pytest.mark.postgres

FILES = {
    "1_one.sql": "CREATE TABLE a (id int);\n",
    "2_two.sql": "CREATE TABLE b (id int);\nCREATE TABLE b2 (id int);\n",
    "3_three.sql": "CREATE TABLE c (id int);\n",
}


def atlas_row(conn, version, desc, typ, applied, total, hash_, ph, error="", error_stmt=""):
    conn.execute(
        'INSERT INTO "atlas_schema_revisions"."atlas_schema_revisions" VALUES '
        "(%s, %s, %s, %s, %s, now(), 1000, %s, %s, %s, %s, 'Atlas CLI v0.38.0')",
        (version, desc, typ, applied, total, error, error_stmt, hash_, ph),
    )


def with_atlas_table(spec):
    conn = psycopg.connect(**spec.connect_kwargs(), autocommit=True)
    conn.execute('CREATE SCHEMA "atlas_schema_revisions"')
    conn.execute(RevisionTable().ddl())
    return conn


def test_rows_written_by_atlas_are_read_correctly(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", FILES)
    from dbstack.migrations.directory import MigrationDir

    sums = {e.name: e.hash for e in MigrationDir(d).read_sum().entries}
    query(fresh_db, "CREATE TABLE a (id int); CREATE TABLE b (id int); CREATE TABLE b2 (id int)")
    with with_atlas_table(fresh_db) as conn:
        # cloud reporting's identifier row (sorts first), an old full partial_hashes array, a JSON null
        conn.execute(
            'INSERT INTO "atlas_schema_revisions"."atlas_schema_revisions" VALUES '
            "('.atlas_cloud_identifier', '0f0c1f4e-3a64-4a8b-9d0b-0d1c8d6f1a11', 2, 0, 0, now(), 0, "
            "NULL, NULL, '', NULL, 'Atlas CLI v0.38.0')"
        )
        atlas_row(
            conn,
            "1",
            "one",
            2,
            1,
            1,
            sums["1_one.sql"],
            json.dumps(["h1:" + statement_sums(["CREATE TABLE a (id int);"])[0]]),
        )
        atlas_row(conn, "2", "two", 2, 2, 2, sums["2_two.sql"], "null")
    st = status(fresh_db, layers(d))
    assert [r.version for r in st.revisions] == ["1", "2"]  # the identifier row is not a revision
    assert st.pending == ["3"] and st.current == "2" and st.next == "3"
    rep = apply(fresh_db, layers(d))
    assert rep.render_text().startswith("Migrating to version 3 from 2 (1 migrations in total):")
    got = rows(fresh_db)
    assert [r["version"] for r in got] == [".atlas_cloud_identifier", "1", "2", "3"]
    assert got[0]["description"] == "0f0c1f4e-3a64-4a8b-9d0b-0d1c8d6f1a11"  # untouched


@pytest.mark.parametrize("stored", [None, "null", "[]", "full"])
def test_partial_hashes_in_any_shape_on_a_complete_row(fresh_db, tmp_path, stored):
    d = make_dir(tmp_path / "m", FILES)
    query(fresh_db, "CREATE TABLE a (id int)")
    ph = json.dumps(["h1:x"]) if stored == "full" else stored
    with with_atlas_table(fresh_db) as conn:
        atlas_row(conn, "1", "one", 2, 1, 1, "h", ph)
    assert apply(fresh_db, layers(d)).applied == ["2", "3"]


def test_resume_a_partial_row_atlas_left(fresh_db, tmp_path):
    """Atlas failed at statement 2 of a txmode-none file; we resume at statement 2."""
    d = make_dir(tmp_path / "m", {**FILES, "2_two.sql": "-- atlas:txmode none\n\n" + FILES["2_two.sql"]})
    query(fresh_db, "CREATE TABLE a (id int); CREATE TABLE b (id int)")
    first = statement_sums(["CREATE TABLE b (id int);"])[0]
    with with_atlas_table(fresh_db) as conn:
        atlas_row(conn, "1", "one", 2, 1, 1, "h", "null")
        atlas_row(
            conn,
            "2",
            "two",
            2,
            1,
            2,
            "h2",
            json.dumps(["h1:" + first]),
            error='pq: relation "b2" already exists',
            error_stmt="CREATE TABLE b2 (id int);",
        )
    st = status(fresh_db, layers(d))
    assert (st.current, st.next, st.count, st.total) == ("2", "2", 1, 2)
    rep = apply(fresh_db, layers(d))
    assert rep.files[0].skipped == 1 and rep.files[0].applied == ["CREATE TABLE b2 (id int);"]
    assert tables(fresh_db) == ["a", "b", "b2", "c"]
    r = rows(fresh_db)[1]
    assert (r["applied"], r["total"], r["error"], r["ph_json_null"]) == (2, 2, "", True)


def test_schema_from_search_path_and_from_the_option(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", FILES)
    query(fresh_db, "CREATE SCHEMA app")
    bound = replace(fresh_db, params=(("search_path", "app"),))
    apply(bound, layers(d))
    assert tables(fresh_db, "app") == ["a", "atlas_schema_revisions", "b", "b2", "c"]
    assert "atlas_schema_revisions" not in schemas(fresh_db)
    assert status(bound, layers(d)).status == "OK"
    d2 = make_dir(tmp_path / "m2", FILES)
    query(fresh_db, "CREATE SCHEMA app2")
    apply(replace(fresh_db, params=(("search_path", "app2"),)), layers(d2), ApplyOptions(revisions_schema="meta"))
    assert tables(fresh_db, "meta") == ["atlas_schema_revisions"]
    assert "atlas_schema_revisions" not in tables(fresh_db, "app2")


def test_ambiguity_guard(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", FILES)
    apply(fresh_db, layers(d))  # database-bound: table in schema atlas_schema_revisions
    bound = replace(fresh_db, params=(("search_path", "public"),))
    with pytest.raises(MigrationError) as e:
        apply(bound, layers(d))
    assert e.value.message == "ambiguous revision table"
    assert e.value.output.startswith(
        "We couldn't find a revision table in the connected schema but found one in \n"
        "the schema 'atlas_schema_revisions' and cannot determine the desired behavior.\n"
    )
    with pytest.raises(MigrationError, match="ambiguous revision table"):
        status(bound, layers(d))
    assert "atlas_schema_revisions" not in tables(fresh_db, "public")
    assert status(bound, layers(d), revisions_schema="atlas_schema_revisions").status == "OK"


def test_an_older_table_gets_the_missing_columns(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", FILES)
    query(fresh_db, 'CREATE SCHEMA "atlas_schema_revisions"')
    old = (
        RevisionTable()
        .ddl()
        .replace(', "partial_hashes" jsonb NULL, "operator_version" character varying NOT NULL', "")
    )
    query(fresh_db, old)
    apply(fresh_db, layers(d))
    got = rows(fresh_db)
    assert len(got) == 3 and all(r["operator_version"].startswith("dbstack v") for r in got)


def test_status_does_not_create_anything(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", FILES)
    st = status(fresh_db, layers(d))
    assert st.render_text() == (
        "Migration Status: PENDING\n  -- Current Version: No migration applied yet\n"
        "  -- Next Version:    1\n  -- Executed Files:  0\n  -- Pending Files:   3\n"
    )
    assert schemas(fresh_db) == ["public"]


def test_lock_held_elsewhere_times_out_with_atlas_text(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", FILES)
    with psycopg.connect(**fresh_db.connect_kwargs(), autocommit=True) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]
        with pytest.raises(MigrationError) as e:
            apply(fresh_db, layers(d), ApplyOptions(lock_timeout=0.3))
        assert e.value.message == LOCK_HELD == "acquiring database lock: sql/schema: lock is held by other session"
        with pytest.raises(MigrationError, match="lock is held"):
            apply(fresh_db, layers(d), ApplyOptions(lock_timeout=0, dry_run=True))
        assert tables(fresh_db) == []
    rep = apply(fresh_db, layers(d), ApplyOptions(lock_timeout=0))
    assert rep.applied == ["1", "2", "3"]
    assert query(fresh_db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]


def test_lock_is_released_after_a_failure(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", {**FILES, "2_two.sql": "SELECT 1/0;\n"})
    with pytest.raises(MigrationError, match="division by zero"):
        apply(fresh_db, layers(d))
    assert query(fresh_db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]
