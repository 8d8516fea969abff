"""SIGKILL and concurrency (issue 11): a killed txmode-none statement is never silently run twice.

The migrator runs in its own process and is SIGKILLed while the server is
inside one of its statements; the next run must neither repeat a statement
whose effect was committed nor fail forever on it.
"""

from __future__ import annotations

import os
import signal

import psycopg
import pytest

from adv_support import REV, active, layers, make_dir, query, start_migrator, wait_for
from dbstack.errors import MigrationError
from dbstack.migrations.engine import ApplyOptions, apply
from dbstack.migrations.executor import statement_sums

pytestmark = pytest.mark.postgres

NONE = "-- atlas:txmode none\n\n"
# The note the engine writes into the row's error column before a statement that
# cannot share a transaction with its revision update (executor.IN_FLIGHT).
IN_FLIGHT = "dbstack: interrupted while running statement"


def _kill(p) -> None:
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)


def _row(spec, version: str) -> dict:
    with psycopg.connect(**spec.connect_kwargs(), autocommit=True) as c:
        cur = c.execute(f"SELECT * FROM {REV} WHERE version = %s", (version,))
        names = [d.name for d in cur.description]
        r = cur.fetchone()
        return dict(zip(names, r, strict=True)) if r else {}


def test_killed_inside_an_insert_does_not_insert_twice(fresh_db, tmp_path):
    query(fresh_db, "CREATE TABLE t (n int)")
    d = make_dir(
        tmp_path / "m",
        {
            "1_ins.sql": NONE + "INSERT INTO t VALUES (1);\n"
            "INSERT INTO t SELECT 2 FROM pg_sleep(1.5);\n"
            "INSERT INTO t VALUES (3);\n"
        },
    )
    p = start_migrator(fresh_db, d)
    ((pid, _),) = wait_for(lambda: active(fresh_db, "%pg_sleep(1.5)%"), what="the slow INSERT")
    _kill(p)  # the server finishes the statement on its own
    wait_for(lambda: not active(fresh_db, "%pg_sleep(1.5)%"), what="the backend to finish")
    apply(fresh_db, layers(d), ApplyOptions(allow_dirty=True))
    assert query(fresh_db, "SELECT n FROM t ORDER BY n") == [(1,), (2,), (3,)]  # 2 once, not twice
    r = _row(fresh_db, "1")
    assert (r["applied"], r["total"], r["error"]) == (3, 3, "")


def test_kill_survival_many_times(fresh_db, tmp_path):
    """Kill inside a different statement each time; every row lands exactly once."""
    query(fresh_db, "CREATE TABLE t (n int)")
    stmts = "".join(f"INSERT INTO t SELECT {i} FROM pg_sleep(0.3);\n" for i in range(1, 13))
    d = make_dir(tmp_path / "m", {"1_many.sql": NONE + stmts})
    kills = 0
    for _ in range(6):
        p = start_migrator(fresh_db, d)
        wait_for(lambda p=p: p.poll() is not None or active(fresh_db, "%pg_sleep(0.3)%"), what="a statement to run")
        if p.poll() is None:
            _kill(p)  # the server is inside the INSERT
            kills += 1
        wait_for(lambda: not active(fresh_db, "%pg_sleep(0.3)%"), what="the backend to finish")
    apply(fresh_db, layers(d), ApplyOptions(allow_dirty=True))
    assert kills == 6
    assert query(fresh_db, "SELECT n, count(*) FROM t GROUP BY n HAVING count(*) > 1") == []
    assert query(fresh_db, "SELECT count(*) FROM t") == [(12,)]


def _cic_setup(fresh_db, tmp_path):
    query(fresh_db, "CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 1000)")
    return make_dir(
        tmp_path / "m",
        {"1_idx.sql": NONE + "CREATE INDEX CONCURRENTLY t_n ON t (n);\nCREATE TABLE after_idx (id int);\n"},
    )


def _cic_started_and_killed(fresh_db, d):
    """Run the migrator until its CREATE INDEX CONCURRENTLY waits for an old transaction, then kill it."""
    blocker = psycopg.connect(**fresh_db.connect_kwargs())
    blocker.execute("INSERT INTO t VALUES (0)")  # an open writer: CIC waits for it after creating the index entry
    p = start_migrator(fresh_db, d)
    ((pid, _),) = wait_for(
        lambda: [a for a in active(fresh_db, "CREATE INDEX CONCURRENTLY%") if a[1] == "Lock"],
        what="CREATE INDEX CONCURRENTLY to wait",
    )
    _kill(p)
    return blocker, pid


