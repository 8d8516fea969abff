#!/usr/bin/env python3
"""Benchmark: applying migration directories from an empty database.

Compares, in the same run and on the same throwaway server (initdb + pg_ctl):

  ours      dbstack's engine (dbstack.migrations.engine.apply, in-process)
  ours-cli  `inv migrate --target cnpg --dir …` (a process: interpreter and imports included)
  psql      (a) psql running every file in one session, each file in its own transaction
            with an INSERT of its version
  psycopg   (b) a minimal psycopg loop: one connection, BEGIN / file / INSERT / COMMIT per file
  yoyo      yoyo-migrations (in-process API, psycopg 3 backend)
  pyway     pyway (in-process API)
  sqitch    sqitch deploy (Debian package; runs psql per change)

Corpora (generated): `ddl100` and `ddl1000` (realistic DDL, 3-5 statements per file) and
`one1000` (1,000 one-statement files, where tool overhead dominates).

    .venv/bin/python bench/apply_bench.py                      # everything, 3 repetitions
    .venv/bin/python bench/apply_bench.py --corpora ddl100 --tools ours,psql,psycopg --repeat 5

The password exists only in this process and in PGPASSWORD of psql/sqitch children.
"""

from __future__ import annotations

import argparse
import json
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

from dbstack.local.pgctl import PgCtl, free_port  # noqa: E402
from dbstack.migrations.directory import MigrationDir  # noqa: E402
from dbstack.settings import ConnSpec  # noqa: E402

ALL_TOOLS = ("ours", "ours-cli", "psql", "psycopg", "yoyo", "pyway", "sqitch")
CORPORA = {"ddl100": (100, "ddl"), "ddl1000": (1000, "ddl"), "one1000": (1000, "one")}


# --------------------------------------------------------------------------- corpora


def ddl_file(i: int) -> str:
    t = f"entity_{i:04d}"
    parts = [
        f"-- Entity {i}: table, index and comment.\n"
        f"CREATE TABLE {t} (\n"
        "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    tenant_id uuid NOT NULL,\n"
        "    name varchar(200) NOT NULL,\n"
        "    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),\n"
        "    payload jsonb,\n"
        + (
            f"    parent_id bigint REFERENCES entity_{i - 1:04d} (id) ON DELETE SET NULL,\n"
            if i > 1 and i % 2 == 0
            else ""
        )
        + "    created_at timestamptz NOT NULL DEFAULT now(),\n"
        "    updated_at timestamptz NOT NULL DEFAULT now()\n"
        ");\n",
        f"CREATE INDEX {t}_tenant_created_idx ON {t} (tenant_id, created_at);\n",
        f"COMMENT ON TABLE {t} IS 'Entity number {i}';\n",
    ]
    if i > 1 and i % 3 == 0:
        parts.append(f"ALTER TABLE entity_{i - 1:04d} ADD COLUMN note_{i} text;\n")
    if i % 5 == 0:
        parts.append(f"CREATE VIEW {t}_active AS SELECT id, name FROM {t} WHERE status = 'active';\n")
    if i % 7 == 0:
        parts.append(
            f"INSERT INTO {t} (tenant_id, name) VALUES "
            "('00000000-0000-4000-8000-000000000001', 'a'), ('00000000-0000-4000-8000-000000000002', 'b');\n"
        )
    return "\n".join(parts)


def one_file(i: int) -> str:
    return f"CREATE TABLE t_{i:04d} (id integer);\n"


