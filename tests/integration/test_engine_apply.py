"""Apply on a real PostgreSQL: what Atlas would do and write (Atlas's revision.go, migrate.go, cmdlog.go)."""

from __future__ import annotations

import pytest

from dbstack.errors import ChecksumError, MigrationDirError, MigrationError, UsageError
from dbstack.migrations import scanner
from dbstack.migrations.directory import MigrationDir
from dbstack.migrations.engine import OPERATOR_VERSION, ApplyOptions, apply, status
from test_engine_support import ROOT, layers, make_dir, query, rehash, rows, schemas, tables

pytestmark = pytest.mark.postgres

THREE = {
    "1_one.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
    "2_two.sql": "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n",
    "3_three.sql": "-- comments before a statement are not part of it\nCREATE TABLE c (id int);\n",
}


def test_sample_project_applies_and_rows_are_what_atlas_writes(fresh_db):
    d = ROOT / "manifests" / "migrations" / "mydatabase"
    ls = layers(d)
    rep = apply(fresh_db, ls)
    files = ls.files()
    assert rep.applied == [f.version for f in files] and not rep.failed
    assert rep.current == "" and rep.target == files[-1].version
    text = rep.render_text()
    assert text.startswith(f"Migrating to version {files[-1].version} ({len(files)} migrations in total):\n\n")
    assert f"  -- {len(files)} migrations\n" in text
    sums = {e.name: e.hash for e in MigrationDir(d).read_sum().entries}
    got = rows(fresh_db)
    assert [r["version"] for r in got] == [f.version for f in files]
    for f, r in zip(files, got, strict=True):  # same length: asserted above
        n = len(scanner.scan(f.text()))
        assert r["hash"] == sums[f.name]  # the file's atlas.sum entry, no h1:
        assert r["applied"] == r["total"] == n
        assert r["type"] == 2 and r["description"] == f.description
        assert r["error"] == "" and r["error_stmt"] == ""  # '' not NULL, as ent writes them
        assert r["ph_json_null"] is True and r["ph_sql_null"] is False  # JSON null (Atlas >= v0.31)
        assert r["operator_version"] == OPERATOR_VERSION and OPERATOR_VERSION.startswith("dbstack v")
        assert r["execution_time"] > 0
    assert len({r["executed_at"] for r in got}) == len(got)  # each file has its own start
    assert status(fresh_db, ls).render_text().startswith("Migration Status: OK\n")
    again = apply(fresh_db, ls)
    assert again.render_text() == "No migration files to execute\n"
    assert again.current == files[-1].version


def test_revisions_table_equals_atlas_ddl(fresh_db, tmp_path):
    """Columns, types, nullability, defaults and primary key equal a table made from Atlas's DDL."""
    from dbstack.migrations.revisions import RevisionTable

    apply(fresh_db, layers(make_dir(tmp_path / "m", THREE)))
    query(fresh_db, "CREATE SCHEMA atlas_ref")
    ddl = RevisionTable("atlas_ref").ddl()  # Atlas's DDL, pinned verbatim by the unit tests
    query(fresh_db, ddl)
    catalog = """
        SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = %s AND c.relname = 'atlas_schema_revisions' AND a.attnum > 0 ORDER BY 1"""
    pk = """
        SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
        WHERE n.nspname = %s AND c.relname = 'atlas_schema_revisions' AND i.indisprimary"""
    ours = query(fresh_db, catalog, ("atlas_schema_revisions",))
    assert ours == query(fresh_db, catalog, ("atlas_ref",))
    assert [r[1] for r in ours] == [
        "version",
        "description",
        "type",
        "applied",
        "total",
        "executed_at",
        "execution_time",
        "error",
        "error_stmt",
        "hash",
        "partial_hashes",
        "operator_version",
    ]
    assert query(fresh_db, pk, ("atlas_schema_revisions",)) == query(fresh_db, pk, ("atlas_ref",)) == [(["version"],)]


