"""Helpers shared by the engine tests (no tests here)."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

import testpaths
from dbstack.migrations.directory import MigrationDir
from dbstack.migrations.layers import Layers

ROOT = Path(__file__).resolve().parents[2]
REV = '"atlas_schema_revisions"."atlas_schema_revisions"'


def make_dir(path: Path, files: dict[str, str], hash: bool = True) -> Path:
    """A migration directory with these files and (by default) a correct atlas.sum."""
    path.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (path / name).write_text(content)
    if hash:
        MigrationDir(path).write_sum()
    return path


def rehash(path: Path) -> None:
    MigrationDir(path).write_sum()


def layers(*dirs: Path, format: str = "atlas") -> Layers:
    return Layers.of(list(dirs), format)


def query(conn_spec, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(**conn_spec.connect_kwargs(), autocommit=True) as c:
        cur = c.execute(sql, params)
        return cur.fetchall() if cur.description else []


def rows(conn_spec, table: str = REV) -> list[dict]:
    with psycopg.connect(**conn_spec.connect_kwargs(), autocommit=True) as c:
        cur = c.execute(
            f"SELECT *, partial_hashes IS NULL AS ph_sql_null, "
            f"partial_hashes = 'null'::jsonb AS ph_json_null FROM {table} ORDER BY version"
        )
        names = [d.name for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def tables(conn_spec, schema: str = "public") -> list[str]:
    return [
        r[0] for r in query(conn_spec, "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,))
    ]


def schemas(conn_spec) -> list[str]:
    return [
        r[0]
        for r in query(
            conn_spec,
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
            "AND nspname <> 'information_schema' ORDER BY 1",
        )
    ]


def inv_env(conn_spec, **extra: str) -> dict:
    """Environment for an `inv` child that targets this database through DATABASE_URL (target cnpg)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "INVOKE_", "DATABASE_URL"))}
    env["DATABASE_URL"] = conn_spec.url(masked=False)
    env.update(extra)
    return env


INV = [testpaths.INV]  # a list: callers append arguments
