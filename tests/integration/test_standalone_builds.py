"""`inv build-genmigrate` → genmigrate.pyz that runs alone; builds prune older cached trees (issue 13)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "data" / "standalone"))

from pgrole import role_and_database, write_config  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
FIREWALL = (
    'CREATE TABLE "silver"."firewall_rules" ("id" bigint NOT NULL, "asset_key" text NOT NULL, '
    'CONSTRAINT "firewall_rules_pkey" PRIMARY KEY ("id"));\n'
)


def _old_tree(cache: Path, name: str, age: float) -> Path:
    d = cache / name
    d.mkdir(parents=True)
    (d / ".complete").write_text("x\n")
    t = time.time() - age
    os.utime(d / ".complete", (t, t))
    return d


def test_build_genmigrate_runs_alone_and_prunes_its_old_trees(pg_server, tmp_path):
    cache = tmp_path / "cache" / "dbstack"
    old = _old_tree(cache, "genmigrate-" + "a" * 16, 100)
    other_tool = _old_tree(cache, "migrate-" + "b" * 16, 100)
    env = {**os.environ, "DBSTACK_MIGRATE_CACHE": str(cache)}
    out = tmp_path / "dist" / "genmigrate.pyz"
    cp = subprocess.run(
        [INV, "build-genmigrate", "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert cp.returncode == 0, cp.stderr
    assert not old.exists() and other_tool.exists()  # only genmigrate's own older builds go
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "deploy", proj / "deploy")
    shutil.copy2(out, proj / "genmigrate.pyz")
    (proj / "deploy" / "schema" / "silver" / "firewall.sql").write_text(FIREWALL)
    base = getattr(sys, "_base_executable", None) or sys.executable
    with role_and_database(pg_server, createdb=True, dbname=f"hotpot_{os.getpid()}_g_dev") as (user, pw, db):
        write_config(tmp_path / "config.yaml", pg_server, user, pw, db)
        run_env = {
            "PATH": f"{Path(base).parent}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "LC_ALL": "C.UTF-8",
            "DBSTACK_MIGRATE_CACHE": str(cache),
            "CONFIG_SOURCE": "file",
            "CONFIG_FILE": str(tmp_path / "config.yaml"),
            "TMPDIR": str(tmp_path),
        }
        run = subprocess.run(
            [base, "-I", "genmigrate.pyz", "add_firewall_tables"],
            cwd=proj,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert run.returncode == 0, run.stderr + run.stdout
    assert (proj / "deploy" / "migrations" / "silver" / "0006_add_firewall_tables.sql").is_file()
    assert len(list(cache.glob("genmigrate-*"))) == 1


def test_build_migrate_prunes_older_builds(tmp_path):
    cache = tmp_path / "cache" / "dbstack"
    trees = [_old_tree(cache, f"migrate-{c * 16}", age) for c, age in (("1", 300), ("2", 200))]
    foreign = cache / "something-else"
    foreign.mkdir()
    env = {**os.environ, "DBSTACK_MIGRATE_CACHE": str(cache)}
    cp = subprocess.run(
        [INV, "build-migrate", "--out", str(tmp_path / "migrate.pyz")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cp.returncode == 0, cp.stderr
    assert not any(t.exists() for t in trees) and foreign.exists()
    assert "removed 2 cached older builds" in cp.stdout
