"""Where an ERD's tables, schema frames, relationship lines and line labels go.

Two engines give the same `Layout`; schemas are read left to right in layer
order (bronze, bronzehistory, silver, gold, then the others by name), each in
a labelled frame:

- ``graphviz``: Graphviz's ``dot`` program (a layered layout with one cluster
  per schema and splines routed around the nodes; https://graphviz.org/docs/layouts/dot/),
  run as a subprocess with ``-Tjson``. We size every table and label ourselves
  (fixed-size nodes, fixed-size HTML-like label cells) so the drawing does not
  depend on the fonts Graphviz finds.
- ``grandalf``: the pure-Python Sugiyama layout of the ``grandalf`` package
  (crossing reduction and Brandes–Köpf coordinates, grandalf/layouts.py
  ``SugiyamaLayout``), used when ``dot`` is not installed. We give it the ranks
  (one band of columns per schema, so frames never overlap) and route each
  line column by column through the slots grandalf reserves for long edges
  ("dummy vertices"), so a line only ever passes through empty space.

``check(layout)`` measures what the issue asks of a drawing (lines through a
table, tables outside their frame, overlapping labels); bench/erd_bench.py
compares the engines with it.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from ..errors import DbstackError

Key = tuple[str, str]
Rect = tuple[float, float, float, float]  # x, y, width, height; y grows downwards
Point = tuple[float, float]

LAYER_ORDER = ("bronze", "bronzehistory", "silver", "gold")

CHAR_W = 7.2  # px per character of the 12px monospace font (tables)
LABEL_CHAR_W = 6.2  # px per character of the 10px monospace font (line labels)
ROW_H = 18
HEAD_H = 24
LABEL_H = 14
FRAME_PAD = 16
FRAME_HEAD = 26


@dataclass
class Route:
    index: int  # position in Diagram.relationships
    points: list[Point]
    curved: bool  # True: cubic Bézier chain p0 c1 c2 p1 c1 c2 p2 …; False: polyline
    label: Rect | None = None  # None: no room for the name on the drawing (it stays in the tooltip)


@dataclass
class Layout:
    engine: str
    width: float
    height: float
    boxes: dict[Key, Rect]
    frames: dict[str, Rect]
    routes: list[Route] = field(default_factory=list)
    note: str = ""  # why the engine asked for was not used, when it was not


def schema_order(schemas) -> list[str]:
    """Layers first in reading order, then the other schemas by name."""
    return sorted(set(schemas), key=lambda s: (LAYER_ORDER.index(s) if s in LAYER_ORDER else len(LAYER_ORDER), s))


def box_size(entity) -> tuple[float, float]:
    widest = max(
        [len(entity.label) + 2] + [len(a.type) + len(a.name) + len(" ".join(a.keys)) + 4 for a in entity.attributes]
    )
    return max(140.0, widest * CHAR_W + 16), HEAD_H + ROW_H * max(1, len(entity.attributes)) + 6


def label_size(text: str) -> tuple[float, float]:
    return len(text) * LABEL_CHAR_W + 6, LABEL_H


def _edges(d) -> list[tuple[int, Key, Key]]:
    known = {e.key for e in d.entities}
    return [(i, r.parent, r.child) for i, r in enumerate(d.relationships) if r.parent in known and r.child in known]


def available_engines() -> list[str]:
    found = []
    if shutil.which("dot"):
        found.append("graphviz")
    try:
        import grandalf  # noqa: F401

        found.append("grandalf")
    except ImportError:
        pass
    return found


def resolve_engine(engine: str = "auto") -> str:
    """`engine` itself, or for auto the first installed of graphviz and grandalf (an error if neither is)."""
    if engine != "auto":
        return engine
    engines = available_engines()
    if not engines:
        raise DbstackError(
            "cannot lay out the ERD: neither Graphviz's `dot` nor the grandalf package is installed",
            "install Graphviz (apt-get install graphviz) or `pip install grandalf`, "
            "or write the Mermaid source with --format mmd",
        )
    return engines[0]


def layout(d, engine: str = "auto") -> Layout:
    """Lay the diagram out with `engine` (graphviz, grandalf, or auto: the first of those installed).

    With auto, a `dot` that fails (some Graphviz releases abort on some clustered graphs) hands over to
    grandalf when it is installed; the layout's note says why.
    """
    if engine == "auto" and available_engines() == ["graphviz", "grandalf"]:
        try:
            return _graphviz(d)
        except DbstackError as exc:
            lay = _grandalf(d)
            lay.note = f"Graphviz failed, drawn with grandalf: {exc.message}"
            return lay
    engine = resolve_engine(engine)
    if engine == "graphviz":
        return _graphviz(d)
    if engine == "grandalf":
        return _grandalf(d)
    raise DbstackError(f"unknown ERD layout engine {engine!r}", "use graphviz, grandalf or auto")


# --------------------------------------------------------------------------- Graphviz dot


def _dot_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def dot_source(d) -> str:
    """The diagram as dot text: fixed-size boxes in one cluster per schema, labelled undirected splines.

    The clusters carry no label: a label reserves room on one side only, and we may mirror the
    drawing (see _graphviz). Their margin is wide enough for the schema's title on every side.
    """
    lines = [
        "digraph erd {",
        "  graph [rankdir=LR, splines=spline, nodesep=0.35, ranksep=0.9, margin=0.2];",
        '  node [shape=box, fixedsize=true, label="", margin=0];',
        "  edge [dir=none, arrowhead=none, arrowtail=none];",
    ]
    ids = {e.key: f"n{i}" for i, e in enumerate(d.entities)}
    by_schema: dict[str, list] = {}
    for e in d.entities:
        by_schema.setdefault(e.key[0], []).append(e)
    # With rankdir=LR dot lays out top to bottom and turns the drawing, so the cluster declared last ends up on
    # top: declare them in reverse to read the layers from the top down.
    for ci, schema in enumerate(schema_order(by_schema)):
        lines.append(f"  subgraph cluster_{ci} {{")
        lines.append(f"    id={_dot_quote('frame:' + schema)}; margin={FRAME_HEAD + 4};")
        for e in by_schema[schema]:
            w, h = box_size(e)
            lines.append(f"    {ids[e.key]} [id={_dot_quote(ids[e.key])}, width={w / 72:.4f}, height={h / 72:.4f}];")
        lines.append("  }")
    for i, parent, child in _edges(d):
        w, h = label_size(d.relationships[i].name)
        cell = (
            f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>'
            f'<TD FIXEDSIZE="TRUE" WIDTH="{math.ceil(w)}" HEIGHT="{math.ceil(h)}">'
            f"{_html_escape(d.relationships[i].name)}"
            f"</TD></TR></TABLE>>"
        )
        lines.append(f'  {ids[parent]} -> {ids[child]} [id="e{i}", label={cell}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _pts(text: str) -> list[Point]:
    out = []
    for tok in text.split():
        if tok[:2] in ("e,", "s,"):
            continue
        x, y = tok.split(",")[:2]
        out.append((float(x), float(y)))
    return out


def _graphviz(d) -> Layout:
    """dot's drawing, mirrored top to bottom when that reads the schemas closer to layer order.

    dot stacks the clusters along its ordering axis wherever crossing reduction puts them (with
    rankdir=LR and references from one layer to the one below, the first layer lands at the bottom),
    and no attribute orders clusters. Forcing an order with invisible edges multiplied the time by 20
    at 500 tables (bench/erd_bench.py); a mirror image keeps every property of the drawing, so we take
    the picture or its mirror, whichever has fewer schema pairs out of reading order.
    """
    lay = _graphviz_run(d)
    order = schema_order(e.key[0] for e in d.entities)
    if _inversions(lay, order) > _inversions(_mirrored(lay), order):
        lay = _mirrored(lay)
    _settle_labels(lay)
    return lay


def _settle_labels(lay: Layout) -> None:
    """Keep dot's label positions; move the rare one that overlaps another along its own line, or drop it.

    dot keeps labels apart as virtual nodes, yet seldom two end up overlapping a little (1 of 725 in
    bench/erd_bench.py's 500-table schema). A dropped name stays in the line's tooltip.
    """
    grid = _Grid()
    for r in lay.boxes.values():
        grid.add(r)
    for s, f in lay.frames.items():
        grid.add(frame_title(s, f))
    moved: list[tuple[Route, Rect]] = []
    for route in lay.routes:
        if route.label is None:
            continue
        if grid.hits(route.label, pad=1.0):
            moved.append((route, route.label))
        else:
            grid.add(route.label)
    for route, (_, _, w, h) in moved:
        route.label = None
        pts = sample(route, step=8.0)
        for cx, cy in sorted(pts, key=lambda p: abs(pts.index(p) - len(pts) / 2)):
            rect = (cx - w / 2, cy - h / 2, w, h)
            if not grid.hits(rect, pad=1.0):
                route.label = rect
                grid.add(rect)
                break


def frame_title(schema: str, frame: Rect) -> Rect:
    """Where a frame's title goes: top left inside the frame (renderers draw it there)."""
    return (frame[0] + 6, frame[1] + 4, len(schema) * 8.5 + 8, FRAME_HEAD - 6)


def _inversions(lay: Layout, order: list[str]) -> int:
    """Pairs of schemas out of reading order: left to right, or top down where they start in one column."""
    frames = [lay.frames[s] for s in order if s in lay.frames]
    bad = 0
    for i, a in enumerate(frames):
        for b in frames[i + 1 :]:
            bad += b[0] < a[0] - 50 or (abs(b[0] - a[0]) <= 50 and b[1] < a[1])
    return bad


def _mirrored(lay: Layout) -> Layout:
    h = lay.height

    def rect(r: Rect) -> Rect:
        return (r[0], h - r[1] - r[3], r[2], r[3])

    return Layout(
        lay.engine,
        lay.width,
        h,
        {k: rect(r) for k, r in lay.boxes.items()},
        {s: rect(r) for s, r in lay.frames.items()},
        [Route(r.index, [(x, h - y) for x, y in r.points], r.curved, r.label and rect(r.label)) for r in lay.routes],
    )


def _graphviz_run(d) -> Layout:
    dot = shutil.which("dot")
    if dot is None:
        raise DbstackError("Graphviz's `dot` is not installed", "apt-get install graphviz (or brew install graphviz)")
    res = subprocess.run([dot, "-Tjson"], input=dot_source(d), capture_output=True, text=True)
    if res.returncode != 0:
        raise DbstackError(f"dot failed: {res.stderr.strip()[:500]}", "report this with the schema that caused it")
    g = json.loads(res.stdout)
    x0, y0, x1, y1 = (float(v) for v in g["bb"].split(","))
    height = y1 - y0

    def flip(p: Point) -> Point:  # Graphviz's y grows upwards
        return p[0] - x0, height - (p[1] - y0)

    keys = {f"n{i}": e.key for i, e in enumerate(d.entities)}
    boxes: dict[Key, Rect] = {}
    frames: dict[str, Rect] = {}
    for obj in g.get("objects", []):
        oid = obj.get("id", "")
        if oid.startswith("frame:"):
            bx0, by0, bx1, by1 = (float(v) for v in obj["bb"].split(","))
            fx, fy = flip((bx0, by1))
            frames[oid[len("frame:") :]] = (fx, fy, bx1 - bx0, by1 - by0)
        elif oid in keys:
            cx, cy = flip(_pts(obj["pos"])[0])
            w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
            boxes[keys[oid]] = (cx - w / 2, cy - h / 2, w, h)
    routes = []
    for edge in g.get("edges", []):
        if not edge.get("id", "").startswith("e"):
            continue  # an invisible edge ordering the schemas
        i = int(edge["id"][1:])
        pts = [flip(p) for p in _pts(edge["pos"])]
        label = None
        if "lp" in edge:
            lx, ly = flip(_pts(edge["lp"])[0])
            w, h = label_size(d.relationships[i].name)
            label = (lx - w / 2, ly - h / 2, w, h)
        routes.append(Route(i, pts, True, label))
    routes.sort(key=lambda r: r.index)
    return Layout("graphviz", x1 - x0, height, boxes, frames, routes)


# --------------------------------------------------------------------------- grandalf (pure Python)

_COL_GAP = 150  # between the columns of one schema: room for the lines and their labels
_BAND_GAP = 70  # extra room between two schemas' frames
_SLOT = 12  # height grandalf reserves where a line passes a column
_NODE_GAP = 24


def _ranks(d, order: list[str]) -> dict[Key, int]:
    """Longest-path ranks inside each schema (its cycles broken by DFS), schemas in consecutive bands."""
    by_schema: dict[str, list[Key]] = {s: [] for s in order}
    for e in d.entities:
        by_schema[e.key[0]].append(e.key)
    succ: dict[Key, list[Key]] = {e.key: [] for e in d.entities}
    for _, parent, child in _edges(d):
        if parent != child and parent[0] == child[0]:
            succ[parent].append(child)
    ranks: dict[Key, int] = {}
    base = 0
    for schema in order:
        nodes = by_schema[schema]
        # DFS order, dropping back edges, gives a DAG.
        state: dict[Key, int] = {}
        dag: dict[Key, list[Key]] = {k: [] for k in nodes}
        topo: list[Key] = []
        for start in nodes:
            if start in state:
                continue
            stack = [(start, iter(succ[start]))]
            state[start] = 1
            while stack:
                k, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[k] = 2
                    topo.append(k)
                    stack.pop()
                elif state.get(nxt) == 1:
                    continue  # back edge: ignored for ranking
                else:
                    dag[k].append(nxt)
                    if nxt not in state:
                        state[nxt] = 1
                        stack.append((nxt, iter(succ[nxt])))
        local: dict[Key, int] = dict.fromkeys(nodes, 0)
        for k in reversed(topo):
            for n in dag[k]:
                local[n] = max(local[n], local[k] + 1)
        for k in nodes:
            ranks[k] = base + local[k]
        base += (max(local.values()) + 1) if nodes else 0
    return ranks


def _grandalf(d) -> Layout:
    try:
        from grandalf.graphs import Edge as GEdge
        from grandalf.graphs import Graph, Vertex
        from grandalf.layouts import Layer, SugiyamaLayout
    except ImportError as exc:
        raise DbstackError(
            "the grandalf package is not installed", "pip install grandalf (or install Graphviz)"
        ) from exc

    order = schema_order(e.key[0] for e in d.entities)
    ranks = _ranks(d, order)
    sizes = {e.key: box_size(e) for e in d.entities}

    class Edge(GEdge):
        # grandalf gathers a component's edges in a set(); hashing by identity would order them by memory
        # address and the drawing would change from run to run.
        def __hash__(self) -> int:
            return self.data

    class View:
        def __init__(self, w: float, h: float):
            self.w, self.h, self.xy = w, h, (0.0, 0.0)

    verts = {}
    for e in d.entities:
        w, h = sizes[e.key]
        v = Vertex(e.key)
        v.view = View(h, w)  # grandalf lays layers out as rows; we turn them into columns
        verts[e.key] = v
    edges = []
    inverted = []
    for i, parent, child in _edges(d):
        if parent == child:
            continue  # self references are drawn as a loop beside the table
        e = Edge(verts[parent], verts[child], data=i)
        edges.append(e)
        if ranks[parent] > ranks[child]:
            inverted.append(e)
    g = Graph(list(verts.values()), edges)

    class Ranked(SugiyamaLayout):
        def rank_all(self, roots, optimize=False):
            # Ranks relative to this component's first column: grandalf wants no empty layer.
            self.offset = min(ranks[v.data] for v in self.g.sV)
            top = max(ranks[v.data] for v in self.g.sV) - self.offset
            self.layers = [Layer([]) for _ in range(top + 1)]
            for v in self.g.sV:
                self.grx[v].rank = ranks[v.data] - self.offset
                self.layers[self.grx[v].rank].append(v)

        def setdummies(self, e):
            v0, v1 = e.v
            if ranks[v0.data] == ranks[v1.data]:
                return  # same column (a cycle inside a schema): routed beside the column below
            super().setdummies(e)

    routes: list[Route] = []
    boxes: dict[Key, Rect] = {}
    if verts:
        for comp in g.C:
            sug = Ranked(comp)
            sug.xspace, sug.yspace = _NODE_GAP, _COL_GAP
            sug.dw, sug.dh = _SLOT, _SLOT
            comp_edges = list(comp.sE)
            sug.init_all(roots=[], inverted_edges=[e for e in inverted if e in comp_edges])
            # grandalf leaves layers that hold none of this component's vertices empty; drop nothing, they are
            # harmless, but Layer.setup needs the layout on every one.
            sug.draw(N=3)
            comp.sug = sug
    # Columns: x from the ranks, widths from the widest table of each column; y (along a column) from grandalf,
    # each connected component stacked under the previous one.
    top = max(ranks.values(), default=0)
    col_w = [0.0] * (top + 1)
    for key, r in ranks.items():
        col_w[r] = max(col_w[r], sizes[key][0])
    band_of = {}
    for key, r in ranks.items():
        band_of[r] = order.index(key[0])
    col_x = [0.0] * (top + 1)
    x = FRAME_PAD + 20.0
    for r in range(top + 1):
        if r and band_of.get(r) != band_of.get(r - 1):
            x += _BAND_GAP
        col_x[r] = x
        x += col_w[r] + _COL_GAP
    y_off = FRAME_HEAD + FRAME_PAD + 20.0
    dummy_y: dict[tuple[int, int], float] = {}  # (edge index, rank) → y where the line crosses that column
    for comp in g.C:
        sug = comp.sug
        # grandalf's final coordinate of a vertex is the mean of the two middle ones of four Brandes–Köpf
        # alignments, taken vertex by vertex, which can put two neighbours of a layer on top of each other
        # (seen at 500 tables). Keep its order and positions, pushing apart what is closer than the gap.
        at: dict[Any, float] = {}  # grandalf's vertices (grandalf has no type information)
        for layer in sug.layers:
            prev = None
            for v in sorted(layer, key=lambda v: v.view.xy[0]):
                c = v.view.xy[0]
                if prev is not None:
                    c = max(c, at[prev] + (prev.view.w + v.view.w) / 2 + _NODE_GAP)
                at[v] = c
                prev = v
        lo = min((at[v] - v.view.w / 2 for v in at), default=0.0)
        hi = 0.0
        for v, c in at.items():
            cy = c - lo + y_off
            hi = max(hi, cy + v.view.w / 2)
            if hasattr(v, "ctrl"):
                continue
            w, h = sizes[v.data]
            r = ranks[v.data]
            boxes[v.data] = (col_x[r] + (col_w[r] - w) / 2, cy - h / 2, w, h)
        for e, ctrl in sug.ctrls.items():
            for r, dv in ctrl.items():
                if hasattr(dv, "ctrl"):
                    dummy_y[(e.data, r + sug.offset)] = at[dv] - lo + y_off
        y_off = hi + 60.0
    # Frames: the schema's columns, top to bottom of its tables.
    frames: dict[str, Rect] = {}
    for s in order:
        mine = [boxes[k] for k in boxes if k[0] == s]
        if not mine:
            continue
        rs = [r for r in range(top + 1) if band_of.get(r) == order.index(s)]
        fx0 = col_x[rs[0]] - FRAME_PAD
        fx1 = col_x[rs[-1]] + col_w[rs[-1]] + FRAME_PAD
        fy0 = min(b[1] for b in mine) - FRAME_PAD - FRAME_HEAD
        fy1 = max(b[1] + b[3] for b in mine) + FRAME_PAD
        frames[s] = (fx0, fy0, fx1 - fx0, fy1 - fy0)
    # Lines: out of the table's side at its middle, across each column through the reserved slot.
    for i, parent, child in _edges(d):
        bp, bc = boxes[parent], boxes[child]
        if parent == child:
            x, y, w, h = bp
            routes.append(
                Route(i, [(x + w, y + 10), (x + w + 24, y + 10), (x + w + 24, y + 34), (x + w, y + 34)], False)
            )
            continue
        rp, rc = ranks[parent], ranks[child]
        if rp == rc:  # same column: loop out on the right side, beside the column
            xr = col_x[rp] + col_w[rp] + 20
            routes.append(
                Route(
                    i,
                    [
                        (bp[0] + bp[2], bp[1] + bp[3] / 2),
                        (xr, bp[1] + bp[3] / 2),
                        (xr, bc[1] + bc[3] / 2),
                        (bc[0] + bc[2], bc[1] + bc[3] / 2),
                    ],
                    False,
                )
            )
            continue
        a, b, ra, rb = (bp, bc, rp, rc) if rp < rc else (bc, bp, rc, rp)
        pts: list[Point] = [(a[0] + a[2], a[1] + a[3] / 2), (col_x[ra] + col_w[ra], a[1] + a[3] / 2)]
        for r in range(ra + 1, rb):
            y = dummy_y[(i, r)]
            pts += [(col_x[r], y), (col_x[r] + col_w[r], y)]
        pts += [(col_x[rb], b[1] + b[3] / 2), (b[0], b[1] + b[3] / 2)]
        if rp > rc:
            pts.reverse()
        routes.append(Route(i, pts, False))
    width = max([f[0] + f[2] for f in frames.values()] + [200.0]) + 20
    height = max([f[1] + f[3] for f in frames.values()] + [100.0]) + 20
    lay = Layout("grandalf", width, height, boxes, frames, routes)
    _place_labels(d, lay)
    return lay


def _place_labels(d, lay: Layout) -> None:
    """Put each line's name on its longest gap-crossing segment where it hits no table and no other label."""
    grid = _Grid()
    for r in lay.boxes.values():
        grid.add(r)
    for s, f in lay.frames.items():
        grid.add(frame_title(s, f))
    for route in lay.routes:
        w, h = label_size(d.relationships[route.index].name)
        pts = route.points
        segs = sorted(range(len(pts) - 1), key=lambda k: -abs(pts[k + 1][0] - pts[k][0]))
        for k in segs[:3]:
            (xa, ya), (xb, yb) = pts[k], pts[k + 1]
            for t in (0.5, 0.35, 0.65, 0.2, 0.8):
                cx, cy = xa + (xb - xa) * t, ya + (yb - ya) * t
                rect = (cx - w / 2, cy - h / 2, w, h)
                if not grid.hits(rect):
                    route.label = rect
                    grid.add(rect)
                    break
            if route.label:
                break


class _Grid:
    """Rectangles bucketed on a coarse grid, for overlap queries."""

    def __init__(self, cell: float = 200.0):
        self.cell = cell
        self.buckets: dict[tuple[int, int], list[Rect]] = {}

    def _cells(self, r: Rect):
        c = self.cell
        for gx in range(int(r[0] // c), int((r[0] + r[2]) // c) + 1):
            for gy in range(int(r[1] // c), int((r[1] + r[3]) // c) + 1):
                yield gx, gy

    def add(self, r: Rect) -> None:
        for cell in self._cells(r):
            self.buckets.setdefault(cell, []).append(r)

    def hits(self, r: Rect, pad: float = 2.0) -> bool:
        for cell in self._cells(r):
            for o in self.buckets.get(cell, ()):
                if (
                    r[0] < o[0] + o[2] + pad
                    and o[0] < r[0] + r[2] + pad
                    and r[1] < o[1] + o[3] + pad
                    and o[1] < r[1] + r[3] + pad
                ):
                    return True
        return False


# --------------------------------------------------------------------------- measuring a drawing


def sample(route: Route, step: float = 4.0) -> list[Point]:
    """Points along the line, at most `step` px apart."""
    pts = route.points
    out: list[Point] = []
    if route.curved:
        for k in range(0, len(pts) - 3, 3):
            p0, p1, p2, p3 = pts[k : k + 4]
            n = max(2, int((abs(p3[0] - p0[0]) + abs(p3[1] - p0[1]) + abs(p1[0] - p0[0]) + abs(p2[1] - p3[1])) / step))
            for j in range(n + 1):
                t = j / n
                u = 1 - t
                out.append(
                    (
                        u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                        u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
                    )
                )
    else:
        for (xa, ya), (xb, yb) in pairwise(pts):
            n = max(1, int(max(abs(xb - xa), abs(yb - ya)) / step))
            out += [(xa + (xb - xa) * j / n, ya + (yb - ya) * j / n) for j in range(n + 1)]
    return out


@dataclass
class Quality:
    line_table_crossings: int  # lines that enter a table other than their two ends
    tables_outside_frame: int
    label_overlaps: int  # pairs of line labels overlapping each other or a table
    labels_placed: int
    labels_total: int


def check(d, lay: Layout, inset: float = 1.0) -> Quality:
    crossings = 0
    grid = _Grid()
    owner: dict[int, Key] = {}
    for k, r in lay.boxes.items():
        inner = (r[0] + inset, r[1] + inset, r[2] - 2 * inset, r[3] - 2 * inset)
        grid.add(inner)
        owner[id(inner)] = k
    ends_of = {i: (p, c) for i, p, c in _edges(d)}
    for route in lay.routes:
        ends = ends_of[route.index]
        hit = False
        for x, y in sample(route):
            for o in grid.buckets.get((int(x // grid.cell), int(y // grid.cell)), ()):
                if owner[id(o)] not in ends and o[0] < x < o[0] + o[2] and o[1] < y < o[1] + o[3]:
                    hit = True
                    break
            if hit:
                break
        crossings += hit
    outside = 0
    for k, (x, y, w, h) in lay.boxes.items():
        fx, fy, fw, fh = lay.frames[k[0]]
        outside += not (fx <= x and fy <= y and x + w <= fx + fw and y + h <= fy + fh)
    labels = [r.label for r in lay.routes if r.label]
    overlaps = 0
    lgrid = _Grid()
    for r in list(lay.boxes.values()):
        lgrid.add(r)
    for s, f in lay.frames.items():
        lgrid.add(frame_title(s, f))
    for rect in labels:
        overlaps += lgrid.hits(rect, pad=-0.5)
        lgrid.add(rect)
    return Quality(crossings, outside, overlaps, len(labels), len(lay.routes))
