"""Entity-relationship diagrams: Mermaid ``erDiagram`` text and a self-contained HTML page.

One entity per table (columns with their types and PK / FK / UK markers), one
relationship per foreign key. Cardinality comes from the schema: the parent
side is "exactly one" when every foreign-key column is NOT NULL, else "zero
or one"; the child side is "zero or one" when the foreign-key columns are
unique in the child (primary key, unique constraint or unique index), else
"zero or many". A relationship is identifying (solid line) when the
foreign-key columns are part of the child's primary key.

The HTML page must render with no network (no CDN is reachable here and no
PyPI package for our Python ships mermaid's JavaScript), so it carries the
diagram drawn by us as inline SVG, plus the Mermaid source.
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

from .catalog import Catalog, Table


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str
    keys: tuple[str, ...]  # subset of PK, FK, UK in that order
    comment: str | None = None


@dataclass(frozen=True)
class Entity:
    key: tuple[str, str]
    label: str             # "users" in public, "billing.invoices" elsewhere
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True)
class Relationship:
    parent: tuple[str, str]
    child: tuple[str, str]
    name: str
    parent_card: str       # "one" | "zero_or_one"
    child_card: str        # "zero_or_one" | "zero_or_many"
    identifying: bool


@dataclass(frozen=True)
class Diagram:
    entities: tuple[Entity, ...]
    relationships: tuple[Relationship, ...]


def _unique_sets(t: Table) -> list[frozenset[str]]:
    sets = []
    if t.primary_key is not None:
        sets.append(frozenset(t.primary_key.columns))
    sets += [frozenset(u.columns) for u in t.uniques]
    sets += [frozenset(p.column for p in i.parts) for i in t.indexes
             if i.unique and not i.predicate and all(p.column for p in i.parts)]
    return sets


def _short_type(col_type: str) -> str:
    t = re.sub(r"^(\"?[^\".]+\"?)\.", "", col_type)  # drop a schema qualifier
    t = t.replace('"', "")
    for long, short in (("character varying", "varchar"), ("timestamp with time zone", "timestamptz"),
                        ("timestamp without time zone", "timestamp"), ("time with time zone", "timetz"),
                        ("time without time zone", "time"), ("double precision", "float8")):
        t = t.replace(long, short)
    return t


def diagram(cat: Catalog) -> Diagram:
    entities = []
    rels = []
    for t in cat.tables:
        pk = set(t.primary_key.columns) if t.primary_key else set()
        fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
        uk_cols = {c for s in _unique_sets(t)[1 if t.primary_key else 0:] for c in s}
        attrs = []
        for c in t.columns:
            keys = tuple(k for k, on in (("PK", c.name in pk), ("FK", c.name in fk_cols), ("UK", c.name in uk_cols)) if on)
            attrs.append(Attribute(c.name, _short_type(c.type), keys, c.comment))
        label = t.name if t.schema == "public" else f"{t.schema}.{t.name}"
        entities.append(Entity((t.schema, t.name), label, tuple(attrs)))
        uniques = _unique_sets(t)
        for fk in t.foreign_keys:
            cols = frozenset(fk.columns)
            not_null = all((t.column(c) is not None and not t.column(c).nullable) for c in fk.columns)
            rels.append(Relationship(
                parent=(fk.ref_schema, fk.ref_table), child=(t.schema, t.name), name=fk.name,
                parent_card="one" if not_null else "zero_or_one",
                child_card="zero_or_one" if any(cols >= s for s in uniques) else "zero_or_many",
                identifying=bool(pk) and cols <= pk))
    return Diagram(tuple(entities), tuple(rels))


# --------------------------------------------------------------------------- Mermaid

_LEFT = {"one": "||", "zero_or_one": "|o"}
_RIGHT = {"zero_or_one": "o|", "zero_or_many": "o{"}


def _mermaid_id(key: tuple[str, str]) -> str:
    schema, name = key
    raw = name if schema == "public" else f"{schema}__{name}"
    return re.sub(r"[^A-Za-z0-9_]", "_", raw)


def _mermaid_type(t: str) -> str:
    t = t.replace(" ", "_").replace(",", "_")
    t = re.sub(r"[^A-Za-z0-9_\-\[\]()]", "", t)
    return t if re.match(r"[A-Za-z_]", t) else "t_" + t


def _mermaid_text(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


def render_mermaid(cat: Catalog, d: Diagram | None = None) -> str:
    """The schema as a Mermaid erDiagram."""
    d = d or diagram(cat)
    lines = ["erDiagram"]
    known = {e.key for e in d.entities}
    for e in d.entities:
        ident = _mermaid_id(e.key)
        head = ident if ident == e.label else f'{ident}["{_mermaid_text(e.label)}"]'
        lines.append(f"    {head} {{")
        for a in e.attributes:
            name = re.sub(r"[^A-Za-z0-9_\-\[\]()]", "_", a.name) or "_"
            parts = [_mermaid_type(a.type), name]
            if a.keys:
                parts.append(", ".join(a.keys))
            if a.comment:
                parts.append(f'"{_mermaid_text(a.comment)}"')
            lines.append("        " + " ".join(parts))
        lines.append("    }")
    for r in d.relationships:
        if r.parent not in known:
            continue  # the parent lives in a schema that was not inspected
        line = "--" if r.identifying else ".."
        lines.append(f"    {_mermaid_id(r.parent)} {_LEFT[r.parent_card]}{line}{_RIGHT[r.child_card]} "
                     f'{_mermaid_id(r.child)} : "{_mermaid_text(r.name)}"')
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SVG / HTML

_CHAR_W = 7.2      # px per character of the 12px monospace font
_ROW_H = 18
_HEAD_H = 24
_GAP_X = 170
_GAP_Y = 80


@dataclass
class _Box:
    entity: Entity
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def _layout(d: Diagram) -> list[_Box]:
    """Boxes on a grid, ordered so that related tables tend to sit together."""
    boxes = {e.key: _Box(e) for e in d.entities}
    for b in boxes.values():
        widest = max([len(b.entity.label) + 2] +
                     [len(a.type) + len(a.name) + len(" ".join(a.keys)) + 4 for a in b.entity.attributes])
        b.w = max(140.0, widest * _CHAR_W + 16)
        b.h = _HEAD_H + _ROW_H * max(1, len(b.entity.attributes)) + 6
    neighbours: dict[tuple[str, str], list[tuple[str, str]]] = {k: [] for k in boxes}
    for r in d.relationships:
        if r.parent in boxes and r.child in boxes and r.parent != r.child:
            neighbours[r.parent].append(r.child)
            neighbours[r.child].append(r.parent)
    order: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for start in sorted(boxes, key=lambda k: (-len(neighbours[k]), k)):
        if start in seen:
            continue
        queue = [start]
        seen.add(start)
        while queue:
            k = queue.pop(0)
            order.append(k)
            for n in sorted(neighbours[k]):
                if n not in seen:
                    seen.add(n)
                    queue.append(n)
    ncols = max(1, math.ceil(math.sqrt(len(order))))
    col_w = [0.0] * ncols
    rows: list[list[_Box]] = []
    for i, k in enumerate(order):
        if i % ncols == 0:
            rows.append([])
        rows[-1].append(boxes[k])
        col_w[i % ncols] = max(col_w[i % ncols], boxes[k].w)
    y = 20.0
    for row in rows:
        x = 20.0
        for j, b in enumerate(row):
            b.x, b.y = x, y
            x += col_w[j] + _GAP_X
        y += max(b.h for b in row) + _GAP_Y
    return [boxes[k] for k in order]


def _edge_point(b: _Box, tx: float, ty: float) -> tuple[float, float]:
    """Where the line from the box centre towards (tx, ty) leaves the box."""
    dx, dy = tx - b.cx, ty - b.cy
    if dx == 0 and dy == 0:
        return b.cx, b.y
    sx = (b.w / 2) / abs(dx) if dx else math.inf
    sy = (b.h / 2) / abs(dy) if dy else math.inf
    s = min(sx, sy)
    return b.cx + dx * s, b.cy + dy * s


def _marker(x: float, y: float, ux: float, uy: float, card: str) -> str:
    """Crow's-foot glyph at (x, y); (ux, uy) points from the box outwards along the line."""
    px, py = -uy, ux  # perpendicular

    def pt(a: float, b: float) -> str:
        return f"{x + ux * a + px * b:.1f},{y + uy * a + py * b:.1f}"

    out = []
    bar = lambda a: f'<path d="M{pt(a, -6)} L{pt(a, 6)}"/>'  # noqa: E731
    if card in ("one",):
        out += [bar(8), bar(13)]
    elif card == "zero_or_one":
        out.append(bar(8))
        cx, cy = x + ux * 19, y + uy * 19
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" class="open"/>')
    elif card == "zero_or_many":
        out.append(f'<path d="M{pt(0, -7)} L{pt(10, 0)} L{pt(0, 7)} M{pt(0, 0)} L{pt(10, 0)}"/>')
        cx, cy = x + ux * 16, y + uy * 16
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" class="open"/>')
    return "".join(out)


