"""Atlas drop-in details of `inv migrate` (issue 13): failures inside `--json`, resumed rows,
one progress line per failing file, and a local server that is down."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from dbstack.errors import MigrationError
from dbstack.migrations.directory import MigrationDir
from dbstack.migrations.engine import apply, status
from test_engine_support import INV, ROOT, inv_env, layers, make_dir, query, rehash, rows
from testpaths import ATLAS_DIRS

pytestmark = pytest.mark.postgres


def inv(spec, *args, timeout=120, **extra_env):
    return subprocess.run(
        [*INV, *args], cwd=ROOT, env=inv_env(spec, **extra_env), capture_output=True, text=True, timeout=timeout
    )


def _one_error_line(cp) -> str:
    errors = [line for line in cp.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in cp.stderr, cp.stderr
    return errors[0]


# Atlas's own texts (cmd/atlas/internal/cmdapi/migrate_test.go TestMigrate_ApplyTxModeDirective,
# sql/migrate/migrate.go Executor.Pending / Execute).
@pytest.mark.parametrize("case", ["unknown-txmode", "txmode-conflict", "not-clean", "checksum", "sum-ignored"])
def test_json_holds_every_failure_with_error_set(fresh_db, tmp_path, case):
    files = {"1_one.sql": "CREATE TABLE a (id int);\n"}
    args: list[str] = []
    if case == "unknown-txmode":
        files["1_one.sql"] = "-- atlas:txmode unknown\n\nCREATE TABLE a (id int);\n"
        want = 'unknown txmode "unknown" found in file directive "1_one.sql"'
    elif case == "txmode-conflict":
        files["1_one.sql"] = "-- atlas:txmode none\n\nCREATE TABLE a (id int);\n"
        args = ["--tx-mode", "all"]
        want = 'cannot set txmode directive to "none" in "1_one.sql" when txmode "all" is set globally'
    elif case == "not-clean":
        query(fresh_db, "CREATE TABLE users (id int)")
        # sql/postgres/driver.go CheckClean, database-bound URL: a table in public is "found schema".
        want = (
            'sql/migrate: connected database is not clean: found schema "public". '
            "baseline version or allow-dirty is required"
        )
    elif case == "checksum":
        want = "checksum mismatch"
    else:
        files["1_one.sql"] = "-- atlas:sum ignore\nCREATE TABLE a (id int);\n"
        want = 'sql/migrate: scanning checksum from "1_one.sql": checksum not found'
    d = make_dir(tmp_path / "m", files)
    if case == "checksum":
        (d / "1_one.sql").write_text("CREATE TABLE edited (id int);\n")
    cp = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d), "--json", *args)
    assert cp.returncode == 1
    doc = json.loads(cp.stdout)  # one JSON document, nothing else on stdout
    assert doc["Error"].startswith(want), doc
    assert want in _one_error_line(cp)
    assert doc["Driver"] == "postgres" and doc["Dir"] == str(d) and fresh_db.password not in cp.stdout
    assert "Message" not in doc and "Applied" not in doc
    if case in ("unknown-txmode", "txmode-conflict", "sum-ignored"):
        assert doc["Pending"] == [{"Name": "1_one.sql", "Version": "1", "Description": "one"}]
        # The text form is Atlas's template with no file run: intro, the error, the summary.
        text = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d), *args)
        assert text.stdout.startswith(
            f"Migrating to version 1 (1 migrations in total):\n\n    {want}\n\n  -------------------------\n  -- "
        )
    assert query(fresh_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'a'") == [(0,)]


def test_a_failing_file_gets_one_progress_line(fresh_db, tmp_path):
    d = make_dir(
        tmp_path / "m",
        {
            "1_one.sql": "CREATE TABLE a (id int);\n",
            "2_two.sql": "CREATE TABLE b (id int);\n",
            "3_bad.sql": "CREATE TABLE c (id int);\nTHIS FAILS;\n",
        },
    )
    cp = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d))
    assert cp.returncode == 1
    lines = [line for line in cp.stderr.splitlines() if line.startswith("migrating version")]
    assert [line for line in lines if line.startswith("migrating version 3 ")] == ["migrating version 3 (3/3)"]
    assert len(lines) == len(set(lines))


NONE_FILE = "-- atlas:txmode none\n\nCREATE TABLE b (id int);\nINSERT INTO missing VALUES (1);\n"


def test_resumed_row_describes_the_file_as_it_is_now(fresh_db, tmp_path):
    """The README's one named difference from Atlas's row contents (Atlas keeps the first attempt's
    total and hash; a fix that changes the statement count would then never read as complete)."""
    d = make_dir(tmp_path / "m", {"1_one.sql": "CREATE TABLE a (id int);\n", "2_two.sql": NONE_FILE})
    with pytest.raises(MigrationError):
        apply(fresh_db, layers(d))
    first = rows(fresh_db)[1]
    assert (first["applied"], first["total"]) == (1, 2)
    (d / "2_two.sql").write_text(
        NONE_FILE.replace(
            "INSERT INTO missing VALUES (1);\n", "CREATE TABLE missing (id int);\nINSERT INTO missing VALUES (1);\n"
        )
    )
    rehash(d)
    apply(fresh_db, layers(d))
    r = rows(fresh_db)[1]
    assert (r["applied"], r["total"]) == (3, 3)
    assert r["hash"] == MigrationDir(d).compute_sum().by_name("2_two.sql") != first["hash"]
    assert status(fresh_db, layers(d)).status == "OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_migrate_against_a_local_server_that_is_down_says_db_up(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", {"1_one.sql": "CREATE TABLE a (id int);\n"})
    port = str(_free_port())
    for task in ("migrate", "migrate-status"):
        cp = inv(
            fresh_db,
            task,
            "--target",
            "local",
            "--dir",
            str(d),
            INVOKE_DBSTACK_LOCAL_PORT=port,
            INVOKE_DBSTACK_LOCAL_HOST="127.0.0.1",
        )
        assert cp.returncode == 1
        _one_error_line(cp)
        assert "`inv db-up`" in cp.stderr, cp.stderr


def test_status_shows_atlas_text_for_directories_atlas_reads_and_apply_refuses_them(fresh_db, tmp_path):
    import shutil

    if not ATLAS_DIRS.exists():
        pytest.skip("../shared is absent")
    d = tmp_path / "m"
    shutil.copytree(ATLAS_DIRS / "ariga__atlas__sql-migrate-testdata-migrate", d)  # 1_initial.up/down.sql
    st = inv(fresh_db, "migrate-status", "--target", "cnpg", "--dir", str(d))
    assert st.returncode == 2, st.stderr
    # internal/integration/testdata/postgres/cli-migrate-status.txtar, status_clean.txt
    assert st.stdout == (
        "Migration Status: PENDING\n  -- Current Version: No migration applied yet\n"
        "  -- Next Version:    1\n  -- Executed Files:  0\n  -- Pending Files:   2\n"
    )
    run = inv(fresh_db, "migrate", "--target", "cnpg", "--dir", str(d))
    assert run.returncode == 1 and "duplicate migration version 1" in _one_error_line(run)
    assert query(fresh_db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
