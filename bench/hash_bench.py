"""Benchmark: hashing a 10,000-file migration directory, and `inv --list` start-up.

Floors measured in the same run:
  * read:   reading every file (os.listdir + read_bytes), no hashing;
  * sha256: reading every file and feeding one running SHA-256 (the least work
            an atlas.sum writer can do).
Start-up is compared with `python -c pass` and `python -c "import invoke"`.

    .venv/bin/python bench/hash_bench.py [--files 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dbstack.migrations.directory import MigrationDir  # noqa: E402

DDL = [
    "CREATE TABLE t{i} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    name text NOT NULL,\n"
    "    created_at timestamptz NOT NULL DEFAULT now()\n);\n",
    "CREATE INDEX t{i}_name_idx ON t{i} (name);\n",
    "ALTER TABLE t{i} ADD COLUMN note varchar(200);\n",
    "COMMENT ON TABLE t{i} IS 'benchmark table {i}';\n",
]


def make_corpus(d: Path, n: int) -> None:
    rnd = random.Random(42)
    for i in range(n):
        body = "".join(DDL[: rnd.randint(1, 4)]).format(i=i)
        (d / f"{20240101000000 + i}_step_{i}.sql").write_text(f"-- step {i}\n" + body)


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def floor_read(d: Path) -> None:
    for n in sorted(os.listdir(d)):
        if n.endswith(".sql"):
            (d / n).read_bytes()


def floor_sha(d: Path) -> None:
    h = hashlib.sha256()
    for n in sorted(os.listdir(d)):
        if n.endswith(".sql"):
            h.update(n.encode())
            h.update((d / n).read_bytes())
            h.digest()


def ours(d: Path) -> None:
    MigrationDir(d).compute_sum().marshal()


def startup(cmd: list[str], runs: int) -> float:
    return timed(lambda: subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, check=True), runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        make_corpus(d, a.files)
        size = sum(p.stat().st_size for p in d.iterdir())
        floor_read(d)  # warm the page cache: every variant reads warm files
        r, s, o = (timed(lambda f=f: f(d), a.runs) for f in (floor_read, floor_sha, ours))
    py = sys.executable
    inv = str(Path(py).parent / "inv")
    p0 = startup([py, "-c", "pass"], a.runs * 2)
    p1 = startup([py, "-c", "import invoke"], a.runs * 2)
    p2 = startup([inv, "--list"], a.runs * 2)
    print(f"corpus: {a.files} files, {size / 1e6:.1f} MB")
    print(f"read only          {r * 1000:8.1f} ms   1.00x")
    print(f"read + sha256      {s * 1000:8.1f} ms   {s / r:.2f}x")
    print(f"dbstack atlas.sum  {o * 1000:8.1f} ms   {o / r:.2f}x read, {o / s:.2f}x read+sha256")
    print(f"python -c pass     {p0 * 1000:8.1f} ms")
    print(f"import invoke      {p1 * 1000:8.1f} ms")
    print(f"inv --list         {p2 * 1000:8.1f} ms   {p2 / p1:.2f}x import invoke")


if __name__ == "__main__":
    main()