def test_checksum_tampering_is_refused_before_any_change(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", THREE)
    (d / "2_two.sql").write_text("CREATE TABLE b (id bigint);\n")  # edited after hashing
    with pytest.raises(ChecksumError) as e:
        apply(fresh_db, layers(d))
    assert "\tL3: 2_two.sql was edited\n" in e.value.output
    assert e.value.output.startswith("You have a checksum error in your migration directory.\n")
    assert schemas(fresh_db) == ["public"] and tables(fresh_db) == []  # not even the revisions schema
    (d / "atlas.sum").unlink()
    with pytest.raises(ChecksumError, match="checksum file not found"):
        apply(fresh_db, layers(d), ApplyOptions(dry_run=True))


def test_failing_file_in_file_mode_leaves_the_database_as_before_that_file(fresh_db, tmp_path):
    d = make_dir(
        tmp_path / "m",
        {
            "1_one.sql": "CREATE TABLE a (id int);\n",
            "2_two.sql": "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n\nINSERT INTO missing VALUES (1);\n",
            "3_three.sql": "CREATE TABLE c (id int);\n",
        },
    )
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d))
    msg = e.value.message
    assert msg.startswith(
        'sql/migrate: executing statement "INSERT INTO missing VALUES (1);" from version "2": '
        'pq: relation "missing" does not exist'
    )
    assert "SQLSTATE 42P01" in msg and "2_two.sql line 4" in msg
    assert "nothing of 2_two.sql stays" in e.value.hint
    out = e.value.output  # the apply report, as Atlas prints it before the error
    assert (
        "  -- migrating version 2\n    -> CREATE TABLE b (id int);\n    -> INSERT INTO b VALUES (1);\n"
        '    -> INSERT INTO missing VALUES (1);\n    pq: relation "missing" does not exist\n' in out
    )
    assert out.endswith("  -- 1 migration ok, 1 with errors\n  -- 3 sql statements ok, 1 with errors\n")
    assert e.value.report.applied == ["1"]
    assert tables(fresh_db) == ["a"]  # b rolled back, c never ran
    assert [r["version"] for r in rows(fresh_db)] == ["1"]  # no row for the failed file (Atlas: rolled back)
    # fixed file: the run continues with it from statement 1
    (d / "2_two.sql").write_text("CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n")
    rehash(d)
    rep = apply(fresh_db, layers(d))
    assert rep.applied == ["2", "3"] and tables(fresh_db) == ["a", "b", "c"]


def test_failure_in_the_middle_of_a_batch_keeps_the_files_before_it(fresh_db, tmp_path):
    files = {f"{i:03d}_f.sql": f"CREATE TABLE t{i} (id int);\n" for i in range(1, 9)}
    files["005_f.sql"] = "CREATE TABLE t5 (id int);\nSELECT 1/0;\n"
    d = make_dir(tmp_path / "m", files)
    with pytest.raises(MigrationError, match="division by zero") as e:
        apply(fresh_db, layers(d))
    assert "SQLSTATE 22012" in e.value.message and "005_f.sql line 2" in e.value.message
    assert tables(fresh_db) == ["t1", "t2", "t3", "t4"]
    assert [r["version"] for r in rows(fresh_db)] == ["001", "002", "003", "004"]
    assert e.value.report.applied == ["001", "002", "003", "004"]


def test_a_syntax_error_anywhere_in_a_batch_still_applies_the_files_before_it(fresh_db, tmp_path):
    # PostgreSQL parses a whole message before running any of it.
    files = {f"{i}_f.sql": f"CREATE TABLE t{i} (id int);\n" for i in range(1, 6)}
    files["4_f.sql"] = "CREATE TABLE t4 (id int);\nTHIS IS A FAILING STATEMENT;\n"
    d = make_dir(tmp_path / "m", files)
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d))
    assert e.value.message.startswith(
        'sql/migrate: executing statement "THIS IS A FAILING STATEMENT;" from '
        'version "4": pq: syntax error at or near "THIS"'
    )
    assert tables(fresh_db) == ["t1", "t2", "t3"]


def test_tx_mode_all_rolls_back_the_whole_run(fresh_db, tmp_path):
    d = make_dir(
        tmp_path / "m", {**THREE, "4_four.sql": "CREATE TABLE broken (id bigint);\nTHIS IS A FAILING STATEMENT;\n"}
    )
    apply(fresh_db, layers(d), ApplyOptions(amount=1))
    with pytest.raises(MigrationError, match='from version "4"') as e:
        apply(fresh_db, layers(d), ApplyOptions(tx_mode="all"))
    assert "whole run was rolled back" in e.value.hint
    assert tables(fresh_db) == ["a"] and [r["version"] for r in rows(fresh_db)] == ["1"]
    (d / "4_four.sql").unlink()
    rehash(d)
    rep = apply(fresh_db, layers(d), ApplyOptions(tx_mode="all"))
    assert rep.applied == ["2", "3"] and tables(fresh_db) == ["a", "b", "c"]
    assert all(r["applied"] == r["total"] and r["ph_json_null"] for r in rows(fresh_db))


