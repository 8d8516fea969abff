"""The ERD page's drawing, judged from its SVG on generated layered schemas in a real PostgreSQL.

Schemas of 60 and 200 tables in bronze / silver / gold (tests/erdgen.py) are
created on the session's server; `inv db-erd --format html` writes the page
with each layout engine (Graphviz `dot` and the pure-Python grandalf). The
SVG is parsed and its geometry checked independently of the layout code:
no relationship line enters a table other than its two ends, every table
lies inside its schema's frame, no two labels (line names, frame titles,
tables with their text) overlap, the frames read in layer order, and every
table and foreign key of the database is drawn.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import psycopg
import pytest

from erdgen import SCHEMAS, schema_sql
from testpaths import INV, ROOT, require_tool


@pytest.fixture(autouse=True)
def _graphviz_where_asked(request):
    """Graphviz's `dot` for the tests that ask for it: installed in CI, optional on a laptop."""
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    if params.get("engine") == "graphviz":
        require_tool("dot", "graphviz", ("-V",))


pytestmark = pytest.mark.postgres

NS = {"s": "http://www.w3.org/2000/svg"}
CHAR_W = 7.2  # the 12px monospace font of table text: 0.6 em per character (DejaVu Sans Mono: 0.602)


def _inv(args, conn, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env["DATABASE_URL"] = conn.url(masked=False)
    return subprocess.run(
        [INV, *args, "--target", "cnpg"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _svg(page: str) -> ET.Element:
    m = re.search(r"<svg\b.*?</svg>", page, re.S)
    assert m, "the page has no inline SVG"
    return ET.fromstring(m.group())


def _rect(el) -> tuple[float, float, float, float]:
    return tuple(float(el.get(a)) for a in ("x", "y", "width", "height"))


def _path_points(d: str, step: float = 3.0) -> list[tuple[float, float]]:
    """Points along an SVG path made of M, L and C commands (absolute), at most about `step` apart."""
    tokens = re.findall(r"[MLC]|-?\d+(?:\.\d+)?", d)
    out, cmd, nums = [], None, []
    cur = None

    def flush():
        nonlocal cur
        vals = [float(n) for n in nums]
        pairs = list(zip(vals[0::2], vals[1::2], strict=False))
        if cmd == "M":
            cur = pairs[0]
            out.append(cur)
            pairs = pairs[1:]
        if cmd in ("L", "M"):
            for p in pairs:
                n = max(1, int(math.dist(cur, p) / step))
                out.extend(
                    (cur[0] + (p[0] - cur[0]) * j / n, cur[1] + (p[1] - cur[1]) * j / n) for j in range(1, n + 1)
                )
                cur = p
        elif cmd == "C":
            for k in range(0, len(pairs) - 2, 3):
                p0, p1, p2, p3 = cur, *pairs[k : k + 3]
                n = max(2, int((math.dist(p0, p1) + math.dist(p1, p2) + math.dist(p2, p3)) / step))
                for j in range(1, n + 1):
                    t = j / n
                    u = 1 - t
                    out.append(
                        tuple(
                            u**3 * p0[i] + 3 * u * u * t * p1[i] + 3 * u * t * t * p2[i] + t**3 * p3[i] for i in (0, 1)
                        )
                    )
                cur = p3

    for tok in tokens:
        if tok in "MLC":
            if cmd:
                flush()
            cmd, nums = tok, []
        else:
            nums.append(tok)
    if cmd:
        flush()
    return out


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _bucketed(rects, cell=250.0):
    grid: dict[tuple[int, int], list[int]] = {}
    for i, r in enumerate(rects):
        for gx in range(int(r[0] // cell), int((r[0] + r[2]) // cell) + 1):
            for gy in range(int(r[1] // cell), int((r[1] + r[3]) // cell) + 1):
                grid.setdefault((gx, gy), []).append(i)
    return grid


def check_drawing(svg: ET.Element) -> dict:
    """Measure the drawing; return the violations found (all lists should be empty)."""
    boxes, schema_of, texts_outside = {}, {}, []
    for g in svg.iterfind(".//s:g[@class='entity']", NS):
        box = _rect(g.find("s:rect[@class='box']", NS))
        boxes[g.get("id")] = box
        schema_of[g.get("id")] = g.get("data-schema")
        for t in g.iterfind("s:text", NS):
            text = "".join(t.itertext()).rstrip()
            x, y = float(t.get("x")), float(t.get("y"))
            if x + len(text) * CHAR_W > box[0] + box[2] or not box[1] < y < box[1] + box[3]:
                texts_outside.append((g.get("data-table"), text))
    frames = {
        g.get("data-schema"): (
            _rect(g.find("s:rect[@class='bg']", NS)),
            _rect(g.find("s:rect[@class='title-box']", NS)),
        )
        for g in svg.iterfind(".//s:g[@class='frame']", NS)
    }
    ids = list(boxes)
    inner = [(b[0] + 1, b[1] + 1, b[2] - 2, b[3] - 2) for b in boxes.values()]
    grid = _bucketed(inner)
    crossings, labels = [], []
    for g in svg.iterfind(".//s:g[@class='rel']", NS):
        ends = {g.get("data-parent"), g.get("data-child")}
        path = g.find("s:path[@d]", NS)
        for x, y in _path_points(path.get("d")):
            hit = next(
                (
                    ids[i]
                    for i in grid.get((int(x // 250), int(y // 250)), ())
                    if ids[i] not in ends
                    and inner[i][0] < x < inner[i][0] + inner[i][2]
                    and inner[i][1] < y < inner[i][1] + inner[i][3]
                ),
                None,
            )
            if hit:
                crossings.append((g.get("data-fk"), hit))
                break
        lbl = g.find("s:rect[@class='lbl']", NS)
        if lbl is not None:
            labels.append((f"line {g.get('data-fk')}", _rect(lbl)))
    outside = [
        k
        for k, b in boxes.items()
        if not (
            frames[schema_of[k]][0][0] <= b[0]
            and frames[schema_of[k]][0][1] <= b[1]
            and b[0] + b[2] <= frames[schema_of[k]][0][0] + frames[schema_of[k]][0][2]
            and b[1] + b[3] <= frames[schema_of[k]][0][1] + frames[schema_of[k]][0][3]
        )
    ]
    labels += [(f"frame {s}", f[1]) for s, f in frames.items()]
    labels += [(f"table {k}", b) for k, b in boxes.items()]  # a table's text lies inside its box (checked above)
    lgrid = _bucketed([r for _, r in labels])
    overlaps = set()
    for cell in lgrid.values():
        for a_i, a in enumerate(cell):
            for b in cell[a_i + 1 :]:
                if _overlap(labels[a][1], labels[b][1]):
                    overlaps.add((labels[a][0], labels[b][0]))
    return {
        "crossings": crossings,
        "outside_frame": outside,
        "label_overlaps": sorted(overlaps),
        "text_outside_box": texts_outside,
        "frames": {s: f[0] for s, f in frames.items()},
        "tables": len(boxes),
        "lines": len(list(svg.iterfind(".//s:g[@class='rel']", NS))),
        "schemas": set(schema_of.values()),
    }


def _reading_order_faults(frames: dict, order: list[str]) -> list[tuple[str, str]]:
    faults = []
    present = [s for s in order if s in frames]
    for i, a in enumerate(present):
        for b in present[i + 1 :]:
            fa, fb = frames[a], frames[b]
            if fb[0] < fa[0] - 50 or (abs(fb[0] - fa[0]) <= 50 and fb[1] < fa[1]):
                faults.append((a, b))
    return faults


@pytest.fixture(scope="module")
def layered(pg_server):
    """Databases with the generated 60- and 200-table schemas (dropped afterwards)."""
    made = {}
    with psycopg.connect(**pg_server.connect_kwargs(), autocommit=True) as pg:
        for n in (60, 200):
            name = f"erd_{n}_{os.getpid()}"
            pg.execute(f'DROP DATABASE IF EXISTS "{name}"')
            pg.execute(f'CREATE DATABASE "{name}"')
            conn = pg_server.with_db(name)
            with psycopg.connect(**conn.connect_kwargs(), autocommit=True) as c:
                c.execute(schema_sql(n))
            made[n] = conn
    yield made
    with psycopg.connect(**pg_server.connect_kwargs(), autocommit=True) as pg:
        for conn in made.values():
            pg.execute(f'DROP DATABASE IF EXISTS "{conn.dbname}" WITH (FORCE)')


def _counts(conn, schemas) -> tuple[int, int]:
    with psycopg.connect(**conn.connect_kwargs()) as c:
        tables = c.execute(
            "SELECT count(*) FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace "
            "WHERE k.relkind = 'r' AND n.nspname = ANY(%s)",
            (list(schemas),),
        ).fetchone()[0]
        fks = c.execute(
            "SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace "
            "JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace "
            "WHERE k.contype = 'f' AND n.nspname = ANY(%s) AND rn.nspname = ANY(%s)",
            (list(schemas), list(schemas)),
        ).fetchone()[0]
    return tables, fks


@pytest.mark.parametrize("engine", ["graphviz", "grandalf"])
@pytest.mark.parametrize("tables", [60, 200])
def test_drawing_has_no_line_through_a_table_and_no_overlap(layered, tmp_path, tables, engine):
    conn = layered[tables]
    out = tmp_path / "erd.html"
    res = _inv(["db-erd", "--format", "html", "--layout", engine, "--output", str(out)], conn)
    assert res.returncode == 0, res.stderr
    assert f"layout: {engine}" in res.stdout
    page = out.read_text()
    assert not re.search(r"(src|href)=\"?(https?:)?//", page), "the page must not load anything"
    svg = _svg(page)
    assert svg.get("data-layout") == engine
    m = check_drawing(svg)
    assert (m["tables"], m["lines"]) == _counts(conn, SCHEMAS)
    assert m["schemas"] == set(SCHEMAS) == set(m["frames"])
    assert m["crossings"] == [], f"{len(m['crossings'])} lines cross a table: {m['crossings'][:5]}"
    assert m["outside_frame"] == []
    assert m["label_overlaps"] == [], m["label_overlaps"][:5]
    assert m["text_outside_box"] == []
    assert _reading_order_faults(m["frames"], ["bronze", "silver", "gold"]) == []


def test_schema_filter_draws_only_those_schemas(layered, tmp_path):
    conn = layered[60]
    out = tmp_path / "erd.html"
    res = _inv(["db-erd", "--format", "html", "--schema", "gold", "--schema", "silver", "--output", str(out)], conn)
    assert res.returncode == 0, res.stderr
    m = check_drawing(_svg(out.read_text()))
    assert m["schemas"] == {"silver", "gold"} == set(m["frames"])
    # lines to bronze (not inspected) are left out; the rest are all there
    assert (m["tables"], m["lines"]) == _counts(conn, ["silver", "gold"])
    assert m["crossings"] == [] and m["outside_frame"] == [] and m["label_overlaps"] == []
    assert _reading_order_faults(m["frames"], ["silver", "gold"]) == []
    mmd = tmp_path / "erd.mmd"
    assert _inv(["db-erd", "--schema", "gold", "--output", str(mmd)], conn).returncode == 0
    assert "bronze" not in mmd.read_text() and "silver__" not in mmd.read_text()


def test_unknown_layout_is_a_usage_error(layered, tmp_path):
    res = _inv(["db-erd", "--format", "html", "--layout", "neato", "--output", str(tmp_path / "x.html")], layered[60])
    assert res.returncode != 0 and "Error: unknown ERD layout 'neato'" in res.stderr
    assert not (tmp_path / "x.html").exists()
