#!/usr/bin/env python3
"""Benchmark: inspection and drift on a 1,000-table schema.

On a throwaway server (initdb + pg_ctl) a generated migration directory
(20 files x 50 tables: identity primary key, a foreign key to the previous
table, a unique and a plain index, a check, a default, comments) is applied
to a "live" database. Then, each repeated and reported as the median:

  inspect        read_catalog() of the live database (in-process)
  pg_dump        `pg_dump --schema-only` of the same database (the peer: PostgreSQL's own schema reader)
  render         HCL + SQL + Mermaid rendering of the catalog
  ddl-floor      createdb + `psql -1` running every file in one transaction + dropdb (the server's DDL cost)
  replay         createdb + our engine applying the directory + dropdb (what drift does before inspecting)
  drift          dbstack.analysis.drift.drift() end to end (scratch db, replay, 2 inspections, diff, drop)
  drift-cli      `inv db-drift --no-cache --target cnpg` end to end (a process: interpreter and imports included)
  drift-cached   `inv db-drift --target cnpg` with the directory's schema already cached (unchanged migrations)
  diff-cached    `inv migrate-diff` after a hand change (a new table with a foreign key and an index, a new
                 column with a default, a GRANT) with the directory's schema cached: plan, verification
                 replay of the directory plus the new file with lint, write, re-hash — on a fresh copy of
                 the directory each run (the target is marked dev through INVOKE_DBSTACK_TARGETS_CNPG_DEV)

    .venv/bin/python bench/inspect_bench.py               # 3 repetitions
    .venv/bin/python bench/inspect_bench.py --repeat 5 --tables 1000
    .venv/bin/python bench/inspect_bench.py --dev-server   # server with fsync=off etc., like the test fixture
    .venv/bin/python bench/inspect_bench.py --steps drift-cached,diff-cached
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from dbstack.analysis.drift import drift  # noqa: E402
from dbstack.inspect.catalog import read_catalog  # noqa: E402
from dbstack.inspect.erd import render_mermaid  # noqa: E402
from dbstack.inspect.hcl import render_hcl  # noqa: E402
from dbstack.inspect.scratch import scratch_database  # noqa: E402
from dbstack.inspect.sql import render_sql  # noqa: E402
from dbstack.local.pgctl import PgCtl, find_bindir, free_port  # noqa: E402
from dbstack.migrations.directory import MigrationDir  # noqa: E402
from dbstack.migrations.engine import ApplyOptions, apply  # noqa: E402
from dbstack.migrations.layers import Layers  # noqa: E402
from dbstack.settings import ConnSpec  # noqa: E402


def table_sql(i: int) -> str:
    t = f"entity_{i:04d}"
    fk = f",\n    parent_id bigint REFERENCES entity_{i - 1:04d} (id) ON DELETE SET NULL" if i else ""
    return (
        f"CREATE TABLE {t} (\n"
        "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    code varchar(40) NOT NULL,\n"
        "    name text NOT NULL DEFAULT '',\n"
        "    amount numeric(12,2) CHECK (amount >= 0),\n"
        f"    created_at timestamptz NOT NULL DEFAULT now(){fk}\n"
        ");\n"
        f"CREATE UNIQUE INDEX {t}_code_key ON {t} (code);\n"
        f"CREATE INDEX {t}_created_at_idx ON {t} (created_at DESC);\n"
        f"COMMENT ON TABLE {t} IS 'Entity {i}';\n"
    )


def make_dir(path: Path, tables: int, per_file: int = 50) -> None:
    path.mkdir(parents=True)
    for f in range(0, tables, per_file):
        body = "".join(table_sql(i) for i in range(f, min(f + per_file, tables)))
        (path / f"{20240101000000 + f // per_file + 1}_entities_{f:04d}.sql").write_text(body)
    MigrationDir(path).write_sum()


def timed(fn, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), runs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--dev-server",
        action="store_true",
        help="start the server with fsync, synchronous_commit and full_page_writes off",
    )
    ap.add_argument(
        "--steps",
        default="",
        help="comma-separated subset of: inspect, pg_dump, render, ddl-floor, replay, drift, drift-cli, "
        "drift-cached, diff-cached (default: all)",
    )
    args = ap.parse_args()
    wanted = set(filter(None, args.steps.split(","))) or None

    base = Path(tempfile.mkdtemp(prefix="dbstack-inspect-bench-"))
    base.chmod(0o755)  # as root the server runs as `postgres`, which must reach it
    dev = ("fsync=off", "synchronous_commit=off", "full_page_writes=off") if args.dev_server else ()
    ctl = PgCtl(base / "data", port=free_port(), user="postgres", password=secrets.token_urlsafe(18), settings=dev)
    ctl.init()
    ctl.start()
    ctl.set_password()
    server = ConnSpec(host="127.0.0.1", port=ctl.port, user="postgres", password=ctl.password, dbname="postgres")
    try:
        d = base / "migrations"
        make_dir(d, args.tables)
        layers = Layers.of([d])
        live_name = f"live_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(**server.connect_kwargs(), autocommit=True) as pg:
            pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(live_name)))
        live = server.with_db(live_name)
        apply(live, layers, ApplyOptions())
        cat = read_catalog(live)
        assert len(cat.tables) == args.tables
        pg_dump = str(find_bindir() / "pg_dump")
        env = {**os.environ, "PGPASSWORD": ctl.password}
        env_cli = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
        env_cli["DATABASE_URL"] = live.url(masked=False)

        def dump() -> None:
            subprocess.run(
                [pg_dump, "--schema-only", "-h", "127.0.0.1", "-p", str(ctl.port), "-U", "postgres", "-d", live_name],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )

        def render() -> None:
            render_hcl(cat), render_sql(cat), render_mermaid(cat)

        psql = str(find_bindir() / "psql")

        def ddl_floor() -> None:
            with scratch_database(server) as scratch:
                files = sorted(d.glob("*.sql"))
                subprocess.run(
                    [
                        psql,
                        "-X",
                        "-q",
                        "-1",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(ctl.port),
                        "-U",
                        "postgres",
                        "-d",
                        scratch.dbname,
                        *[a for f in files for a in ("-f", str(f))],
                    ],
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )

        def replay() -> None:
            with scratch_database(server) as scratch:
                apply(scratch, layers, ApplyOptions())

        def drift_lib() -> None:
            assert drift(live, layers).in_sync

        def drift_cli(*flags: str) -> None:
            res = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "inv"), "db-drift", "--dir", str(d), "--target", "cnpg", *flags],
                cwd=ROOT,
                env=env_cli,
                capture_output=True,
                text=True,
            )
            assert res.returncode == 0, res.stderr

        runs_made = iter(range(1_000_000))

        def diff_cached() -> None:
            copy = base / f"diff-{next(runs_made)}"
            shutil.copytree(d, copy)
            res = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "inv"), "migrate-diff", "hand", "--dir", str(copy), "--target", "cnpg"],
                cwd=ROOT,
                env={**env_cli, "INVOKE_DBSTACK_TARGETS_CNPG_DEV": "1"},
                capture_output=True,
                text=True,
            )
            assert res.returncode == 0 and "verified" in res.stdout, res.stdout + res.stderr
            assert len(list(copy.glob("*_hand.sql"))) == 1

        results = {}
        for name, fn in (
            ("inspect", lambda: read_catalog(live)),
            ("pg_dump", dump),
            ("render", render),
            ("ddl-floor", ddl_floor),
            ("replay", replay),
            ("drift", drift_lib),
            ("drift-cli", lambda: drift_cli("--no-cache")),
            ("drift-cached", drift_cli),
            ("diff-cached", diff_cached),
        ):
            if wanted is not None and name not in wanted:
                continue
            if name == "drift-cached":
                drift_cli()  # warm the cache
            if name == "diff-cached":
                if "drift-cached" not in results:
                    drift_cli()  # warm the cache
                with psycopg.connect(**live.connect_kwargs(), autocommit=True) as pg:
                    pg.execute(
                        "CREATE TABLE hand_made (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                        "entity_id bigint NOT NULL REFERENCES entity_0000 (id), note text);"
                        "CREATE INDEX hand_made_entity_id_idx ON hand_made (entity_id);"
                        "ALTER TABLE entity_0500 ADD COLUMN status text NOT NULL DEFAULT 'new';"
                        "GRANT SELECT ON entity_0001 TO PUBLIC"
                    )
            results[name] = timed(fn, args.repeat)
            med, runs = results[name]
            print(f"{name:10s} median {med:6.3f} s   runs {', '.join(f'{r:.3f}' for r in runs)}", flush=True)
        if wanted is not None:
            return 0
        ins, dmp = results["inspect"][0], results["pg_dump"][0]
        print(
            f"\n{args.tables} tables: inspect / pg_dump = {ins / dmp:.2f}; "
            f"replay / ddl-floor = {results['replay'][0] / results['ddl-floor'][0]:.2f}; "
            f"drift = {results['drift'][0]:.2f} s (replay {results['replay'][0]:.2f} s, "
            f"drift / (replay + 2 x inspect) = {results['drift'][0] / (results['replay'][0] + 2 * ins):.2f}); "
            f"drift-cli = {results['drift-cli'][0]:.2f} s; drift-cached = {results['drift-cached'][0]:.2f} s"
        )
    finally:
        ctl.remove()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
