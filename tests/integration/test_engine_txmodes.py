"""Transaction modes, the `atlas:txmode` directive, and resuming a txmode-none file (Atlas's sql/migrate/migrate.go)."""

from __future__ import annotations

import pytest

from dbstack.errors import MigrationError
from dbstack.migrations.engine import ApplyOptions, apply, status
from dbstack.migrations.executor import statement_sums
from test_engine_support import layers, make_dir, rehash, rows, tables

pytestmark = pytest.mark.postgres

NONE_FILE = (
    "-- atlas:txmode none\n\n"
    "CREATE TABLE b (id int);\n"
    "CREATE INDEX CONCURRENTLY b_id ON b (id);\n"
    "INSERT INTO missing VALUES (1);\n"
    "CREATE TABLE b2 (id int);\n"
)
STMTS = [
    "CREATE TABLE b (id int);",
    "CREATE INDEX CONCURRENTLY b_id ON b (id);",
    "INSERT INTO missing VALUES (1);",
    "CREATE TABLE b2 (id int);",
]


def setup_dir(tmp_path, second=NONE_FILE):
    return make_dir(
        tmp_path / "m",
        {"1_one.sql": "CREATE TABLE a (id int);\n", "2_two.sql": second, "3_three.sql": "CREATE TABLE c (id int);\n"},
    )


def test_txmode_none_failure_records_progress_like_atlas(fresh_db, tmp_path):
    d = setup_dir(tmp_path)
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d))
    assert "2 of 4 statements of 2_two.sql are applied and recorded" in e.value.hint
    assert "2_two.sql line 5" in e.value.message
    assert tables(fresh_db) == ["a", "b"]  # no transaction: what ran stays
    r = rows(fresh_db)[1]
    sums = statement_sums(STMTS)
    assert (r["version"], r["applied"], r["total"], r["type"]) == ("2", 2, 4, 2)
    assert r["error"] == 'pq: relation "missing" does not exist'
    assert r["error_stmt"] == "INSERT INTO missing VALUES (1);"
    assert r["partial_hashes"] == ["h1:" + sums[0], "h1:" + sums[1]]
    assert status(fresh_db, layers(d)).render_text() == (
        "Migration Status: PENDING\n"
        "  -- Current Version: 2 (2 statements applied)\n"
        "  -- Next Version:    2 (2 statements left)\n"
        "  -- Executed Files:  2 (last one partially)\n"
        "  -- Pending Files:   2\n"
        "\n"
        "Last migration attempt had errors:\n"
        "  -- SQL:   INSERT INTO missing VALUES (1);\n"
        '  -- ERROR: pq: relation "missing" does not exist\n'
    )


def test_txmode_none_resume_after_fixing_the_failed_statement(fresh_db, tmp_path):
    d = setup_dir(tmp_path)
    with pytest.raises(MigrationError):
        apply(fresh_db, layers(d))
    first_start = rows(fresh_db)[1]["executed_at"]
    (d / "2_two.sql").write_text(NONE_FILE.replace("INSERT INTO missing", "INSERT INTO b"))
    rehash(d)
    rep = apply(fresh_db, layers(d))
    assert rep.render_text().startswith("Migrating to version 3 from 2 (2 migrations in total):")
    resumed = rep.files[0]
    assert resumed.skipped == 2 and resumed.applied == ["INSERT INTO b VALUES (1);", "CREATE TABLE b2 (id int);"]
    assert rep.to_json()["Applied"][0]["Skipped"] == 2
    r = rows(fresh_db)[1]
    assert (r["applied"], r["total"], r["error"], r["error_stmt"]) == (4, 4, "", "")
    assert r["ph_json_null"] is True
    assert r["executed_at"] == first_start  # Atlas keeps the first write's time
    assert tables(fresh_db) == ["a", "b", "b2", "c"]
    assert status(fresh_db, layers(d)).status == "OK"


def test_editing_an_applied_statement_is_refused(fresh_db, tmp_path):
    d = setup_dir(tmp_path)
    with pytest.raises(MigrationError):
        apply(fresh_db, layers(d))
    (d / "2_two.sql").write_text(
        NONE_FILE.replace("CREATE TABLE b (id int);", "CREATE TABLE b (id bigint);").replace(
            "INSERT INTO missing", "INSERT INTO b"
        )
    )
    rehash(d)
    before = rows(fresh_db)
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d))
    assert e.value.message == 'sql/migrate: history changed: statement 1 from file "2_two.sql" changed'
    assert rows(fresh_db) == before and tables(fresh_db) == ["a", "b"]


