"""`genmigrate` on a real PostgreSQL: the _dev rule, no-op runs, one new globally numbered file per changed layer."""

from __future__ import annotations

import os
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
GENMIGRATE = [sys.executable, "-m", "dbstack.standalone.genmigrate_cli"]

FIREWALL = """
CREATE TABLE "silver"."firewall_rules" (
  "id" bigint GENERATED ALWAYS AS IDENTITY,
  "asset_key" text NOT NULL,
  "direction" text NOT NULL,
  "priority" integer NOT NULL DEFAULT 1000,
  CONSTRAINT "firewall_rules_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "firewall_rules_direction_check" CHECK ("direction" IN ('INGRESS', 'EGRESS')),
  CONSTRAINT "firewall_rules_asset_key_fkey" FOREIGN KEY ("asset_key") REFERENCES "silver"."assets" ("asset_key")
);
CREATE INDEX "firewall_rules_asset_idx" ON "silver"."firewall_rules" ("asset_key");
COMMENT ON TABLE "silver"."firewall_rules" IS 'Firewall rules per asset';
"""


@pytest.fixture
def project(tmp_path):
    """A copy of the example layout (migrations + desired schema) and a clean environment."""
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "deploy", proj / "deploy")
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "VAULT_", "CONFIG_"))}
    env.update(
        {"HOME": str(home), "TMPDIR": str(tmp), "CONFIG_SOURCE": "file", "CONFIG_FILE": str(tmp_path / "config.yaml")}
    )
    return {
        "dir": proj,
        "env": env,
        "config": tmp_path / "config.yaml",
        "written": [proj, home, tmp],
        "migrations": proj / "deploy" / "migrations",
        "schema": proj / "deploy" / "schema",
    }


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def genmigrate(project, name, *, secrets=None):
    argv = GENMIGRATE + ["--schema", str(project["schema"]), "--out", str(project["migrations"]), name]
    if secrets is None:
        return subprocess.run(argv, cwd=project["dir"], env=project["env"], capture_output=True, text=True), None
    return run_watched(argv, secrets=secrets, cwd=project["dir"], env=project["env"])


def test_refuses_a_database_not_named_dev(pg_server, project):
    write_config(project["config"], pg_server, "someone", "irrelevant", "hotpot")
    before = snapshot(project["migrations"])
    cp, _ = genmigrate(project, "add_x")
    assert cp.returncode == 1
    assert cp.stderr.startswith("Error: database name must end with _dev")
    assert "hint: Set `dbname` to a `_dev` database (e.g. hotpot_dev)" in cp.stderr
    assert snapshot(project["migrations"]) == before


def test_missing_dev_database_gets_the_create_database_hint(pg_server, project):
    write_config(project["config"], pg_server, pg_server.user, pg_server.password, "nosuch_dev")
    cp, _ = genmigrate(project, "add_x")
    assert cp.returncode == 1
    assert "dev database 'nosuch_dev' does not exist" in cp.stderr and 'CREATE DATABASE "nosuch_dev"' in cp.stderr


def scratch_dbs(pg_server) -> list[str]:
    import psycopg

    with psycopg.connect(**pg_server.connect_kwargs()) as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'genmigrate%'")]


