"""Adversarial inputs (issue 11): NUL bytes, special files, odd names, bad options, edits under the lock.

Each test failed before its fix; each runs on the real filesystem and, where a
database is involved, a real PostgreSQL 15.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from adv_support import INV, REV, ROOT, clean_env, layers, make_dir, query, start_migrator, wait_for
from dbstack.errors import ChecksumError, ConfigError, MigrationDirError, UsageError
from dbstack.migrations.directory import MigrationDir
from dbstack.migrations.engine import ApplyOptions, apply


def _rev_table(spec) -> bool:
    return bool(query(spec, "SELECT 1 FROM pg_class WHERE relname = 'atlas_schema_revisions'"))


# --------------------------------------------------------------------------- NUL bytes


@pytest.mark.postgres
def test_nul_in_txmode_none_file_is_refused_before_anything_runs(fresh_db, tmp_path):
    query(fresh_db, "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 5)")
    body = b"-- atlas:txmode none\n\nDELETE FROM t WHERE x > 0\x00 AND x = 999;\n"
    d = make_dir(tmp_path / "m", {"1_del.sql": body})
    with pytest.raises(MigrationDirError) as e:
        apply(fresh_db, layers(d), ApplyOptions(allow_dirty=True))
    offset = body.index(b"\x00")
    assert f"1_del.sql contains a NUL byte at byte offset {offset}" in e.value.message
    assert query(fresh_db, "SELECT count(*) FROM t") == [(5,)]  # libpq would have cut at the NUL: all rows gone
    assert not _rev_table(fresh_db)  # refused before the database was touched


@pytest.mark.postgres
def test_nul_in_a_batch_file_is_refused_not_reported_ok(fresh_db, tmp_path):
    d = make_dir(
        tmp_path / "m",
        {"1_a.sql": "CREATE TABLE a (id int);\n", "2_b.sql": b"\x00 junk;\n", "3_c.sql": "CREATE TABLE c (id int);\n"},
    )
    with pytest.raises(MigrationDirError, match=r"2_b\.sql contains a NUL byte at byte offset 0"):
        apply(fresh_db, layers(d))
    assert query(fresh_db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


def test_nul_only_warns_in_migrate_hash_and_validate(tmp_path):
    # Atlas hashes such a file, so hash and validate keep working and warn; apply refuses.
    d = make_dir(tmp_path / "m", {"1_a.sql": b"SELECT 1;\x00\n"}, hash=False)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "tasks.py").write_text("from dbstack.tasks import ns  # noqa: F401\n")
    for task in ("migrate-hash", "migrate-validate"):
        cp = subprocess.run([INV, task, "--dir", str(d)], cwd=proj, env=clean_env(), capture_output=True, text=True)
        assert cp.returncode == 0, cp.stderr
        assert "1_a.sql contains a NUL byte at byte offset 9" in cp.stderr and "warning" in cp.stderr
    assert (d / "atlas.sum").exists()


def test_nul_refused_by_lint_and_drift_and_standalone_validation(tmp_path):
    from dbstack.analysis.drift import drift
    from dbstack.analysis.lint import lint_layers
    from dbstack.settings import ConnSpec

    d = make_dir(tmp_path / "m", {"1_a.sql": b"CREATE TABLE a (id int);\n\x00"})
    nowhere = ConnSpec(host="127.0.0.1", port=1, user="u", dbname="d")  # never reached: refused first
    with pytest.raises(MigrationDirError, match="NUL byte at byte offset 25"):
        lint_layers(layers(d), nowhere)
    with pytest.raises(MigrationDirError, match="NUL byte"):
        drift(nowhere, layers(d))
    from dbstack.standalone.atlas_bridge import flatten

    out = tmp_path / "flat"
    out.mkdir()
    with pytest.raises(MigrationDirError, match="NUL byte"):
        flatten([d], out)


# --------------------------------------------------------------------------- special files


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge", "directory"])
def test_only_regular_files_of_sane_size_are_read(tmp_path, kind):
    d = make_dir(tmp_path / "m", {"1_a.sql": "SELECT 1;\n"}, hash=False)
    bad = d / "2_b.sql"
    if kind == "fifo":
        os.mkfifo(bad)
    elif kind == "dev-zero":
        bad.symlink_to("/dev/zero")
    elif kind == "huge":
        with open(bad, "wb") as fh:
            fh.truncate(200 << 20)  # sparse: costs no disk
    else:
        bad.mkdir()
    # In a child with a memory cap and a timeout: a regression must fail this test, not hang or
    # exhaust the machine (reading /dev/zero grows without end; opening a FIFO waits forever).
    code = (
        "import sys\nfrom dbstack.cli import guarded\nfrom dbstack.migrations.directory import MigrationDir\n"
        "sys.exit(guarded(lambda: MigrationDir(sys.argv[1]).write_sum()))"
    )

    def cap():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    t0 = time.monotonic()
    cp = subprocess.run(
        [sys.executable, "-c", code, str(d)],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=cap,
        env=clean_env(),
    )
    assert time.monotonic() - t0 < 20
    assert cp.returncode == 1
    assert cp.stderr.startswith("Error: ") and "2_b.sql" in cp.stderr and "unexpected" not in cp.stderr
    expected = {"fifo": "FIFO", "dev-zero": "device", "huge": "MiB", "directory": "directory"}[kind]
    assert expected in cp.stderr
    assert not (d / "atlas.sum").exists()


def test_newline_in_a_file_name_is_refused_by_migrate_hash(tmp_path):
    d = make_dir(tmp_path / "m", {"1_a.sql": "SELECT 1;\n", "2_b\nc.sql": "SELECT 2;\n"}, hash=False)
    with pytest.raises(MigrationDirError, match="line break"):
        MigrationDir(d).write_sum()
    assert not (d / "atlas.sum").exists()  # nothing written that could not be read back


# --------------------------------------------------------------------------- the lock race


@pytest.mark.postgres
def test_file_edited_while_waiting_for_the_lock_applies_the_validated_bytes(fresh_db, tmp_path):
    import psycopg

    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id int);\n"})
    holder = psycopg.connect(**fresh_db.connect_kwargs(), autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(2686470616)")
        p = start_migrator(fresh_db, d)
        # the migrator has validated atlas.sum and now polls for the lock
        wait_for(
            lambda: query(
                fresh_db,
                "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_try_advisory_lock%' AND pid <> pg_backend_pid()",
            ),
            what="the migrator to wait for the lock",
        )
        (d / "1_a.sql").write_text("CREATE TABLE evil (id int);\n")  # no re-hash: a tampered file
        holder.execute("SELECT pg_advisory_unlock(2686470616)")
        out, err = p.communicate(timeout=60)
    finally:
        holder.close()
    assert p.returncode == 0, err
    tables = [r[0] for r in query(fresh_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert tables == ["a"]  # what was validated, not what is on disk now
    (h,) = query(fresh_db, f"SELECT hash FROM {REV}")[0]
    assert h == MigrationDir(d).read_sum().entries[0].hash  # and the row's hash describes those bytes


# --------------------------------------------------------------------------- options and URLs


def test_db_logs_tail_not_a_number_is_one_error():
    cp = subprocess.run([INV, "db-logs", "--tail", "abc"], cwd=ROOT, env=clean_env(), capture_output=True, text=True)
    assert cp.returncode == 1
    assert cp.stderr.startswith("Error: invalid --tail 'abc'")
    assert "Traceback" not in cp.stderr and "unexpected" not in cp.stderr


def test_unclosed_ipv6_bracket_is_a_config_error_with_the_password_masked():
    from dbstack.settings import ConnSpec

    with pytest.raises(ConfigError) as e:
        ConnSpec.from_url("postgres://u:pw-secret@[::1/db")
    assert "pw-secret" not in e.value.render() and "****" in e.value.message


def test_git_base_cannot_inject_options(tmp_path):
    from dbstack.analysis.lint import git_changed_files

    repo = tmp_path / "repo"
    d = make_dir(repo / "m", {"1_a.sql": "SELECT 1;\n"})
    env = clean_env(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    target = tmp_path / "written-by-git"
    for base in (f"--output={target}", "-p", "HEAD..evil", "a b"):
        with pytest.raises(UsageError, match="not a valid branch"):
            git_changed_files(base, [d])
    assert not target.exists()
    with pytest.raises(UsageError, match="no such branch"):
        git_changed_files("no-such-branch", [d])
    assert git_changed_files("HEAD", [d]) == set()


# --------------------------------------------------------------------------- booleans


@pytest.mark.parametrize(
    "value,refused",
    [
        ("false", "not a dev target"),
        ("no", "not a dev target"),
        ("off", "not a dev target"),
        ("0", "not a dev target"),
        ("maybe", "must be a boolean"),
        ("", "must be a boolean"),
    ],
)
def test_dev_guard_parses_booleans_strictly(value, refused):
    env = clean_env(
        INVOKE_DBSTACK_TARGETS_CNPG_DEV=value, DATABASE_URL="postgres://u:p@127.0.0.1:1/nowhere"
    )  # never reached
    cp = subprocess.run([INV, "db-reset", "--target", "cnpg"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert cp.returncode != 0
    assert refused in cp.stderr, cp.stderr


def test_boolean_settings_strict_in_the_library():
    from dbstack.settings import from_mapping, parse_bool

    for v, want in (
        ("TRUE", True),
        ("Yes", True),
        ("on", True),
        ("1", True),
        (1, True),
        (True, True),
        ("False", False),
        ("NO", False),
        ("off", False),
        ("0", False),
        (0, False),
        (False, False),
    ):
        assert parse_bool(v, "x") is want
    for v in ("y", "n", "2", 2, "", None, "truthy", [1]):
        with pytest.raises(ConfigError):
            parse_bool(v, "x")
    with pytest.raises(ConfigError, match="targets.t.dev"):
        from_mapping({"targets": {"t": {"kind": "server", "dev": "false-ish"}}}, ROOT)
    s = from_mapping({"targets": {"t": {"kind": "server", "dev": "false"}}}, ROOT)
    assert s.targets["t"].dev is False  # a string "false" in YAML was truthy before


@pytest.mark.postgres
def test_checksum_still_checked_first(fresh_db, tmp_path):
    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id int);\n"})
    (d / "1_a.sql").write_text("CREATE TABLE b (id int);\n")
    with pytest.raises(ChecksumError):
        apply(fresh_db, layers(d))
    assert not _rev_table(fresh_db)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