def test_amount_limits_the_files(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", THREE)
    r1 = apply(fresh_db, layers(d), ApplyOptions(amount=1))
    assert r1.render_text().startswith("Migrating to version 1 (1 migrations in total):")
    r2 = apply(fresh_db, layers(d), ApplyOptions(amount=1))
    assert r2.render_text().startswith("Migrating to version 2 from 1 (1 migrations in total):")
    r3 = apply(fresh_db, layers(d), ApplyOptions(amount=5))
    assert r3.applied == ["3"]
    assert apply(fresh_db, layers(d), ApplyOptions(amount=1)).render_text() == "No migration files to execute\n"
    with pytest.raises(UsageError, match="cannot apply '0' migration files"):
        apply(fresh_db, layers(d), ApplyOptions(amount=0))


def test_dirty_database_needs_baseline_or_allow_dirty(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", THREE)
    query(fresh_db, "CREATE TABLE a (id int PRIMARY KEY)")
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d))
    assert e.value.message == (
        'sql/migrate: connected database is not clean: found schema "public". '
        "baseline version or allow-dirty is required"
    )
    assert [r["version"] for r in rows(fresh_db)] == []  # Atlas creates the table first, writes nothing
    bound = fresh_db.__class__(**{**fresh_db.__dict__, "params": (("search_path", "public"),)})
    with pytest.raises(MigrationError, match="ambiguous revision table"):  # the first run made one elsewhere
        apply(bound, layers(d))
    with pytest.raises(MigrationError, match='not clean: found table "a" in schema "public". baseline version'):
        apply(bound, layers(d), ApplyOptions(revisions_schema="public"))
    with pytest.raises(MigrationError, match='baseline version "9" not found'):
        apply(fresh_db, layers(d), ApplyOptions(baseline="9"))