def test_add_table_to_silver_gives_one_file_and_no_drift(pg_server, project, fresh_db):
    from dbstack.inspect.catalog import read_catalog
    from dbstack.inspect.diff import diff
    from dbstack.migrations import engine
    from dbstack.migrations.directory import MigrationDir
    from dbstack.migrations.layers import Layers
    from dbstack.standalone.genmigrate import load_desired

    with role_and_database(pg_server, createdb=True, dbname=f"hotpot_{os.getpid()}_dev") as (user, password, dbname):
        write_config(project["config"], pg_server, user, password, dbname)
        secrets = needles(password)
        before = snapshot(project["migrations"])

        # 1. the example layout is in sync: nothing written
        cp, scan = genmigrate(project, "nothing", secrets=secrets)
        assert cp.returncode == 0, cp.stderr
        assert [ln for ln in cp.stdout.splitlines() if ln.startswith("==>")] == [
            f"==> {layer}: migrate diff nothing" for layer in LAYERS
        ]
        assert "No changes" in cp.stdout and cp.stdout.rstrip().endswith("✅ Migration diff complete")
        assert snapshot(project["migrations"]) == before
        assert scan.scans > 0 and scan.hits == []

        # 2. a new table in silver's desired schema: exactly one new file, next global number
        (project["schema"] / "silver" / "firewall.sql").write_text(FIREWALL)
        cp, scan = genmigrate(project, "add_firewall_tables", secrets=secrets)
        assert cp.returncode == 0, cp.stderr + cp.stdout
        after = snapshot(project["migrations"])
        new = sorted(set(after) - set(before))
        assert new == ["silver/0006_add_firewall_tables.sql"]
        changed = sorted(k for k in before if before[k] != after[k])
        assert changed == ["silver/atlas.sum"]
        assert "    new: 0006_add_firewall_tables.sql" in cp.stdout
        assert cp.stdout.rstrip().endswith("✅ Migration diff complete")
        text = after["silver/0006_add_firewall_tables.sql"].decode()
        assert 'CREATE TABLE "silver"."firewall_rules"' in text and "FOREIGN KEY" in text
        MigrationDir(project["migrations"] / "silver").validate()  # a valid atlas.sum
        assert scan.hits == []
        assert files_containing(project["written"], secrets) == []

        # 3. applying the migrations makes drift vanish: migrated == desired
        layers = Layers.of([project["migrations"] / layer for layer in LAYERS])
        report = engine.apply(fresh_db, layers)
        assert report.applied[-1] == "0006"
        migrated = read_catalog(fresh_db, schemas=list(LAYERS))
        import psycopg
        from psycopg import sql

        want_name = fresh_db.dbname + "_want"
        with psycopg.connect(**pg_server.connect_kwargs(), autocommit=True) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(want_name)))
        try:
            load_desired(pg_server.with_db(want_name), project["schema"], LAYERS)
            desired = read_catalog(pg_server.with_db(want_name), schemas=list(LAYERS))
        finally:
            with psycopg.connect(**pg_server.connect_kwargs(), autocommit=True) as c:
                c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(want_name)))
        assert diff(desired, migrated) == []
        assert any(t.name == "firewall_rules" for t in migrated.tables)

        # 4. running again produces nothing
        again = snapshot(project["migrations"])
        cp, _ = genmigrate(project, "add_firewall_tables_again")
        assert cp.returncode == 0, cp.stderr
        assert "No changes" in cp.stdout
        assert snapshot(project["migrations"]) == again
    assert scratch_dbs(pg_server) == []


CHANGES = {
    # bronze: enum value in the middle, column type + nullability + default, new index, comment
    "bronze/ingest.sql": [
        ("('received', 'parsed', 'rejected', 'failed')", "('received', 'queued', 'parsed', 'rejected', 'failed')"),
        ('"source" text NOT NULL,', "\"source\" varchar(200) NOT NULL DEFAULT 'unknown',"),
        ('"error" text,', '"error" text NOT NULL DEFAULT \'\',\n  "attempts" integer NOT NULL DEFAULT 0,'),
        (
            'COMMENT ON TABLE "bronze"."raw_assets" IS \'One cloud resource as a collector saw it\';',
            'COMMENT ON TABLE "bronze"."raw_assets" IS \'One resource as collected\';\n'
            'CREATE INDEX "raw_assets_collected_idx" ON "bronze"."raw_assets" ("collected_at" DESC);',
        ),
    ],
    # bronzehistory: check constraint changed, identity changed, index dropped, column dropped
    "bronzehistory/history.sql": [
        ('  "payload" jsonb NOT NULL,\n', ""),
        ('"valid_to" > "valid_from"', '"valid_to" >= "valid_from"'),
        ("GENERATED ALWAYS AS IDENTITY", "GENERATED BY DEFAULT AS IDENTITY"),
        (
            'CREATE INDEX "raw_assets_history_asset_idx" ON "bronzehistory"."raw_assets_history" '
            '("asset_id", "valid_from");',
            "",
        ),
    ],
    # silver: unique constraint replaced, fk action changed, column dropped
    "silver/assets.sql": [
        (
            'CONSTRAINT "assets_type_name_key" UNIQUE ("resource_type", "name")',
            'CONSTRAINT "assets_type_name_key" UNIQUE ("resource_type", "name", "project")',
        ),
        ("ON DELETE CASCADE", "ON DELETE RESTRICT"),
        ('  "project" text,\n', '  "project" text,\n  "region" text,\n'),
    ],
    # gold: view gains a column (replace), function body changes, new function depending on a table
    "gold/reports.sql": [
        (
            'SELECT "resource_type", count(*) AS "asset_count" FROM',
            'SELECT "resource_type", count(*) AS "asset_count", max("last_seen") AS "last_seen" FROM',
        ),
        (
            "WHERE resource_type = p_type $$;",
            "WHERE resource_type = p_type AND last_seen IS NOT NULL $$;\n"
            'CREATE FUNCTION "gold"."newest"() RETURNS SETOF "silver"."assets" LANGUAGE sql STABLE\n'
            "  AS $$ SELECT * FROM silver.assets ORDER BY last_seen DESC LIMIT 10 $$;",
        ),
    ],
}


