"""`migrate` from a built migrate.pyz, copied alone into an empty directory, on a real PostgreSQL."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "standalone"
sys.path.insert(0, str(DATA))

from leakscan import files_containing, needles, run_watched  # noqa: E402
from pgrole import role_and_database, write_config  # noqa: E402

LAYERS = ("bronze", "bronzehistory", "silver", "gold")


def base_python() -> str:
    """An interpreter outside the venv (the one the venv was made from)."""
    exe = getattr(sys, "_base_executable", None) or sys.executable
    assert Path(exe).exists()
    return exe


@pytest.fixture(scope="module")
def pyz(tmp_path_factory):
    from dbstack.standalone.bundle import build_pyz

    out = tmp_path_factory.mktemp("build") / "migrate.pyz"
    r = build_pyz(out, ROOT / "deploy" / "migrations", LAYERS, source_label="deploy/migrations")
    assert r.files == 5 and out.stat().st_mode & 0o111
    return out


@pytest.fixture
def sandbox(tmp_path, pyz):
    """An empty directory holding only migrate.pyz, and a clean environment (no venv, no source tree)."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy2(pyz, run / "migrate.pyz")
    assert sorted(p.name for p in run.iterdir()) == ["migrate.pyz"]
    home, cache, tmp, cfgdir = (tmp_path / n for n in ("home", "cache", "tmp", "cfg"))
    for d in (home, cache, tmp, cfgdir):
        d.mkdir()
    env = {
        "PATH": f"{Path(base_python()).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CACHE_HOME": str(cache),
        "TMPDIR": str(tmp),
        "CONFIG_SOURCE": "file",
        "CONFIG_FILE": str(cfgdir / "config.yaml"),
        "LC_ALL": "C.UTF-8",
    }
    return {"run": run, "env": env, "config": cfgdir / "config.yaml", "written": [run, home, cache, tmp]}


def rows(server, dbname, query):
    import psycopg

    with psycopg.connect(**server.with_db(dbname).connect_kwargs()) as conn:
        return conn.execute(query).fetchall()


def test_pyz_applies_all_layers_in_global_order_then_nothing_pending(pg_server, sandbox):
    with role_and_database(pg_server) as (user, password, dbname):
        write_config(sandbox["config"], pg_server, user, password, dbname)
        secrets = needles(password)
        # 1. run as ./migrate.pyz (shebang: the first python3 on PATH, not the venv's)
        first, scan1 = run_watched(["./migrate.pyz"], secrets=secrets, cwd=sandbox["run"], env=sandbox["env"])
        assert first.returncode == 0, first.stderr
        assert "Migrating to version 0005 (5 migrations in total):" in first.stdout
        order = re.findall(r"-- migrating version (\d+)", first.stdout)
        assert order == ["0001", "0002", "0003", "0004", "0005"]  # global order, not layer order
        assert rows(
            pg_server, dbname, "SELECT version FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version"
        ) == [(v,) for v in order]
        tables = rows(
            pg_server,
            dbname,
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('bronze','bronzehistory','silver','gold') ORDER BY 1, 2",
        )
        assert {s for s, _ in tables} == set(LAYERS)
        assert ("bronze", "ingest_batches") in tables and ("gold", "assets_by_type") in tables
        # the bundled driver came from the per-build cache, extracted once
        cache_dirs = list((Path(sandbox["env"]["XDG_CACHE_HOME"]) / "dbstack").glob("migrate-*"))
        assert len(cache_dirs) == 1 and (cache_dirs[0] / "psycopg_binary").is_dir()

        # 2. again, with no site-packages at all (-I -S): nothing pending
        again, scan2 = run_watched(
            [base_python(), "-I", "-S", "migrate.pyz"], secrets=secrets, cwd=sandbox["run"], env=sandbox["env"]
        )
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "No migration files to execute"

        status, scan3 = run_watched(
            ["./migrate.pyz", "--status"], secrets=secrets, cwd=sandbox["run"], env=sandbox["env"]
        )
        assert status.returncode == 0, status.stderr
        assert "Migration Status: OK" in status.stdout and "Current Version: 0005" in status.stdout
        assert "Pending Files:   0" in status.stdout

        for scan in (scan1, scan2, scan3):
            assert scan.scans > 0 and scan.hits == []
        for cp in (first, again, status):
            assert not any(s.decode() in cp.stdout + cp.stderr for s in secrets)
        assert files_containing(sandbox["written"], secrets) == []
        assert sorted(p.name for p in sandbox["run"].iterdir()) == ["migrate.pyz"]


def test_pyz_dry_run_and_baseline(pg_server, sandbox):
    with role_and_database(pg_server) as (user, password, dbname):
        write_config(sandbox["config"], pg_server, user, password, dbname)
        env = sandbox["env"]
        dry = subprocess.run(
            ["./migrate.pyz", "--dry-run"], cwd=sandbox["run"], env=env, capture_output=True, text=True
        )
        assert dry.returncode == 0, dry.stderr
        assert "-- migrating version 0001" in dry.stdout
        assert rows(
            pg_server, dbname, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'bronze'"
        ) == [(0,)]
        # an existing database that got 0001-0004 some other way
        import psycopg

        from dbstack.settings import ConnSpec

        owner = ConnSpec(host=pg_server.host, port=pg_server.port, user=user, password=password, dbname=dbname)
        with psycopg.connect(**owner.connect_kwargs(), autocommit=True) as conn:
            for layer, name in [
                ("bronze", "0001_initial.sql"),
                ("bronzehistory", "0002_initial.sql"),
                ("silver", "0003_initial.sql"),
                ("gold", "0004_initial.sql"),
            ]:
                conn.execute((ROOT / "deploy" / "migrations" / layer / name).read_text())
        base = subprocess.run(
            ["./migrate.pyz", "--baseline", "0004"], cwd=sandbox["run"], env=env, capture_output=True, text=True
        )
        assert base.returncode == 0, base.stderr
        assert re.findall(r"-- migrating version (\d+)", base.stdout) == ["0005"]
        assert rows(
            pg_server,
            dbname,
            "SELECT version, type FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version",
        ) == [("0004", 1), ("0005", 2)]