def render_svg(cat: Catalog, d: Diagram | None = None) -> str:
    d = d or diagram(cat)
    boxes = _layout(d)
    by_key = {b.entity.key: b for b in boxes}
    width = max([b.x + b.w for b in boxes] + [200]) + 20
    height = max([b.y + b.h for b in boxes] + [100]) + 20
    esc = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="erd" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="Entity-relationship diagram">',
             "<style>.erd{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
             ".erd .box{fill:#fff;stroke:#4a5568;stroke-width:1.2}.erd .head{fill:#2b6cb0}"
             ".erd .title{fill:#fff;font-weight:bold}.erd .type{fill:#718096}.erd .key{fill:#c05621;font-weight:bold}"
             ".erd .rel path,.erd .rel line{stroke:#2d3748;stroke-width:1.3;fill:none}"
             ".erd .rel .weak{stroke-dasharray:5 4}.erd .rel circle.open{fill:#fff;stroke:#2d3748;stroke-width:1.3}"
             ".erd .rel text{fill:#4a5568;font-size:10px;text-anchor:middle;paint-order:stroke;stroke:#f7fafc;"
             "stroke-width:3px}</style>"]
    parts.append('<g class="rels">')
    for r in d.relationships:
        p, c = by_key.get(r.parent), by_key.get(r.child)
        if p is None or c is None:
            continue
        title = f"{r.child[1]} → {r.parent[1]} ({r.name})"
        if p is c:  # self reference: a loop on the right side
            x0, y0 = p.x + p.w, p.y + 10
            x1, y1 = p.x + p.w, p.y + 34
            parts.append(f'<g class="rel" data-fk="{esc(r.name)}"><title>{esc(title)}</title>'
                         f'<path class="{"" if r.identifying else "weak"}" d="M{x0},{y0} h40 V{y1} H{x1}"/>'
                         + _marker(x0, y0, 1, 0, r.parent_card) + _marker(x1, y1, 1, 0, r.child_card) + "</g>")
            continue
        x0, y0 = _edge_point(p, c.cx, c.cy)
        x1, y1 = _edge_point(c, p.cx, p.cy)
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        cls = "" if r.identifying else ' class="weak"'
        parts.append(f'<g class="rel" data-fk="{esc(r.name)}"><title>{esc(title)}</title>'
                     f'<line{cls} x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}"/>'
                     + _marker(x0, y0, ux, uy, r.parent_card) + _marker(x1, y1, -ux, -uy, r.child_card)
                     + f'<text x="{(x0 + x1) / 2:.1f}" y="{(y0 + y1) / 2 - 5:.1f}">{esc(r.name)}</text></g>')
    parts.append("</g>")
    for b in boxes:
        e = b.entity
        parts.append(f'<g class="entity" data-table="{esc(e.label)}">'
                     f'<rect class="box" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="4"/>'
                     f'<rect class="head" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{_HEAD_H}" rx="4"/>'
                     f'<text class="title" x="{b.x + 8:.1f}" y="{b.y + 16:.1f}">{esc(e.label)}</text>')
        for i, a in enumerate(e.attributes):
            ty = b.y + _HEAD_H + _ROW_H * (i + 1) - 4
            keys = f'<tspan class="key">{esc(" ".join(a.keys))} </tspan>' if a.keys else ""
            tip = f"<title>{esc(a.comment)}</title>" if a.comment else ""
            parts.append(f'<text x="{b.x + 8:.1f}" y="{ty:.1f}">{tip}{keys}{esc(a.name)} '
                         f'<tspan class="type">{esc(a.type)}</tspan></text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def render_html(cat: Catalog, *, title: str | None = None) -> str:
    """A self-contained page (no scripts, no network) showing the diagram and its Mermaid source."""
    d = diagram(cat)
    title = title or f"ERD — {cat.database or 'database'}"
    mermaid = render_mermaid(cat, d)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{margin:0;font-family:system-ui,sans-serif;background:#f7fafc;color:#1a202c}"
        "header{padding:12px 20px;background:#1a365d;color:#fff}h1{margin:0;font-size:18px}"
        "header p{margin:4px 0 0;font-size:13px;opacity:.85}main{padding:10px;overflow:auto}"
        "details{margin:10px 20px 30px}pre{background:#fff;border:1px solid #cbd5e0;padding:10px;overflow:auto}"
        "</style>\n</head>\n<body>\n"
        f"<header><h1>{html.escape(title)}</h1><p>{len(d.entities)} tables, {len(d.relationships)} foreign keys. "
        "Solid line: identifying; dashed: non-identifying. Bars: exactly one; circle: optional; "
        "crow's foot: many.</p></header>\n"
        f"<main>\n{render_svg(cat, d)}\n</main>\n"
        f"<details><summary>Mermaid source</summary><pre>{html.escape(mermaid)}</pre></details>\n"
        "</body>\n</html>\n")