def make_corpus(base: Path, name: str) -> dict:
    n, kind = CORPORA[name]
    gen = ddl_file if kind == "ddl" else one_file
    root = base / name
    atlas = root / "atlas"
    atlas.mkdir(parents=True)
    files = []
    for i in range(1, n + 1):
        version = f"{i:04d}"
        text = gen(i)
        (atlas / f"{version}_f.sql").write_text(text)
        files.append((version, text))
    MigrationDir(atlas).write_sum()
    # psql (a): one script, one session
    script = root / "psql.sql"
    with script.open("w") as fh:
        fh.write("\\set ON_ERROR_STOP 1\nCREATE TABLE IF NOT EXISTS bench_versions (version text PRIMARY KEY);\n")
        for version, _ in files:
            fh.write(
                f"BEGIN;\n\\i {atlas / (version + '_f.sql')}\n"
                f"INSERT INTO bench_versions VALUES ('{version}');\nCOMMIT;\n"
            )
    # yoyo: plain .sql files, applied in file name order
    yoyo = root / "yoyo"
    yoyo.mkdir()
    for version, text in files:
        (yoyo / f"{version}_f.sql").write_text(text)
    # pyway: Flyway-style names
    pyway = root / "pyway"
    pyway.mkdir()
    for version, text in files:
        (pyway / f"V{1000 + int(version)}_1__f.sql").write_text(text)  # pyway sorts formatted versions as text
    # sqitch: plan + deploy scripts (each in its own transaction, like sqitch's template)
    sq = root / "sqitch"
    for sub in ("deploy", "revert", "verify"):
        (sq / sub).mkdir(parents=True)
    (sq / "sqitch.conf").write_text("[core]\n\tengine = pg\n\tplan_file = sqitch.plan\n\ttop_dir = .\n")
    with (sq / "sqitch.plan").open("w") as fh:
        fh.write("%syntax-version=1.0.0\n%project=bench\n\n")
        for version, text in files:
            fh.write(f"c{version} 2024-01-01T00:00:00Z Bench <bench@example.com> # file {version}\n")
            (sq / "deploy" / f"c{version}.sql").write_text(f"BEGIN;\n{text}\nCOMMIT;\n")
            (sq / "revert" / f"c{version}.sql").write_text("SELECT 1;\n")
            (sq / "verify" / f"c{version}.sql").write_text("SELECT 1;\n")
    return {
        "name": name,
        "n": n,
        "kind": kind,
        "atlas": atlas,
        "psql": script,
        "yoyo": yoyo,
        "pyway": pyway,
        "sqitch": sq,
        "tables": n,
    }


# --------------------------------------------------------------------------- runners


def run_ours(spec: ConnSpec, corpus: dict) -> None:
    from dbstack.migrations.engine import apply
    from dbstack.migrations.layers import Layers

    rep = apply(spec, Layers.of([corpus["atlas"]]))
    assert len(rep.applied) == corpus["n"]


def run_ours_cli(spec: ConnSpec, corpus: dict) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "INVOKE_"))}
    env["DATABASE_URL"] = spec.url(masked=False)
    cp = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "inv"), "migrate", "--target", "cnpg", "--dir", str(corpus["atlas"])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if cp.returncode != 0:
        raise RuntimeError(cp.stderr[-2000:])


def _pg_env(spec: ConnSpec) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = spec.password or ""  # benchmarks only: psql/sqitch read it from the environment
    return env


def run_psql(spec: ConnSpec, corpus: dict) -> None:
    cp = subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            "-h",
            spec.host,
            "-p",
            str(spec.port),
            "-U",
            spec.user,
            "-d",
            spec.dbname,
            "-f",
            str(corpus["psql"]),
        ],
        env=_pg_env(spec),
        capture_output=True,
        text=True,
    )
    if cp.returncode != 0:
        raise RuntimeError(cp.stderr[-2000:])


