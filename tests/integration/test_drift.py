"""Drift on a real PostgreSQL: in sync, each kind of drift by name, and the scratch database never stays."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid

import psycopg
import pytest

from dbstack.analysis.drift import drift
from dbstack.errors import DbstackError
from dbstack.inspect.scratch import scratch_database
from dbstack.migrations.directory import MigrationDir
from dbstack.migrations.engine import ApplyOptions, apply
from dbstack.migrations.layers import Layers
from testpaths import INV, ROOT

pytestmark = pytest.mark.postgres

SAMPLE = ROOT / "manifests" / "migrations" / "mydatabase"


def execute(conn, text: str) -> None:
    with psycopg.connect(**conn.connect_kwargs(), autocommit=True) as pg:
        pg.execute(text)


def scratch_dbs(server) -> list[str]:
    with psycopg.connect(**server.connect_kwargs(), autocommit=True) as pg:
        rows = pg.execute("select datname from pg_database where datname like 'dbstack\\_%%'").fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def migrated(fresh_db, tmp_path):
    """A database migrated from a copy of the sample directory; yields (conn, dir)."""
    d = tmp_path / "migrations"
    shutil.copytree(SAMPLE, d)
    apply(fresh_db, Layers.of([d]), ApplyOptions())
    return fresh_db, d


def _inv(args, conn, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env["DATABASE_URL"] = conn.url(masked=False)
    return subprocess.run(
        [INV, *args, "--target", "cnpg"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, **kw
    )


def test_in_sync_exits_0(migrated, pg_server):
    conn, d = migrated
    res = _inv(["db-drift", "--dir", str(d), "--no-cache"], conn)
    assert res.returncode == 0, res.stderr
    assert "No schema drift" in res.stdout and "5 migration files replayed on a scratch database" in res.stdout
    assert scratch_dbs(pg_server) == []


@pytest.mark.parametrize(
    "change,expected",
    [
        ("ALTER TABLE users ADD COLUMN phone text", "extra    column public.users.phone"),
        ("DROP INDEX projects_owner_id_idx", "missing  index public.projects.projects_owner_id_idx"),
        (
            "ALTER TABLE repositories ALTER COLUMN provider SET DEFAULT 'gitlab'",
            "changed  column public.repositories.provider: default: migrations \"'github'::character varying\", "
            "database \"'gitlab'::character varying\"",
        ),
        ("CREATE TABLE audit_log (id bigint)", "extra    table public.audit_log"),
    ],
)
def test_each_drift_is_reported_by_name(migrated, pg_server, change, expected):
    conn, d = migrated
    execute(conn, change)
    report = drift(conn, Layers.of([d]))
    assert len(report.changes) == 1
    assert expected in report.render_text()
    with pytest.raises(DbstackError) as exc:
        report.check()
    assert exc.value.exit_code == 2
    assert scratch_dbs(pg_server) == []


def test_drift_task_exits_2_and_prints_the_differences(migrated, pg_server):
    conn, d = migrated
    execute(conn, "ALTER TABLE users ADD COLUMN phone text; CREATE TABLE audit_log (id bigint)")
    res = _inv(["db-drift", "--dir", str(d), "--no-cache"], conn)
    assert res.returncode == 2
    assert "extra    table public.audit_log" in res.stdout and "extra    column public.users.phone" in res.stdout
    assert "schema drift: 2 differences" in res.stderr
    assert conn.password not in res.stdout + res.stderr
    res = _inv(["db-drift", "--dir", str(d), "--json", "--no-cache"], conn)
    assert res.returncode == 2 and '"in_sync": false' in res.stdout


def test_failed_replay_exits_1_and_drops_the_scratch_database(migrated, pg_server):
    conn, d = migrated
    (d / "20240301000001_broken.sql").write_text("ALTER TABLE no_such_table ADD COLUMN x int;\n")
    MigrationDir(d).write_sum()
    res = _inv(["db-drift", "--dir", str(d), "--no-cache"], conn)
    assert res.returncode == 1
    assert "replaying the migrations on a scratch database failed" in res.stderr
    assert scratch_dbs(pg_server) == []


def test_cache_skips_the_replay_of_an_unchanged_directory(migrated, pg_server, tmp_path):
    conn, d = migrated
    # unique content: no earlier run can have cached it
    (d / "20240301000001_note.sql").write_text(f"-- run {uuid.uuid4()}\nCOMMENT ON TABLE users IS 'people';\n")
    MigrationDir(d).write_sum()
    cache = tmp_path / "cache"
    first = drift(conn, Layers.of([d]), cache_dir=cache)
    assert not first.cached and len(list(cache.iterdir())) == 1
    assert [c.attribute for c in first.changes] == ["comment"]  # the live database lacks the new file
    apply(conn, Layers.of([d]), ApplyOptions())
    second = drift(conn, Layers.of([d]), cache_dir=cache)
    assert second.cached and second.in_sync and "replayed earlier" in second.render_text()
    execute(conn, "CREATE TABLE audit_log (id bigint)")
    third = drift(conn, Layers.of([d]), cache_dir=cache)
    assert third.cached and [c.name for c in third.changes] == ["public.audit_log"]
    # any change to a migration file means a new replay
    (d / "20240301000001_note.sql").write_text((d / "20240301000001_note.sql").read_text() + "-- edited\n")
    MigrationDir(d).write_sum()
    assert not drift(conn, Layers.of([d]), cache_dir=cache).cached
    assert scratch_dbs(pg_server) == []


def test_scratch_database_is_dropped_on_error(pg_server):
    with pytest.raises(RuntimeError):
        with scratch_database(pg_server) as scratch:
            assert scratch.dbname in scratch_dbs(pg_server)
            raise RuntimeError("boom")
    assert scratch_dbs(pg_server) == []


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_drift_drops_the_scratch_database(migrated, pg_server, sig, code):
    conn, d = migrated
    # A migration that keeps the replay busy long enough to interrupt it.
    (d / "20240301000001_slow.sql").write_text("SELECT pg_sleep(30);\n")
    MigrationDir(d).write_sum()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env["DATABASE_URL"] = conn.url(masked=False)
    proc = subprocess.Popen(
        [INV, "db-drift", "--dir", str(d), "--no-cache", "--target", "cnpg"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _sleeping(pg_server) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        assert scratch_dbs(pg_server), "the scratch database should exist while the replay runs"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert scratch_dbs(pg_server) == []


def _sleeping(server) -> bool:
    with psycopg.connect(**server.connect_kwargs(), autocommit=True) as pg:
        row = pg.execute(
            "select count(*) from pg_stat_activity where datname like 'dbstack\\_%%' and wait_event = 'PgSleep'"
        ).fetchone()
    return bool(row[0])
