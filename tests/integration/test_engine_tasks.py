"""`inv migrate`, `inv migrate-dry`, `inv migrate-status` as processes: output, exit codes,
six concurrent runs, and a run killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from test_engine_support import INV, ROOT, inv_env, make_dir, query, rows, tables

pytestmark = pytest.mark.postgres

FILES = {
    "1_one.sql": "CREATE TABLE a (id int);\n",
    "2_two.sql": "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n",
}


def inv(spec, *args, timeout=120, **extra_env):
    return subprocess.run(
        [*INV, *args], cwd=ROOT, env=inv_env(spec, **extra_env), capture_output=True, text=True, timeout=timeout
    )


def test_status_exit_codes_and_apply_output(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", FILES)
    st = inv(fresh_db, "migrate-status", "--target", "cnpg", "--dir", str(d))
    assert st.returncode == 2, st.stderr
    assert st.stdout == (
        "Migration Status: PENDING\n  -- Current Version: No migration applied yet\n"
        "  -- Next Version:    1\n  -- Executed Files:  0\n  -- Pending Files:   2\n"
    )
    assert "2 migration files are pending" in st.stderr
    dry = inv(fresh_db, "migrate-dry", "--target", "cnpg", "--dir", str(d))
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(
        "Migrating to version 2 (2 migrations in total):\n\n  -- migrating version 1\n"
        "    -> CREATE TABLE a (id int);\n  -- ok ("
    )
    assert tables(fresh_db) == []
    run = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d))
    assert run.returncode == 0, run.stderr
    assert run.stdout.endswith("  -- 2 migrations\n  -- 3 sql statements\n")
    assert "migrating version" in run.stderr  # progress: plain lines when not on a terminal
    assert fresh_db.password not in run.stdout + run.stderr
    ok = inv(fresh_db, "migrate-status", "--target", "cnpg", "--dir", str(d), "--json")
    assert ok.returncode == 0
    doc = json.loads(ok.stdout)
    assert doc["Status"] == "OK" and doc["Current"] == "2" and len(doc["Applied"]) == 2
    assert doc["Env"]["URL"].startswith("postgres://postgres:") and fresh_db.password not in ok.stdout
    again = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d))
    assert again.stdout == "No migration files to execute\n"


def test_failed_statement_output_and_json(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", {**FILES, "3_bad.sql": "CREATE TABLE c (id int);\nTHIS IS A FAILING STATEMENT;\n"})
    run = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d))
    assert run.returncode == 1
    assert run.stdout.endswith(
        '    -> THIS IS A FAILING STATEMENT;\n    pq: syntax error at or near "THIS"\n\n'
        "  -------------------------\n" + run.stdout.split("-------------------------\n")[1]
    )
    assert "  -- 2 migrations ok, 1 with errors\n  -- 4 sql statements ok, 1 with errors\n" in run.stdout
    err = run.stderr.splitlines()
    line = next(ln for ln in err if ln.startswith("Error: "))
    assert line.startswith('Error: sql/migrate: executing statement "THIS IS A FAILING STATEMENT;" from version "3"')
    assert "SQLSTATE 42601" in line and "3_bad.sql line 2" in line
    assert "Traceback" not in run.stderr
    js = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d), "--json")
    assert js.returncode == 1
    doc = json.loads(js.stdout)
    assert doc["Error"].startswith("sql/migrate: executing statement") and "Message" not in doc
    assert doc["Applied"][-1]["Error"]["Stmt"] == "THIS IS A FAILING STATEMENT;"


def test_bad_arguments_get_atlas_texts(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", FILES)
    r = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d), "--amount", "x")
    assert (
        r.returncode == 1
        and 'invalid amount argument "x" (invalid syntax). Omit the argument or pass a valid integer instead'
        in r.stderr
    )
    r = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d), "--tx-mode", "invalid")
    assert r.returncode == 1 and 'unknown tx-mode "invalid"' in r.stderr
    r = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d), "--baseline", "1", "--allow-dirty")
    assert "baseline and allow-dirty are mutually exclusive" in r.stderr
    r = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d), "--amount", "1", "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["Message"] == "Migrated to version 1 from  (1 migrations in total)"
    assert tables(fresh_db) == ["a"]


def test_six_concurrent_migrate_processes_apply_every_version_once(fresh_db, tmp_path):
    files = {f"{i:02d}_f.sql": f"CREATE TABLE t{i} (id int);\nSELECT pg_sleep(0.02);\n" for i in range(1, 21)}
    d = make_dir(tmp_path / "m", files)
    env = inv_env(fresh_db)
    procs = [
        subprocess.Popen(
            [*INV, "migrate", "--target", "cnpg", "--dir", str(d), "--json", "--lock-timeout", "60s"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=180) + (p.returncode,) for p in procs]
    assert all(code == 0 for _, _, code in results), [err for _, err, _ in results]
    applied = [f["Version"] for out, _, _ in results for f in json.loads(out).get("Applied", [])]
    assert sorted(applied) == [f"{i:02d}" for i in range(1, 21)]  # each version by exactly one process
    got = rows(fresh_db)
    assert [r["version"] for r in got] == [f"{i:02d}" for i in range(1, 21)]
    assert all(r["applied"] == r["total"] == 2 for r in got)
    assert len(tables(fresh_db)) == 20


def test_sigkill_mid_run_then_a_run_that_completes(fresh_db, tmp_path):
    d = make_dir(
        tmp_path / "m",
        {
            "1_one.sql": "CREATE TABLE a (id int);\n",
            "2_slow.sql": "CREATE TABLE slow (id int);\nSELECT pg_sleep(1.5);\n",
            "3_three.sql": "-- atlas:txmode none\n\n"
            "CREATE TABLE c (id int);\nSELECT pg_sleep(1.5);\nCREATE TABLE c2 (id int);\n",
            "4_four.sql": "CREATE TABLE d (id int);\n",
        },
    )
    p = subprocess.Popen(
        [*INV, "migrate", "--target", "cnpg", "--dir", str(d)],
        cwd=ROOT,
        env=inv_env(fresh_db),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = query(
            fresh_db,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dbstack' "
            "AND state = 'active' AND query LIKE '%pg_sleep%'",
        )[0][0]
        if busy:
            break
        assert p.poll() is None, p.communicate()
        time.sleep(0.02)
    else:
        pytest.fail("the run never reached the slow statement")
    os.kill(p.pid, signal.SIGKILL)
    p.communicate(timeout=30)
    assert p.returncode == -signal.SIGKILL
    # The server notices the dead client, rolls back whatever was open and frees the lock.
    done = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d), "--lock-timeout", "30s")
    assert done.returncode == 0, done.stdout + done.stderr
    got = rows(fresh_db)
    assert [r["version"] for r in got] == ["1", "2", "3", "4"]
    assert all(r["applied"] == r["total"] and r["error"] == "" for r in got)
    assert tables(fresh_db) == ["a", "c", "c2", "d", "slow"]
    st = inv(fresh_db, "migrate-status", "--target", "cnpg", "--dir", str(d))
    assert st.returncode == 0 and st.stdout.startswith("Migration Status: OK")