def test_killed_create_index_concurrently_left_invalid_is_reported_with_the_fix(fresh_db, tmp_path):
    d = _cic_setup(fresh_db, tmp_path)
    blocker, pid = _cic_started_and_killed(fresh_db, d)
    query(fresh_db, "SELECT pg_terminate_backend(%s)", (pid,))  # the build dies half-way: invalid index
    blocker.close()
    wait_for(lambda: not active(fresh_db, "CREATE INDEX CONCURRENTLY%"), what="the build to end")
    assert query(fresh_db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_n'::regclass") == [(False,)]
    assert _row(fresh_db, "1")["error"].startswith(IN_FLIGHT)
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d), ApplyOptions(allow_dirty=True))
    assert "invalid index public.t_n" in e.value.message
    assert "DROP INDEX CONCURRENTLY IF EXISTS public.t_n" in e.value.hint
    query(fresh_db, "DROP INDEX CONCURRENTLY IF EXISTS public.t_n")  # the fix we printed
    apply(fresh_db, layers(d), ApplyOptions(allow_dirty=True))
    assert query(fresh_db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_n'::regclass") == [(True,)]
    assert query(fresh_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'after_idx'") == [(1,)]


def test_killed_create_index_concurrently_that_finished_is_not_run_again(fresh_db, tmp_path):
    d = _cic_setup(fresh_db, tmp_path)
    blocker, _ = _cic_started_and_killed(fresh_db, d)
    blocker.close()  # the orphaned build goes on and completes
    wait_for(lambda: not active(fresh_db, "CREATE INDEX CONCURRENTLY%"), what="the build to end")
    rep = apply(fresh_db, layers(d), ApplyOptions(allow_dirty=True))  # used to fail forever: "already exists"
    assert not rep.error
    r = _row(fresh_db, "1")
    assert (r["applied"], r["total"], r["error"], r["error_stmt"]) == (2, 2, "", "")


def test_unknown_interrupted_statement_stops_with_what_to_check(fresh_db, tmp_path):
    """The row a kill leaves behind while a non-transactional statement runs (written as the engine does)."""
    from dbstack.migrations import executor

    assert executor.IN_FLIGHT == IN_FLIGHT
    stmts = ["CREATE TABLE a (id int);", "CREATE DATABASE some_db_of_this_migration;", "CREATE TABLE b (id int);"]
    d = make_dir(tmp_path / "m", {"1_db.sql": NONE + "\n".join(stmts) + "\n"})
    query(fresh_db, "CREATE TABLE a (id int)")
    apply(fresh_db, layers(make_dir(tmp_path / "empty", {})), ApplyOptions(allow_dirty=True))  # creates the table
    h = layers(d).validate()[str(d)].entries[0].hash
    sums = statement_sums(stmts)
    query(
        fresh_db,
        f"INSERT INTO {REV} VALUES ('1', 'db', 2, 1, 3, now(), 0, %s, %s, %s, %s, 'dbstack test')",
        (f"{IN_FLIGHT} 2 of 1_db.sql; it may have taken effect", stmts[1], h, f'["h1:{sums[0]}"]'),
    )
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d))
    assert "CREATE DATABASE some_db_of_this_migration" in e.value.message
    assert "statement 2 of 1_db.sql" in e.value.message
    assert "--interrupted skip" in e.value.hint and "--interrupted rerun" in e.value.hint
    apply(fresh_db, layers(d), ApplyOptions(interrupted="skip"))  # the user checked: it had been created
    assert query(fresh_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'b'") == [(1,)]
    assert query(fresh_db, "SELECT count(*) FROM pg_database WHERE datname = 'some_db_of_this_migration'") == [(0,)]
    r = _row(fresh_db, "1")
    assert (r["applied"], r["total"], r["error"]) == (3, 3, "")


def test_revisions_row_stays_atlas_shaped_while_a_statement_is_in_flight(fresh_db, tmp_path):
    """Only Atlas's columns, Atlas's meaning: a partial row with an error Atlas shows in `migrate status`."""
    from dbstack.migrations.engine import status
    from dbstack.migrations.revisions import COLUMNS

    d = _cic_setup(fresh_db, tmp_path)
    blocker, _ = _cic_started_and_killed(fresh_db, d)
    cols = [
        r[0]
        for r in query(
            fresh_db,
            f"SELECT attname FROM pg_attribute WHERE attrelid = '{REV}'::regclass AND attnum > 0 ORDER BY attnum",
        )
    ]
    assert cols == [c[0] for c in COLUMNS]
    r = _row(fresh_db, "1")
    assert (r["applied"], r["total"], r["type"]) == (0, 2, 2)
    assert r["error_stmt"] == "CREATE INDEX CONCURRENTLY t_n ON t (n);"
    text = status(fresh_db, layers(d)).render_text()
    assert "Last migration attempt had errors:" in text and IN_FLIGHT in text
    blocker.close()
    wait_for(lambda: not active(fresh_db, "CREATE INDEX CONCURRENTLY%"), what="the build to end")


def test_own_commit_failure_hint_says_what_stayed(fresh_db, tmp_path):
    d = make_dir(
        tmp_path / "m",
        {
            "1_own.sql": "BEGIN;\nCREATE TABLE kept (id int);\nCOMMIT;\n"
            "BEGIN;\nCREATE TABLE lost (id int);\nSELECT 1/0;\nCOMMIT;\n"
        },
    )
    with pytest.raises(MigrationError) as e:
        apply(fresh_db, layers(d))
    assert "nothing of" not in e.value.hint
    assert "statements 1..3 of 1_own.sql stay" in e.value.hint
    names = [r[0] for r in query(fresh_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert names == ["kept"]
    assert _row(fresh_db, "1")["applied"] == 3


def test_eight_concurrent_migrators_apply_each_version_once(fresh_db, tmp_path):
    files = {f"{i}_f.sql": f"CREATE TABLE f{i} (id int);\nINSERT INTO log VALUES ({i});\n" for i in range(1, 7)}
    files["7_n.sql"] = NONE + "INSERT INTO log VALUES (7);\nINSERT INTO log VALUES (77);\n"
    d = make_dir(tmp_path / "m", files)
    query(fresh_db, "CREATE TABLE log (v int)")
    procs = [start_migrator(fresh_db, d, lock_timeout=60) for _ in range(8)]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0] * 8, [p.stderr.read() for p in procs]
    assert query(fresh_db, "SELECT v, count(*) FROM log GROUP BY v HAVING count(*) > 1") == []
    assert query(fresh_db, "SELECT count(*) FROM log") == [(8,)]