def run_psycopg(spec: ConnSpec, corpus: dict) -> None:
    files = sorted(corpus["atlas"].glob("*.sql"))
    with psycopg.connect(**spec.connect_kwargs(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_versions (version text PRIMARY KEY)")
        for f in files:
            text = f.read_text()
            conn.execute("BEGIN")
            conn.execute(text)
            conn.execute("INSERT INTO bench_versions VALUES (%s)", (f.name.split("_", 1)[0],))
            conn.execute("COMMIT")


def run_yoyo(spec: ConnSpec, corpus: dict) -> None:
    from yoyo import get_backend, read_migrations

    backend = get_backend(spec.url(masked=False).replace("postgres://", "postgresql+psycopg://", 1))
    migrations = read_migrations(str(corpus["yoyo"]))
    with backend.lock():
        backend.apply_migrations(backend.to_apply(migrations))
    backend.connection.close()


def run_pyway(spec: ConnSpec, corpus: dict) -> None:
    import logging

    from pyway.configfile import ConfigFile
    from pyway.migrate import Migrate

    logging.getLogger("pyway").setLevel(logging.WARNING)
    cfg = ConfigFile(
        database_type="postgres",
        database_table="pyway_history",
        database_host=spec.host,
        database_port=str(spec.port),
        database_name=spec.dbname,
        database_username=spec.user,
        database_password=spec.password,
    )
    cfg.database_migration_dir = str(corpus["pyway"])
    Migrate(cfg).run()


def run_sqitch(spec: ConnSpec, corpus: dict) -> None:
    env = _pg_env(spec)
    env.update({"SQITCH_FULLNAME": "Bench", "SQITCH_EMAIL": "bench@example.com"})
    target = f"db:pg://{spec.user}@{spec.host}:{spec.port}/{spec.dbname}"
    cp = subprocess.run(
        ["sqitch", "--quiet", "deploy", target], cwd=corpus["sqitch"], env=env, capture_output=True, text=True
    )
    if cp.returncode != 0:
        raise RuntimeError((cp.stdout + cp.stderr)[-2000:])


CPU: dict = {}  # (corpus, tool) -> CPU seconds of this process (in-process tools: the tool's own work)

RUNNERS = {
    "ours": run_ours,
    "ours-cli": run_ours_cli,
    "psql": run_psql,
    "psycopg": run_psycopg,
    "yoyo": run_yoyo,
    "pyway": run_pyway,
    "sqitch": run_sqitch,
}


# --------------------------------------------------------------------------- harness


def timed(server: ConnSpec, tool: str, corpus: dict) -> float:
    name = f"b_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**server.connect_kwargs(), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        c.execute("CHECKPOINT")
    # Let the previous run's dropped files and dirty pages settle, so position in a round matters less.
    os.sync()
    time.sleep(0.5)
    spec = server.with_db(name)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        RUNNERS[tool](spec, corpus)
        elapsed = time.perf_counter() - t0
        CPU.setdefault((corpus["name"], tool), []).append(time.process_time() - c0)
        with psycopg.connect(**spec.connect_kwargs(), autocommit=True) as c:
            made = c.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                "AND (tablename LIKE 'entity\\_%' OR tablename LIKE 't\\_%')"
            ).fetchone()[0]
        if made != corpus["tables"]:
            raise RuntimeError(f"{tool} created {made} tables, expected {corpus['tables']}")
        return elapsed
    finally:
        with psycopg.connect(**server.connect_kwargs(), autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default="ddl100,ddl1000,one1000")
    ap.add_argument("--tools", default=",".join(ALL_TOOLS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--slow-repeat", type=int, default=1, help="repetitions for sqitch and pyway (slow)")
    ap.add_argument("--durable", action="store_true", help="server defaults (fsync on) instead of fsync=off")
    ap.add_argument("--json", type=Path, help="write the raw results here")
    args = ap.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    missing = [t for t in tools if t == "sqitch" and not shutil.which("sqitch")]
    if missing:
        print("sqitch not installed (apt-get install sqitch libdbd-pg-perl); skipping it", file=sys.stderr)
        tools = [t for t in tools if t not in missing]
    base = Path(tempfile.mkdtemp(prefix="dbstack-bench-"))
    base.chmod(0o755)  # as root the server runs as `postgres`, which must reach it
    # Quiet, identical conditions for every tool: no autovacuum or checkpoints in the middle of a run.
    quiet = ("autovacuum=off", "max_wal_size=8GB", "checkpoint_timeout=1h")
    settings = quiet if args.durable else ("fsync=off", "synchronous_commit=off", "full_page_writes=off", *quiet)
    ctl = PgCtl(
        base / "data",
        port=free_port(),
        user="postgres",
        password=secrets.token_urlsafe(18),
        settings=(*settings, "max_connections=50"),
    )
    results: dict = {"settings": list(settings), "repeat": args.repeat, "corpora": {}}
    try:
        ctl.init()
        ctl.start()
        ctl.set_password()
        server = ConnSpec(host="127.0.0.1", port=ctl.port, user="postgres", password=ctl.password, dbname="postgres")
        with psycopg.connect(**server.connect_kwargs()) as c:
            results["server"] = c.execute("SHOW server_version").fetchone()[0]
        for cname in args.corpora.split(","):
            corpus = make_corpus(base / "corpora", cname)
            timed(server, "psycopg", corpus)  # warm-up: catalog caches, file cache
            row: dict = {}
            ratios: list[float] = []
            for rnd in range(max(args.repeat, args.slow_repeat)):
                # Each round runs ours and the two floors back to back (rotating who goes first),
                # then the rest: a busy machine slows the compared runs alike, and every round
                # yields one ours/floor ratio.
                core = [t for t in tools if t in ("ours", "psql", "psycopg")]
                rest = [t for t in tools if t not in core]
                k = rnd % max(len(core), 1)
                order = core[k:] + core[:k] + rest
                this: dict = {}
                for tool in order:
                    reps = args.slow_repeat if tool in ("sqitch", "pyway") else args.repeat
                    if rnd >= reps:
                        continue
                    t = timed(server, tool, corpus)
                    this[tool] = t
                    row.setdefault(tool, []).append(t)
                    print(f"{cname:8s} {tool:9s} run {rnd + 1}: {t:8.3f}s", file=sys.stderr, flush=True)
                floors = [this[k] for k in ("psql", "psycopg") if k in this]
                if "ours" in this and floors:
                    ratios.append(this["ours"] / min(floors))
            cpu = {
                t: statistics.median(CPU[(cname, t)]) for t in ("ours", "psycopg", "yoyo", "pyway") if (cname, t) in CPU
            }
            results["corpora"][cname] = {
                "files": corpus["n"],
                "times": row,
                "round_ratios": ratios,
                "median": {k: statistics.median(v) for k, v in row.items()},
                "client_cpu": cpu,
            }
    finally:
        ctl.remove()
        shutil.rmtree(base, ignore_errors=True)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def report(results: dict) -> str:
    settings = ", ".join(results["settings"]) or "defaults"
    lines = [
        f"PostgreSQL {results.get('server', '?')}, server settings: {settings}; "
        f"median of {results['repeat']} runs (sqitch/pyway: see --slow-repeat)",
        "",
    ]
    for cname, r in results["corpora"].items():
        med = r["median"]
        floors = [med[k] for k in ("psql", "psycopg") if k in med]
        floor = min(floors) if floors else None
        lines.append(f"{cname} ({r['files']} files)")
        lines.append(f"  {'tool':10s} {'seconds':>9s} {'per file':>10s} {'vs floor':>9s}")
        for tool, t in sorted(med.items(), key=lambda kv: kv[1]):
            ratio = f"{t / floor:8.2f}x" if floor else ""
            lines.append(f"  {tool:10s} {t:9.3f} {t / r['files'] * 1000:8.3f}ms {ratio}")
        if floor and "ours" in med:
            lines.append(f"  ours overhead vs floor: {(med['ours'] - floor) / r['files'] * 1000:+.3f} ms/file")
        if r.get("client_cpu"):
            lines.append(
                "  client CPU per file (in-process tools): "
                + ", ".join(f"{t} {c / r['files'] * 1000:.3f}ms" for t, c in r["client_cpu"].items())
            )
        if r.get("round_ratios"):
            rr = r["round_ratios"]
            lines.append(
                f"  ours / faster floor of the same round: median {statistics.median(rr):.2f}x "
                f"(rounds: {', '.join(f'{x:.2f}' for x in rr)})"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
