"""Atlas's `migrate apply` / `migrate status` text and JSON (Atlas's cmdlog.go templates).

Expected status texts are the goldens of Atlas's own reporter tests
(cmd/atlas/internal/migrate/report_test.go); apply texts follow its
default template line by line.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dbstack.migrations.report import (
    AppliedFile,
    ApplyReport,
    Env,
    FileRef,
    StatusReport,
    StmtError,
    go_duration,
    go_time,
)
from dbstack.migrations.revisions import Revision

T0 = datetime(2024, 1, 16, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "ns,text",
    [
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1_000, "1µs"),
        (1_500, "1.5µs"),
        (5_000_000, "5ms"),
        (1_234_567, "1.234567ms"),
        (1_000_000_000, "1s"),
        (2_500_000_000, "2.5s"),
        (61_000_000_000, "1m1s"),
        (62_500_000_000, "1m2.5s"),
        (3_600_000_000_000, "1h0m0s"),
        (3_723_000_000_001, "1h2m3.000000001s"),
        (-5_000_000, "-5ms"),
    ],
)
def test_durations_print_like_go(ns, text):
    assert go_duration(ns) == text


def test_times_print_like_go_json():
    assert go_time(None) == "0001-01-01T00:00:00Z"
    assert go_time(datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2024-01-02T03:04:05.12Z"
    plus2 = timezone(timedelta(hours=2))
    assert go_time(datetime(2024, 1, 2, 3, 4, 5, tzinfo=plus2)) == "2024-01-02T03:04:05+02:00"


def f(v, desc="x"):
    return FileRef(f"{v}_{desc}.sql", v, desc)


def applied(v, stmts, ns=1_000_000, error=None):
    af = AppliedFile(f(v), start=T0, elapsed_ns=ns, applied=list(stmts))
    if error:
        af.error = StmtError(stmts[-1], error)
    return af


def test_nothing_to_apply():
    assert ApplyReport().render_text() == "No migration files to execute\n"
    assert ApplyReport(start=T0).to_json()["Message"] == "No migration files to execute"


def test_apply_text_matches_atlas_template():
    r = ApplyReport(pending_files=[f("2"), f("3")], current="1", target="3", start=T0, elapsed_ns=10_000_000)
    r.files = [
        applied("2", ["CREATE TABLE t1 (id int NOT NULL);", "CREATE TABLE t2 (id int NOT NULL);"]),
        applied("3", ["CREATE TABLE t3 (id int NOT NULL);"], 2_500_000),
    ]
    assert r.render_text() == (
        "Migrating to version 3 from 1 (2 migrations in total):\n"
        "\n"
        "  -- migrating version 2\n"
        "    -> CREATE TABLE t1 (id int NOT NULL);\n"
        "    -> CREATE TABLE t2 (id int NOT NULL);\n"
        "  -- ok (1ms)\n"
        "\n"
        "  -- migrating version 3\n"
        "    -> CREATE TABLE t3 (id int NOT NULL);\n"
        "  -- ok (2.5ms)\n"
        "\n"
        "  -------------------------\n"
        "  -- 10ms\n"
        "  -- 2 migrations\n"
        "  -- 3 sql statements\n"
    )


def test_first_run_has_no_from_and_singular_counts():
    r = ApplyReport(pending_files=[f("1")], target="1", start=T0, elapsed_ns=1_234_567)
    r.files = [applied("1", ["CREATE TABLE t (\n  id int\n);"], 850)]
    assert r.render_text() == (
        "Migrating to version 1 (1 migrations in total):\n"
        "\n"
        "  -- migrating version 1\n"
        "    -> CREATE TABLE t (\n"
        "         id int\n"  # multi-line statements indented 7 spaces (indent_ln)
        "       );\n"
        "  -- ok (850ns)\n"
        "\n"
        "  -------------------------\n"
        "  -- 1.234567ms\n"
        "  -- 1 migration\n"
        "  -- 1 sql statement\n"
    )


def test_failed_file_replaces_ok_with_the_error_and_counts_it():
    r = ApplyReport(
        pending_files=[f("2"), f("3")],
        current="1",
        target="3",
        start=T0,
        elapsed_ns=10_000_000,
        error="sql/migrate: executing statement ...",
    )
    r.files = [
        applied("2", ["CREATE TABLE t1 (id int NOT NULL);", "CREATE TABLE t2 (id int NOT NULL);"]),
        applied(
            "3",
            ["CREATE TABLE t3 (id int NOT NULL);", "CREATE TABLE t1 (id int);"],
            error='pq: relation "t1" already exists',
        ),
    ]
    text = r.render_text()
    assert text.endswith(
        "  -- migrating version 3\n"
        "    -> CREATE TABLE t3 (id int NOT NULL);\n"
        "    -> CREATE TABLE t1 (id int);\n"
        '    pq: relation "t1" already exists\n'
        "\n"
        "  -------------------------\n"
        "  -- 10ms\n"
        "  -- 1 migration ok, 1 with errors\n"
        "  -- 3 sql statements ok, 1 with errors\n"
    )
    assert r.applied == ["2"]
    doc = r.to_json()
    assert "Message" not in doc and doc["Error"].startswith("sql/migrate")
    assert doc["Applied"][1]["Error"] == {
        "Stmt": "CREATE TABLE t1 (id int);",
        "Text": 'pq: relation "t1" already exists',
    }


def test_only_failures():
    r = ApplyReport(pending_files=[f("1")], target="1", start=T0, elapsed_ns=3_000_000)
    r.files = [applied("1", ["SELECT x;"], error="pq: boom")]
    assert r.render_text().endswith("  -- 3ms\n  -- 1 migration with errors\n  -- 1 sql statement with errors\n")


def test_apply_json_has_atlas_fields_and_masks_the_url():
    r = ApplyReport(
        env=Env(url="postgres://u:****@h:5432/db", dirs=("/m",)),
        pending_files=[f("1")],
        target="1",
        start=T0,
        elapsed_ns=2_000_000,
    )
    r.files = [applied("1", ["SELECT 1;"])]
    doc = r.to_json()
    assert doc["Driver"] == "postgres" and doc["URL"] == "postgres://u:****@h:5432/db" and doc["Dir"] == "/m"
    assert doc["Pending"] == [{"Name": "1_x.sql", "Version": "1", "Description": "x"}]
    assert doc["Applied"][0]["Applied"] == ["SELECT 1;"]
    assert doc["Applied"][0]["Start"] == "2024-01-16T10:00:00Z"
    assert doc["Message"] == "Migrated to version 1 from  (1 migrations in total)"
    assert doc["Start"] == "2024-01-16T10:00:00Z" and doc["End"] == "2024-01-16T10:00:00.002Z"


# --------------------------------------------------------------------------- status


def status(**kw):
    return StatusReport(**kw).render_text()


def rev(v, applied=1, total=1, **kw):
    return Revision(version=v, applied=applied, total=total, **kw)


def test_status_clean():
    assert status(
        status="PENDING", current="No migration applied yet", next="1", pending_files=[f("1"), f("2"), f("3")]
    ) == (
        "Migration Status: PENDING\n"
        "  -- Current Version: No migration applied yet\n"
        "  -- Next Version:    1\n"
        "  -- Executed Files:  0\n"
        "  -- Pending Files:   3\n"
    )


def test_status_partially_applied():
    assert status(
        status="PENDING",
        current="3",
        next="3",
        revisions=[rev("1"), rev("2"), rev("3", 1, 2)],
        pending_files=[f("3")],
        count=1,
        total=2,
        sql="THIS LINE ADDS A SYNTAX ERROR;",
        error='near "THIS": syntax error',
    ) == (
        "Migration Status: PENDING\n"
        "  -- Current Version: 3 (1 statements applied)\n"
        "  -- Next Version:    3 (1 statements left)\n"
        "  -- Executed Files:  3 (last one partially)\n"
        "  -- Pending Files:   1\n"
        "\n"
        "Last migration attempt had errors:\n"
        "  -- SQL:   THIS LINE ADDS A SYNTAX ERROR;\n"
        '  -- ERROR: near "THIS": syntax error\n'
    )


def test_status_ok():
    assert status(
        status="OK", current="3", next="Already at latest version", revisions=[rev("1"), rev("2"), rev("3")]
    ) == (
        "Migration Status: OK\n"
        "  -- Current Version: 3\n"
        "  -- Next Version:    Already at latest version\n"
        "  -- Executed Files:  3\n"
        "  -- Pending Files:   0\n"
    )


def test_status_out_of_order():
    err = (
        "migration files 1.5.sql, 1.6.sql were added out of order. "
        "See: https://atlasgo.io/versioned/apply#non-linear-error"
    )
    assert status(
        status="PENDING",
        current="2",
        next="",
        revisions=[rev("1"), rev("2")],
        out_of_order=[f("1.5"), f("1.6")],
        pending_files=[f("3")],
        error=err,
    ) == (
        "Migration Status: PENDING\n"
        "  -- Current Version: 2\n"
        "  -- Next Version:    UNKNOWN\n"
        "  -- Executed Files:  2\n"
        "  -- Pending Files:   3 (2 out of order)\n"
        "\n"
        f"  ERROR: {err}\n"
    )
    one = status(
        status="PENDING", current="2", next="", revisions=[rev("1"), rev("2")], out_of_order=[f("1.5")], error="x"
    )
    assert "  -- Pending Files:   1 (out of order)\n" in one


def test_status_json_shape():
    r = StatusReport(
        env=Env(url="postgres://u@h:1/d", dirs=("/m",)),
        available=[f("1")],
        pending_files=[f("1")],
        current="No migration applied yet",
        next="1",
        status="PENDING",
    )
    doc = r.to_json()
    assert doc["Env"] == {"Driver": "postgres", "URL": "postgres://u@h:1/d", "Dir": "/m"}
    assert doc["Status"] == "PENDING" and doc["Pending"][0]["Version"] == "1"
    assert "Count" not in doc and "Applied" not in doc
    full = rev(
        "1", executed_at=T0, execution_time=1500, operator_version="dbstack v0.1.0", hash="abc", partial_hashes=["h1:x"]
    ).to_json()
    assert full == {
        "Version": "1",
        "Description": "",
        "Type": "applied",
        "Applied": 1,
        "Total": 1,
        "ExecutedAt": "2024-01-16T10:00:00Z",
        "ExecutionTime": 1500,
        "OperatorVersion": "dbstack v0.1.0",
    }
    assert rev("0", 0, 0, type=1).to_json()["Type"] == "baseline"
    assert rev("0", type=6).to_json()["Type"] == "applied + manually set"


def test_colours_only_when_asked():
    r = StatusReport(status="OK", current="1", next="Already at latest version")
    assert "\x1b[" not in r.render_text()
    assert "\x1b[92mOK\x1b[0m" in r.render_text(color=True)
