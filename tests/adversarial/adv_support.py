"""Helpers of the adversarial tier (no tests here)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from dbstack.migrations.directory import MigrationDir
from dbstack.migrations.layers import Layers

ROOT = Path(__file__).resolve().parents[2]
REV = '"atlas_schema_revisions"."atlas_schema_revisions"'
INV = str(Path(sys.executable).parent / "inv")


def make_dir(path: Path, files: dict[str, str | bytes], hash: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (path / name).write_bytes(data)
    if hash:
        MigrationDir(path).write_sum()
    return path


def layers(*dirs: Path) -> Layers:
    return Layers.of(list(dirs))


def query(spec, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(**spec.connect_kwargs(), autocommit=True) as c:
        cur = c.execute(sql, params)
        return cur.fetchall() if cur.description else []


def databases(spec, like: str) -> list[str]:
    return [r[0] for r in query(spec, "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", (like,))]


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "INVOKE_", "DATABASE_URL", "DBSTACK_"))}
    env.update(extra)
    return env


# A migrator in its own process (so that it can be SIGKILLed): the password travels on
# stdin, never in argv or the environment.
MIGRATOR = r"""
import sys
from dbstack.settings import ConnSpec
from dbstack.migrations.engine import ApplyOptions, apply
from dbstack.migrations.layers import Layers
from dbstack.cli import guarded
host, port, user, db, lock_timeout, *dirs = sys.argv[1:]
pw = sys.stdin.readline().rstrip("\n")
spec = ConnSpec(host=host, port=int(port), user=user, dbname=db, password=pw)
sys.exit(guarded(lambda: apply(spec, Layers.of(dirs),
                               ApplyOptions(lock_timeout=float(lock_timeout), allow_dirty=True))))
"""


def start_migrator(spec, *dirs: Path, lock_timeout: float = 30.0) -> subprocess.Popen:
    p = subprocess.Popen(
        [
            sys.executable,
            "-c",
            MIGRATOR,
            spec.host,
            str(spec.port),
            spec.user,
            spec.dbname,
            str(lock_timeout),
            *map(str, dirs),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    p.stdin.write((spec.password or "") + "\n")
    p.stdin.flush()
    return p


def wait_for(pred, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def active(spec, like: str) -> list[tuple[int, str]]:
    """(pid, wait_event_type) of sessions running a statement matching like."""
    return [
        (r[0], r[1])
        for r in query(
            spec,
            "SELECT pid, coalesce(wait_event_type, '') FROM pg_stat_activity WHERE query LIKE %s "
            "AND pid <> pg_backend_pid() AND state = 'active'",
            (like,),
        )
    ]
