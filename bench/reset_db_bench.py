"""Benchmark: `inv reset-db` from nothing to a migrated database, per backend.

For each backend it measures, in a throwaway project (own compose project name,
free port, own data directory — the real project is never touched):

* end to end: wall time of the `inv reset-db --backend X` command;
* in process: the split of workflows.reset_db into removal, server start,
  readiness wait, database creation and migration;
* readiness lag: how long after the server *first accepts a connection* our
  readiness wait returns. A separate prober thread tries a real connection
  every millisecond from the moment the server is started and records the
  first success; the lag is our wait's return minus that instant. The seed
  waited with a fixed `sleep 3` instead: we report what that would have cost
  (3 s minus the time the server needed) or that it would have been too short.

    .venv/bin/python bench/reset_db_bench.py [--runs 5] [--backends docker,embedded]
                                             [--image dbstack-standin/postgres:15] [--bin-dir DIR]

The Docker runs use the offline stand-in image (tests/docker/standin.py builds
it when missing) because no registry is reachable on the benchmark machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "docker"))
INV = str(Path(sys.executable).parent / "inv")
SEED_SLEEP = 3.0


def make_project(image: str, bin_dir: str) -> tuple[Path, str, int, dict]:
    from dbstack.local.pgctl import free_port

    root = Path(tempfile.mkdtemp(prefix="dbstack-bench-"))
    os.chmod(root, 0o755)
    name = f"dbstackbench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    compose = {
        "name": name,
        "services": {
            "postgres": {
                "image": "postgres:18",
                "environment": {
                    "POSTGRES_USER": "myuser",
                    "POSTGRES_PASSWORD": "mypassword",
                    "POSTGRES_DB": "mydatabase",
                },
                "ports": [f"127.0.0.1:{port}:5432"],
                "volumes": ["pgdata:/var/lib/postgresql"],
                # The project's own compose settings, as a developer runs them.
                "command": [
                    "postgres",
                    "-c",
                    "shared_buffers=256MB",
                    "-c",
                    "work_mem=16MB",
                    "-c",
                    "maintenance_work_mem=128MB",
                    "-c",
                    "max_connections=200",
                ],
            }
        },
        "volumes": {"pgdata": {}},
    }
    (root / "docker-compose.yml").write_text(yaml.safe_dump(compose, sort_keys=False))
    (root / "tasks.py").write_text("from dbstack.tasks import ns  # noqa: F401\n")
    shutil.copytree(ROOT / "manifests" / "migrations" / "mydatabase", root / "manifests/migrations/mydatabase")
    config = {
        "compose": {"image": image},
        "embedded": {"bin_dir": bin_dir},
        "databases": {"mydatabase": {"dirs": ["manifests/migrations/mydatabase"]}},
    }
    (root / "invoke.yaml").write_text(yaml.safe_dump({"dbstack": config}))
    return root, name, port, config


class Prober(threading.Thread):
    """Tries a real connection every millisecond; records when the first successful attempt began."""

    def __init__(self, conn) -> None:
        super().__init__(daemon=True)
        self.kwargs = {**conn.connect_kwargs(), "connect_timeout": 2}
        self.first_ok: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        while not self.stop.is_set():
            # The start of the first attempt that succeeds: by then the server accepted
            # connections (the previous, failed attempt's start is the lower bound).
            started = time.monotonic()
            try:
                with psycopg.connect(**self.kwargs):
                    self.first_ok = started
                    return
            except psycopg.Error:
                time.sleep(0.001)


def one_run(root: Path, config: dict, backend: str) -> dict:
    from dbstack import settings as settings_mod
    from dbstack import workflows
    from dbstack.local.backend import get_backend

    s = settings_mod.from_mapping(config, root)
    # Remove the previous run's server first, so the prober cannot see it.
    get_backend(s, backend, out=lambda _l: None).down(volumes=True)
    prober = Prober(s.local_server())
    t0 = time.monotonic()
    prober.start()
    t = workflows.reset_db(s, backend=backend, out=lambda _l: None)
    prober.stop.set()
    prober.join(5)
    accept = prober.first_ok
    return {
        "total": t.total,
        "remove": t.remove,
        "server_start": t.server_start,
        "readiness": t.readiness,
        "create": t.create,
        "migration": t.migration,
        "accepts_after": (accept - t0) if accept else float("nan"),
        "lag_ms": ((t.ready_at - accept) * 1000) if accept else float("nan"),
    }


def inv_run(root: Path, backend: str) -> float:
    t0 = time.monotonic()
    cp = subprocess.run([INV, "reset-db", "--backend", backend], cwd=root, capture_output=True, text=True)
    if cp.returncode != 0:
        raise SystemExit(f"inv reset-db --backend {backend} failed:\n{cp.stdout}\n{cp.stderr}")
    return time.monotonic() - t0


def cleanup(root: Path, name: str, config: dict) -> None:
    from dbstack import settings as settings_mod
    from dbstack.local.backend import get_backend

    s = settings_mod.from_mapping(config, root)
    for backend in ("docker", "embedded"):
        try:
            get_backend(s, backend, out=lambda _l: None).down(volumes=True)
        except Exception:  # noqa: BLE001 - the other backend may not be usable here
            pass
    shutil.rmtree(root, ignore_errors=True)


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--backends", default="docker,embedded")
    ap.add_argument("--image", default="")
    ap.add_argument("--bin-dir", default="", help="PostgreSQL binaries for the embedded backend")
    args = ap.parse_args()
    image = args.image
    if "docker" in args.backends and not image:
        import standin

        image = standin.ensure(log=lambda line: print(line, file=sys.stderr))
    rows = []
    for backend in args.backends.split(","):
        root, name, port, config = make_project(image, args.bin_dir)
        try:
            inv_times = [inv_run(root, backend) for _ in range(args.runs)]
            runs = [one_run(root, config, backend) for _ in range(args.runs)]
        finally:
            cleanup(root, name, config)
        rows.append((backend, inv_times, runs))

    print(f"\n{args.runs} runs each; medians (max in brackets)\n")
    print(
        "| backend | `inv reset-db` wall | in-process total | remove | server start | readiness wait "
        "| create db | migrate | server accepts after | our wait returns after accept | seed `sleep 3` |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for backend, inv_times, runs in rows:
        col = {k: [r[k] for r in runs] for k in runs[0]}
        accept = med(col["accepts_after"])
        t_remove = med(col["remove"])
        # The seed slept 3 s after `docker compose up`: the server needed (accept - remove).
        need = accept - t_remove
        seed = (
            f"waits {SEED_SLEEP - need:.2f} s too long"
            if need <= SEED_SLEEP
            else f"too short by {need - SEED_SLEEP:.2f} s (db-create fails)"
        )
        print(
            f"| {backend} | {med(inv_times):.2f} s | {med(col['total']):.2f} s | {t_remove:.2f} s | "
            f"{med(col['server_start']):.2f} s | {med(col['readiness']):.2f} s | "
            f"{med(col['create']) * 1000:.0f} ms | "
            f"{med(col['migration']) * 1000:.0f} ms | {accept:.2f} s | "
            f"{med(col['lag_ms']):.1f} ms [{max(col['lag_ms']):.1f} ms] | {seed} |"
        )


if __name__ == "__main__":
    main()