def test_baseline_on_a_dirty_database(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", THREE)
    query(fresh_db, "CREATE TABLE a (id int PRIMARY KEY)")
    rep = apply(fresh_db, layers(d), ApplyOptions(baseline="1"))
    assert rep.render_text().startswith("Migrating to version 3 from 1 (2 migrations in total):")
    got = rows(fresh_db)
    base = got[0]
    assert (base["version"], base["description"], base["type"], base["applied"], base["total"], base["hash"]) == (
        "1",
        "one",
        1,
        0,
        0,
        "",
    )
    assert [r["type"] for r in got] == [1, 2, 2] and tables(fresh_db) == ["a", "b", "c"]
    st = status(fresh_db, layers(d))
    assert st.status == "OK" and st.current == "3" and st.to_json()["Applied"][0]["Type"] == "baseline"


def test_baseline_on_a_clean_database_and_at_the_last_file(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", THREE)
    rep = apply(fresh_db, layers(d), ApplyOptions(baseline="3"))
    assert rep.render_text() == "No migration files to execute\n" and rep.current == "3"
    assert [(r["version"], r["type"]) for r in rows(fresh_db)] == [("3", 1)] and tables(fresh_db) == []


def test_allow_dirty_applies_everything_on_top(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", THREE)
    query(fresh_db, "CREATE TABLE legacy (id int)")
    rep = apply(fresh_db, layers(d), ApplyOptions(allow_dirty=True))
    assert rep.applied == ["1", "2", "3"] and tables(fresh_db) == ["a", "b", "c", "legacy"]


@pytest.mark.parametrize("order", ["linear", "linear-skip", "non-linear"])
def test_out_of_order_files_in_each_exec_order(fresh_db, tmp_path, order):
    d = make_dir(tmp_path / "m", THREE)
    apply(fresh_db, layers(d))
    (d / "1.5_late.sql").write_text("CREATE TABLE late (id int);\n")
    (d / "4_four.sql").write_text("CREATE TABLE d (id int);\n")
    rehash(d)
    if order == "linear":
        with pytest.raises(MigrationError) as e:
            apply(fresh_db, layers(d))
        assert e.value.message == (
            "migration file 1.5_late.sql was added out of order. "
            "See: https://atlasgo.io/versioned/apply#non-linear-error"
        )
        assert tables(fresh_db) == ["a", "b", "c"]
        st = status(fresh_db, layers(d))
        assert st.render_text() == (
            "Migration Status: PENDING\n  -- Current Version: 3\n  -- Next Version:    UNKNOWN\n"
            "  -- Executed Files:  3\n  -- Pending Files:   2 (1 out of order)\n\n"
            f"  ERROR: {e.value.message}\n"
        )
    elif order == "linear-skip":
        rep = apply(fresh_db, layers(d), ApplyOptions(exec_order=order))
        assert rep.applied == ["4"] and "late" not in tables(fresh_db)
    else:
        rep = apply(fresh_db, layers(d), ApplyOptions(exec_order=order))
        assert rep.applied == ["1.5", "4"] and "late" in tables(fresh_db)
        assert rep.render_text().startswith("Migrating to version 4 from 3 (2 migrations in total):")


def test_dry_run_changes_nothing_at_all(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", THREE)
    query(fresh_db, "CREATE TABLE a (id int PRIMARY KEY)")
    dry = apply(fresh_db, layers(d), ApplyOptions(dry_run=True, baseline="1"))
    assert schemas(fresh_db) == ["public"] and tables(fresh_db) == ["a"]  # no revisions schema, no baseline row
    assert query(fresh_db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]
    real = apply(fresh_db, layers(d), ApplyOptions(baseline="1"))
    assert _no_times(dry.render_text()) == _no_times(real.render_text())  # the same template
    assert dry.to_json()["DryRun"] is True and dry.applied == real.applied == ["2", "3"]


def _no_times(text: str) -> str:
    import re

    text = re.sub(r"-- ok \([^)]*\)", "-- ok (T)", text)
    return re.sub(r"(-------------------------\n  -- )[^\n]*", r"\1T", text)


def test_dry_run_of_a_partly_applied_database(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", THREE)
    apply(fresh_db, layers(d), ApplyOptions(amount=1))
    before = rows(fresh_db)
    rep = apply(fresh_db, layers(d), ApplyOptions(dry_run=True))
    assert rep.pending == ["2", "3"] and rep.current == "1"
    assert rows(fresh_db) == before and tables(fresh_db) == ["a"]


def test_layers_apply_in_one_version_order_into_one_table(fresh_db, tmp_path):
    bronze = make_dir(
        tmp_path / "bronze",
        {
            "001_raw.sql": "CREATE SCHEMA bronze;\nCREATE TABLE bronze.raw (x int);\n",
            "003_more.sql": "CREATE TABLE bronze.more (x int);\n",
        },
    )
    silver = make_dir(
        tmp_path / "silver",
        {
            "002_clean.sql": "CREATE SCHEMA silver;\nCREATE TABLE silver.clean (x int);\n",
            "004_view.sql": "CREATE VIEW silver.v AS SELECT * FROM bronze.more;\n",
        },
    )
    ls = layers(bronze, silver)
    rep = apply(fresh_db, ls)
    assert rep.applied == ["001", "002", "003", "004"]
    sums = {
        **{e.name: e.hash for e in MigrationDir(bronze).read_sum().entries},
        **{e.name: e.hash for e in MigrationDir(silver).read_sum().entries},
    }
    names = {"001": "001_raw.sql", "002": "002_clean.sql", "003": "003_more.sql", "004": "004_view.sql"}
    assert {r["version"]: r["hash"] for r in rows(fresh_db)} == {v: sums[n] for v, n in names.items()}
    make_dir(tmp_path / "silver", {"003_clash.sql": "SELECT 1;\n"})
    with pytest.raises(MigrationDirError, match="duplicate migration version 003"):
        apply(fresh_db, layers(bronze, silver))


def test_golang_migrate_directories(fresh_db, tmp_path):
    d = make_dir(
        tmp_path / "gm",
        {"1_init.up.sql": "CREATE TABLE g (id int);\n", "1_init.down.sql": "DROP TABLE g;\n"},
        hash=False,
    )
    MigrationDir(d, "golang-migrate").write_sum()
    rep = apply(fresh_db, layers(d, format="golang-migrate"))
    assert rep.applied == ["1"] and rows(fresh_db)[0]["description"] == "init"


def test_cannot_connect_names_the_server_masked(pg_server, tmp_path):
    from dataclasses import replace

    from dbstack.errors import DatabaseError

    d = make_dir(tmp_path / "m", THREE)
    bad = replace(pg_server, password="wrong-secret")
    with pytest.raises(DatabaseError) as e:
        apply(bad, layers(d))
    assert f"127.0.0.1:{pg_server.port}/postgres" in e.value.message and "wrong-secret" not in e.value.render()
    with pytest.raises(DatabaseError, match="does not exist"):
        apply(pg_server.with_db("no_such_db_here"), layers(d))