def test_many_kinds_of_change_in_every_layer(pg_server, project):
    from dbstack.migrations.directory import MigrationDir

    for rel, edits in CHANGES.items():
        p = project["schema"] / rel
        text = p.read_text()
        for old, new in edits:
            assert old in text, (rel, old)
            text = text.replace(old, new)
        p.write_text(text)
    with role_and_database(pg_server, createdb=True, dbname=f"hotpot_{os.getpid()}_m_dev") as (user, password, dbname):
        write_config(project["config"], pg_server, user, password, dbname)
        before = snapshot(project["migrations"])
        cp, _ = genmigrate(project, "reshape")
        assert cp.returncode == 0, cp.stderr + cp.stdout
        # genmigrate itself verified that replaying the new files reproduces the desired schema
        new = sorted(set(snapshot(project["migrations"])) - set(before))
        assert new == sorted(
            [
                "bronze/0006_reshape.sql",
                "bronzehistory/0007_reshape.sql",
                "silver/0008_reshape.sql",
                "gold/0009_reshape.sql",
            ]
        )
        for layer in LAYERS:
            MigrationDir(project["migrations"] / layer).validate()
        assert (
            '    warning: destroys data: ALTER TABLE "bronzehistory"."raw_assets_history" DROP COLUMN "payload";'
            in cp.stdout.splitlines()
        )
        bronze = (project["migrations"] / "bronze" / "0006_reshape.sql").read_text()
        assert "ADD VALUE 'queued' AFTER 'received'" in bronze
        gold = (project["migrations"] / "gold" / "0009_reshape.sql").read_text()
        assert "CREATE OR REPLACE VIEW" in gold
        again = snapshot(project["migrations"])
        cp, _ = genmigrate(project, "reshape_again")
        assert cp.returncode == 0 and "No changes" in cp.stdout, cp.stderr + cp.stdout
        assert snapshot(project["migrations"]) == again


def test_unsupported_change_writes_nothing(pg_server, project):
    p = project["schema"] / "bronze" / "ingest.sql"
    p.write_text(p.read_text().replace("('received', 'parsed', 'rejected', 'failed')", "('received', 'failed')"))
    with role_and_database(pg_server, createdb=True, dbname=f"hotpot_{os.getpid()}_u_dev") as (user, password, dbname):
        write_config(project["config"], pg_server, user, password, dbname)
        before = snapshot(project["migrations"])
        cp, _ = genmigrate(project, "drop_labels")
        assert cp.returncode == 1
        assert "cannot write these changes safely" in cp.stderr and "labels removed or reordered" in cp.stderr
        assert snapshot(project["migrations"]) == before
    assert scratch_dbs(pg_server) == []