def test_global_tx_mode_none(fresh_db, tmp_path):
    d = setup_dir(tmp_path, "CREATE TABLE b (id int);\nINSERT INTO missing VALUES (1);\n")
    with pytest.raises(MigrationError):
        apply(fresh_db, layers(d), ApplyOptions(tx_mode="none"))
    assert tables(fresh_db) == ["a", "b"]
    assert [(r["version"], r["applied"], r["total"]) for r in rows(fresh_db)] == [("1", 1, 1), ("2", 1, 2)]
    assert rows(fresh_db)[0]["ph_json_null"] is True


def test_file_directive_inside_a_none_run_gets_a_transaction(fresh_db, tmp_path):
    d = setup_dir(tmp_path, "-- atlas:txmode file\n\nCREATE TABLE b (id int);\nINSERT INTO missing VALUES (1);\n")
    with pytest.raises(MigrationError):
        apply(fresh_db, layers(d), ApplyOptions(tx_mode="none"))
    assert tables(fresh_db) == ["a"] and [r["version"] for r in rows(fresh_db)] == ["1"]


def test_directive_conflicts_with_global_all_before_anything_runs(fresh_db, tmp_path):
    d = setup_dir(tmp_path)
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d), ApplyOptions(tx_mode="all"))
    assert e.value.message == ('cannot set txmode directive to "none" in "2_two.sql" when txmode "all" is set globally')
    assert tables(fresh_db) == []


def test_invalid_directive_uses_atlas_text(fresh_db, tmp_path):
    d = setup_dir(tmp_path, "-- atlas:txmode all\n\nCREATE TABLE b (id int);\n")
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d))
    assert e.value.message == 'txmode "all" is not allowed in file directive "2_two.sql". Use "file" instead'
    assert tables(fresh_db) == []


def test_concurrent_index_needs_txmode_none(fresh_db, tmp_path):
    d = setup_dir(tmp_path, "CREATE TABLE b (id int);\nCREATE INDEX CONCURRENTLY b_id ON b (id);\n")
    with pytest.raises(MigrationError, match="cannot run inside a transaction block") as e:
        apply(fresh_db, layers(d))
    assert "SQLSTATE 25001" in e.value.message
    assert tables(fresh_db) == ["a"]


def test_tx_mode_all_succeeds_as_one_transaction(fresh_db, tmp_path):
    files = {f"{i:02d}_f.sql": f"CREATE TABLE t{i} (id int);\nINSERT INTO t{i} VALUES ({i});\n" for i in range(1, 30)}
    d = make_dir(tmp_path / "m", files)
    rep = apply(fresh_db, layers(d), ApplyOptions(tx_mode="all"))
    assert len(rep.applied) == 29 and len(tables(fresh_db)) == 29
    got = rows(fresh_db)
    assert all(r["applied"] == r["total"] == 2 and r["error"] == "" for r in got)
    assert all(r["execution_time"] >= 0 for r in got)


def test_files_with_their_own_begin_commit(fresh_db, tmp_path):
    d = setup_dir(tmp_path, "BEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n")
    rep = apply(fresh_db, layers(d))
    assert rep.applied == ["1", "2", "3"] and tables(fresh_db) == ["a", "b", "c"]
    assert [(r["applied"], r["total"], r["ph_json_null"]) for r in rows(fresh_db)] == [
        (1, 1, True),
        (3, 3, True),
        (1, 1, True),
    ]


def test_a_file_that_commits_itself_then_fails_resumes_like_atlas(fresh_db, tmp_path):
    d = setup_dir(tmp_path, "CREATE TABLE b (id int);\nCOMMIT;\nSELECT 1/0;\n")
    with pytest.raises(MigrationError, match="division by zero"):
        apply(fresh_db, layers(d))
    assert tables(fresh_db) == ["a", "b"]  # the file's own COMMIT made b stick
    r = rows(fresh_db)[1]
    assert (r["applied"], r["total"], r["error"]) == (2, 3, "pq: division by zero")
    (d / "2_two.sql").write_text("CREATE TABLE b (id int);\nCOMMIT;\nSELECT 1;\n")
    rehash(d)
    rep = apply(fresh_db, layers(d))
    assert rep.files[0].skipped == 2 and rep.applied == ["2", "3"]
    assert all(r["applied"] == r["total"] for r in rows(fresh_db))