def test_pyz_bad_config_one_message_exit_1(sandbox):
    env = sandbox["env"]
    cases = {
        "database:\n  host: h\n  user: u\n": "incomplete DSN: missing database.port, database.dbname",
        "database: [unclosed\n": "is not valid YAML at line",
        "other: 1\n": "Database DSN not configured",
    }
    for text, needle in cases.items():
        sandbox["config"].write_text(text)
        cp = subprocess.run(["./migrate.pyz"], cwd=sandbox["run"], env=env, capture_output=True, text=True)
        assert cp.returncode == 1, cp
        assert cp.stderr.startswith("Error: ") and needle in cp.stderr and "Traceback" not in cp.stderr
        assert "hint:" in cp.stderr


def test_pyz_refuses_another_python(tmp_path, pyz):
    """The bundled driver is compiled: a mismatching interpreter gets a clear message, not an ImportError."""
    import zipfile

    bad = tmp_path / "migrate.pyz"
    data = pyz.read_bytes()
    with zipfile.ZipFile(pyz) as z:
        boot = z.read("__main__.py").decode()
    assert f'"cache_tag": "{sys.implementation.cache_tag}"' in boot
    # Rewrite only __main__.py with another cache tag.
    with zipfile.ZipFile(pyz) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == "__main__.py":
                content = content.replace(sys.implementation.cache_tag.encode(), b"cpython-399")
            dst.writestr(info, content)
    cp = subprocess.run(
        [base_python(), "-I", str(bad), "--status"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert cp.returncode == 1
    assert "was built for cpython-399" in cp.stderr and "hint:" in cp.stderr
    assert data == pyz.read_bytes()


def test_build_is_reproducible(tmp_path, pyz):
    from dbstack.standalone.bundle import build_pyz

    again = build_pyz(tmp_path / "again.pyz", ROOT / "deploy" / "migrations", LAYERS, source_label="deploy/migrations")
    assert (tmp_path / "again.pyz").read_bytes() == pyz.read_bytes()
    names = __import__("zipfile").ZipFile(pyz).namelist()
    assert not any(n.startswith(("lib/invoke/", "lib/docker/", "lib/kubernetes/", "lib/dbstack/tasks/")) for n in names)
    assert "lib/dbstack/standalone/embedded/silver/0003_initial.sql" in names
    assert again.build in __import__("zipfile").ZipFile(pyz).read("__main__.py").decode()


# --------------------------------------------------------------------------- Vault (FAKE KV v2 server)


def _fake_vault():
    import importlib.util

    spec = importlib.util.spec_from_file_location("fake_vault", DATA / "fake_vault.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.FakeVault


def test_pyz_reads_its_database_from_vault(pg_server, sandbox):
    FakeVault = _fake_vault()
    token = "hvs.test-token-1234"
    with role_and_database(pg_server) as (user, password, dbname):
        secret = {
            "database": {
                "host": pg_server.host,
                "port": str(pg_server.port),
                "user": user,
                "password": password,
                "dbname": dbname,
                "sslmode": "disable",
            }
        }
        with FakeVault(token, {"secret/hotpot/config": secret}) as vault:
            env = dict(
                sandbox["env"],
                CONFIG_SOURCE="vault",
                VAULT_ADDR=vault.addr,
                VAULT_TOKEN=token,
                VAULT_PATH="secret/hotpot/config",
                NO_PROXY="127.0.0.1",
            )
            env.pop("CONFIG_FILE")
            cp, scan = run_watched(["./migrate.pyz"], secrets=needles(password), cwd=sandbox["run"], env=env)
            assert cp.returncode == 0, cp.stderr
            assert re.findall(r"-- migrating version (\d+)", cp.stdout) == ["0001", "0002", "0003", "0004", "0005"]
            assert vault.requests and vault.requests[0][:2] == ("GET", "/v1/secret/data/hotpot/config")
            assert scan.hits == []
            assert files_containing(sandbox["written"], needles(password)) == []

            wrong = subprocess.run(
                ["./migrate.pyz"],
                cwd=sandbox["run"],
                capture_output=True,
                text=True,
                env=dict(env, VAULT_TOKEN="not-the-token"),
            )
            assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
            assert wrong.stderr.startswith("Error: Vault refused to read secret/hotpot/config")
            assert "(HTTP 403)" in wrong.stderr and "not-the-token" not in wrong.stderr

            missing = subprocess.run(
                ["./migrate.pyz"],
                cwd=sandbox["run"],
                capture_output=True,
                text=True,
                env=dict(env, VAULT_PATH="secret/nope"),
            )
            assert missing.returncode == 1 and "Vault has no secret at secret/nope" in missing.stderr
            port = vault.server.server_address[1]
        down = subprocess.run(["./migrate.pyz"], cwd=sandbox["run"], capture_output=True, text=True, env=env)
        assert down.returncode == 1
        assert down.stderr.startswith(f"Error: cannot reach Vault at http://127.0.0.1:{port}: connection refused")