def test_atlas_engine_prints_the_seed_output_and_renumbers(pg_server, project, tmp_path):
    """`--engine atlas` against the FAKE atlas (tests/data/standalone/fake_atlas.py)."""
    import json

    from dbstack.migrations.directory import MigrationDir

    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "atlas").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{DATA / "fake_atlas.py"}" "$@"\n')
    (bindir / "atlas").chmod(0o755)
    log = tmp_path / "fake-atlas.jsonl"  # the fake sees stdin (the password): kept outside the scanned dirs
    env = dict(
        project["env"],
        PATH=f"{bindir}:{os.environ['PATH']}",
        FAKE_ATLAS_LOG=str(log),
        FAKE_ATLAS_DIFF="bronzehistory",
        # the child's environment is an allow-list: the fake's own switches are added to it
        DBSTACK_CHILD_ENV_ALLOW="FAKE_ATLAS_LOG,FAKE_ATLAS_DIFF",
    )
    with role_and_database(pg_server, createdb=True, dbname=f"hotpot_{os.getpid()}_a_dev") as (user, password, dbname):
        write_config(project["config"], pg_server, user, password, dbname)
        argv = GENMIGRATE + [
            "--engine",
            "atlas",
            "--schema",
            str(project["schema"]),
            "--out",
            str(project["migrations"]),
            "add_firewall_tables",
        ]
        cp, scan = run_watched(argv, secrets=needles(password), cwd=project["dir"], env=env)
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout == (
            "==> bronze: atlas migrate diff add_firewall_tables\n"
            "==> bronzehistory: atlas migrate diff add_firewall_tables\n"
            "    rename: 20260208154545_add_firewall_tables.sql -> 0006_add_firewall_tables.sql\n"
            "==> silver: atlas migrate diff add_firewall_tables\n"
            "==> gold: atlas migrate diff add_firewall_tables\n"
            "\n"
            "✅ Migration diff complete\n"
        )
        assert (project["migrations"] / "bronzehistory" / "0006_add_firewall_tables.sql").is_file()
        MigrationDir(project["migrations"] / "bronzehistory").validate()
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        assert [c["argv"] for c in calls] == [
            [
                "migrate",
                "diff",
                "add_firewall_tables",
                "--to",
                f"file://{project['schema'] / layer}",
                "--env",
                layer,
                "--config",
                "file:///dev/stdin",
            ]
            for layer in LAYERS
        ]
        for c in calls:
            assert 'dev = "postgres://' in c["config"] and "genmigrate_dev_" in c["config"]
            assert not any(password in v for v in c["env"].values())
        assert scan.hits == []
        assert files_containing(project["written"], needles(password)) == []
    assert scratch_dbs(pg_server) == []


def test_security_and_types_in_the_desired_schema_are_written(pg_server, project):
    """RLS, a policy, GRANT/REVOKE (PUBLIC included), a composite type and an INHERITS child reach the new file."""
    p = project["schema"] / "silver" / "assets.sql"
    p.write_text(
        p.read_text()
        + """
ALTER TABLE "silver"."assets" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "assets_visible" ON "silver"."assets" FOR SELECT USING (true);
GRANT SELECT ON "silver"."assets" TO PUBLIC;
REVOKE ALL ON SCHEMA "silver" FROM PUBLIC;
CREATE TYPE "silver"."geo" AS ("lat" double precision, "lon" double precision);
CREATE TABLE "silver"."asset_events" ("at" timestamptz NOT NULL, "where" "silver"."geo");
CREATE TABLE "silver"."asset_moves" ("to" "silver"."geo") INHERITS ("silver"."asset_events");
"""
    )
    with role_and_database(pg_server, createdb=True, dbname=f"hotpot_{os.getpid()}_s_dev") as (user, password, dbname):
        write_config(project["config"], pg_server, user, password, dbname)
        cp, _ = genmigrate(project, "secure")
        assert cp.returncode == 0, cp.stderr + cp.stdout
        new = list((project["migrations"] / "silver").glob("*_secure.sql"))
        assert len(new) == 1
        text = new[0].read_text()
        for stmt in (
            'ALTER TABLE "silver"."assets" ENABLE ROW LEVEL SECURITY;',
            'CREATE POLICY "assets_visible" ON "silver"."assets" FOR SELECT USING (true);',
            'GRANT SELECT ON TABLE "silver"."assets" TO PUBLIC;',
            'CREATE TYPE "silver"."geo" AS ("lat" double precision, "lon" double precision);',
            'INHERITS ("silver"."asset_events");',
        ):
            assert stmt in text, text
        cp, _ = genmigrate(project, "secure_again")
        assert cp.returncode == 0 and "No changes" in cp.stdout, cp.stderr + cp.stdout
