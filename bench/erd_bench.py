#!/usr/bin/env python3
"""Benchmark: the ERD page for generated layered schemas of 60 / 200 / 500 tables.

On a throwaway server (initdb + pg_ctl) tests/erdgen.py's schema (bronze,
silver, gold; references inside a layer and to the layer below, a few self
references and one cycle per schema) is created per size. Then, medians:

  inspect        read_catalog() of the database
  layout         each engine's layout alone (graphviz: the `dot` subprocess; grandalf: pure Python)
  html           render_html() end to end with that engine (layout + SVG + Mermaid + page)
  cli            `inv db-erd --format html` as a process (interpreter, imports, inspection, writing)
  chromium       headless Chromium (DevTools protocol): navigation start to the second frame painted after the
                 page's script has fitted the drawing (median of fresh page loads)

and, per engine, the drawing's quality from dbstack.inspect.erd_layout.check(): lines entering a table
other than their ends, tables outside their frame, overlapping labels, line names placed.

    .venv/bin/python bench/erd_bench.py                    # 60 200 500, 3 repetitions
    .venv/bin/python bench/erd_bench.py --sizes 500 --repeat 5
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
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402

from dbstack.inspect.catalog import read_catalog  # noqa: E402
from dbstack.inspect.erd import diagram, render_html  # noqa: E402
from dbstack.inspect.erd_layout import available_engines, check, layout  # noqa: E402
from dbstack.local.pgctl import PgCtl, free_port  # noqa: E402
from dbstack.settings import ConnSpec  # noqa: E402
from erdgen import schema_sql  # noqa: E402


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def chromium_render(url: str, repeat: int) -> float:
    """Median seconds from navigation start to the second animation frame after load, in headless Chromium."""
    from integration.test_erd_page import Browser  # the tests' DevTools client

    b = Browser()
    try:
        b.send("Page.enable")
        runs = []
        for _ in range(repeat):
            b.send("Page.navigate", url=url)
            b.wait_event("Page.loadEventFired", timeout=300)
            runs.append(
                b.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))")
                / 1000
            )
        return statistics.median(runs)
    finally:
        b.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[60, 200, 500])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    engines = available_engines()
    base = Path(tempfile.mkdtemp(prefix="dbstack-erd-bench-"))
    ctl = PgCtl(
        base / "data",
        port=free_port(),
        user="postgres",
        password=secrets.token_urlsafe(18),
        settings=("fsync=off", "synchronous_commit=off", "full_page_writes=off"),
    )
    ctl.init()
    ctl.start()
    ctl.set_password()
    server = ConnSpec(host="127.0.0.1", port=ctl.port, user="postgres", password=ctl.password, dbname="postgres")
    try:
        has_chromium = bool(shutil.which("chromium") or shutil.which("chromium-browser"))
        for n in args.sizes:
            name = f"erd_{n}"
            with psycopg.connect(**server.connect_kwargs(), autocommit=True) as pg:
                pg.execute(f'CREATE DATABASE "{name}"')
            conn = server.with_db(name)
            with psycopg.connect(**conn.connect_kwargs(), autocommit=True) as c:
                c.execute(schema_sql(n))
            cat = read_catalog(conn)
            d = diagram(cat)
            print(f"\n{n} tables, {len(d.relationships)} foreign keys", flush=True)
            print(f"  inspect            {timed(partial(read_catalog, conn), args.repeat):7.3f} s", flush=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
            env["DATABASE_URL"] = conn.url(masked=False)
            for engine in engines:
                lay_s = timed(partial(layout, d, engine), args.repeat)
                html_s = timed(partial(render_html, cat, engine=engine), args.repeat)
                page = base / f"erd-{n}-{engine}.html"

                cli = partial(
                    subprocess.run,
                    [
                        str(ROOT / ".venv" / "bin" / "inv"),
                        "db-erd",
                        "--format",
                        "html",
                        "--layout",
                        engine,
                        "--output",
                        str(page),
                        "--target",
                        "cnpg",
                    ],
                    cwd=ROOT,
                    env=env,
                    check=True,
                    capture_output=True,
                )
                cli_s = timed(cli, args.repeat)
                q = check(d, layout(d, engine))
                size = page.stat().st_size / 1e6
                shot = ""
                if has_chromium:
                    shot = f"  chromium {chromium_render(page.as_uri(), args.repeat):6.2f} s"
                print(
                    f"  {engine:9s} layout {lay_s:7.3f} s  html {html_s:7.3f} s  cli {cli_s:7.3f} s  "
                    f"page {size:5.2f} MB{shot}  | crossings {q.line_table_crossings}, outside frame "
                    f"{q.tables_outside_frame}, label overlaps {q.label_overlaps}, names placed "
                    f"{q.labels_placed}/{q.labels_total}",
                    flush=True,
                )
    finally:
        ctl.remove()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
