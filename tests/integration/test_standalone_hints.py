"""`migrate`'s hints name its own options and commands, never `inv …` (issue 13)."""

from __future__ import annotations

import re
import shutil
import socket
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "data" / "standalone"))

from dbstack.migrations.directory import MigrationDir  # noqa: E402
from dbstack.settings import ConnSpec  # noqa: E402
from dbstack.standalone import bundled_migrations as embedded_mod  # noqa: E402
from dbstack.standalone import migrate_cli  # noqa: E402
from pgrole import role_and_database, write_config  # noqa: E402

LAYERS = ("bronze", "bronzehistory", "silver", "gold")


@pytest.fixture
def hotpot(pg_server, tmp_path, monkeypatch):
    monkeypatch.delenv("DBSTACK_DEBUG", raising=False)
    with role_and_database(pg_server) as (user, password, dbname):
        cfg = tmp_path / "config.yaml"
        write_config(cfg, pg_server, user, password, dbname)
        monkeypatch.setenv("CONFIG_SOURCE", "file")
        monkeypatch.setenv("CONFIG_FILE", str(cfg))
        root = tmp_path / "migrations"
        shutil.copytree(ROOT / "deploy" / "migrations", root)
        yield {
            "root": root,
            "cfg": cfg,
            "conn": ConnSpec(host=pg_server.host, port=pg_server.port, user=user, password=password, dbname=dbname),
            "server": pg_server,
            "login": (user, password, dbname),
        }


def run(hotpot, monkeypatch, capsys, *argv, embedded=False):
    mig = embedded_mod.EmbeddedMigrations(hotpot["root"], LAYERS, "test", "deploy/migrations", embedded=embedded)
    monkeypatch.setattr(embedded_mod, "find_migrations", lambda embed_dir=None: mig)
    code = migrate_cli.main(list(argv))
    return code, capsys.readouterr()


def own_words(err: str) -> str:
    """The hint of the one error, checked: only migrate's own options and commands."""
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    hint = err.split("hint: ", 1)[1]
    assert "inv " not in hint and "invoke.yaml" not in hint, hint
    options = migrate_cli.parser()._option_string_actions
    for opt in re.findall(r"(?<![\w-])--[a-z][a-z-]*", hint):
        assert opt in options, f"{opt} is not an option of migrate: {hint}"
    for cmd in re.findall(r"`migrate ([a-z]+)", hint):
        assert cmd in migrate_cli.COMMANDS, hint
    return hint


def _sql(conn, text):
    import psycopg

    with psycopg.connect(**conn.connect_kwargs(), autocommit=True) as c:
        c.execute(text)


@pytest.mark.parametrize("embedded", [False, True])
def test_checksum_error_hint(hotpot, monkeypatch, capsys, embedded):
    f = next((hotpot["root"] / "silver").glob("*.sql"))
    f.write_text(f.read_text() + "-- edited\n")
    code, cap = run(hotpot, monkeypatch, capsys, embedded=embedded)
    assert code == 1
    hint = own_words(cap.err)
    assert "`migrate hash`" in hint
    assert ("rebuild migrate.pyz" in hint) == embedded


def test_dirty_database_then_allow_dirty(hotpot, monkeypatch, capsys):
    _sql(hotpot["conn"], "CREATE TABLE public.existing (id int)")
    code, cap = run(hotpot, monkeypatch, capsys)
    assert code == 1 and "connected database is not clean" in cap.err
    hint = own_words(cap.err)
    assert "--baseline" in hint and "--allow-dirty" in hint
    code, cap = run(hotpot, monkeypatch, capsys, "--allow-dirty")
    assert code == 0, cap.err
    assert "Migrating to version 0005 (5 migrations in total)" in cap.out


def test_failed_statement_hint(hotpot, monkeypatch, capsys):
    d = hotpot["root"] / "gold"
    f = sorted(d.glob("*.sql"))[-1]
    f.write_text(f.read_text() + "\nTHIS FAILS;\n")
    MigrationDir(d).write_sum()
    code, cap = run(hotpot, monkeypatch, capsys)
    assert code == 1
    hint = own_words(cap.err)
    assert "`migrate hash`" in hint and "Check deploy/migrations/gold/ for conflicts" in hint


def test_lock_held_hint_names_its_lock_timeout(hotpot, monkeypatch, capsys):
    import psycopg

    with psycopg.connect(**hotpot["conn"].connect_kwargs(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(2686470616)")
        code, cap = run(hotpot, monkeypatch, capsys, "--lock-timeout", "100ms")
    assert code == 1 and "lock is held by other session" in cap.err
    assert "--lock-timeout" in own_words(cap.err)


def test_unknown_database_and_hidden_file_hints(hotpot, monkeypatch, capsys):
    user, password, _ = hotpot["login"]
    write_config(hotpot["cfg"], hotpot["server"], user, password, "no_such_db_here")
    code, cap = run(hotpot, monkeypatch, capsys)
    assert code == 1 and "does not exist" in cap.err
    assert "dbname in the configuration" in own_words(cap.err)
    (hotpot["root"] / "bronze" / ".hidden_9999.sql").write_text("SELECT 1;\n")
    MigrationDir(hotpot["root"] / "bronze").write_sum()
    code, cap = run(hotpot, monkeypatch, capsys)
    assert code == 1 and "hidden file" in cap.err
    own_words(cap.err)


def test_server_down_hint(hotpot, monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    user, password, dbname = hotpot["login"]
    server = hotpot["server"]
    write_config(hotpot["cfg"], type("S", (), {"host": "127.0.0.1", "port": port})(), user, password, dbname)
    code, cap = run(hotpot, monkeypatch, capsys)
    assert code == 1 and "cannot connect" in cap.err
    own_words(cap.err)
    assert server  # the real server stays untouched


def test_hash_command(hotpot, monkeypatch, capsys):
    d = hotpot["root"] / "silver"
    (d / "0006_more.sql").write_text("CREATE TABLE silver.more (id int);\n")
    code, cap = run(hotpot, monkeypatch, capsys, "hash")
    assert code == 0, cap.err
    assert MigrationDir(d).validate() and "silver/atlas.sum: 2 files" in cap.out
    before = (d / "atlas.sum").read_bytes()
    (d / "0007_more.sql").write_text("SELECT 1;\n")
    code, cap = run(hotpot, monkeypatch, capsys, "hash", embedded=True)
    assert code == 1 and "migrate.pyz carries a copy" in cap.err
    own_words(cap.err)
    assert (d / "atlas.sum").read_bytes() == before
