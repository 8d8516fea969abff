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
diagram as inline SVG, laid out by erd_layout (Graphviz's dot, or grandalf),
a small inline script for pan/zoom, search and highlighting, and the Mermaid
source.
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
    label: str  # "users" in public, "billing.invoices" elsewhere
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True)
class Relationship:
    parent: tuple[str, str]
    child: tuple[str, str]
    name: str
    parent_card: str  # "one" | "zero_or_one"
    child_card: str  # "zero_or_one" | "zero_or_many"
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
    sets += [
        frozenset(p.column for p in i.parts if p.column)
        for i in t.indexes
        if i.unique and not i.predicate and all(p.column for p in i.parts)
    ]
    return sets


def _short_type(col_type: str) -> str:
    t = re.sub(r"^(\"?[^\".]+\"?)\.", "", col_type)  # drop a schema qualifier
    t = t.replace('"', "")
    for long, short in (
        ("character varying", "varchar"),
        ("timestamp with time zone", "timestamptz"),
        ("timestamp without time zone", "timestamp"),
        ("time with time zone", "timetz"),
        ("time without time zone", "time"),
        ("double precision", "float8"),
    ):
        t = t.replace(long, short)
    return t


def diagram(cat: Catalog) -> Diagram:
    entities = []
    rels = []
    for t in cat.tables:
        pk = set(t.primary_key.columns) if t.primary_key else set()
        fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
        uk_cols = {c for s in _unique_sets(t)[1 if t.primary_key else 0 :] for c in s}
        attrs = []
        for c in t.columns:
            flags = (("PK", c.name in pk), ("FK", c.name in fk_cols), ("UK", c.name in uk_cols))
            keys = tuple(k for k, on in flags if on)
            attrs.append(Attribute(c.name, _short_type(c.type), keys, c.comment))
        label = t.name if t.schema == "public" else f"{t.schema}.{t.name}"
        entities.append(Entity((t.schema, t.name), label, tuple(attrs)))
        uniques = _unique_sets(t)
        for fk in t.foreign_keys:
            cols = frozenset(fk.columns)
            not_null = all((col := t.column(c)) is not None and not col.nullable for c in fk.columns)
            rels.append(
                Relationship(
                    parent=(fk.ref_schema, fk.ref_table),
                    child=(t.schema, t.name),
                    name=fk.name,
                    parent_card="one" if not_null else "zero_or_one",
                    child_card="zero_or_one" if any(cols >= s for s in uniques) else "zero_or_many",
                    identifying=bool(pk) and cols <= pk,
                )
            )
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
        lines.append(
            f"    {_mermaid_id(r.parent)} {_LEFT[r.parent_card]}{line}{_RIGHT[r.child_card]} "
            f'{_mermaid_id(r.child)} : "{_mermaid_text(r.name)}"'
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SVG / HTML


def _marker(x: float, y: float, ux: float, uy: float, card: str) -> str:
    """Crow's-foot glyph at (x, y); (ux, uy) points from the box outwards along the line."""
    px, py = -uy, ux  # perpendicular

    def pt(a: float, b: float) -> str:
        return f"{x + ux * a + px * b:.1f},{y + uy * a + py * b:.1f}"

    def bar(a: float) -> str:
        return f'<path d="M{pt(a, -6)} L{pt(a, 6)}"/>'

    out = []
    if card == "one":
        out += [bar(8), bar(13)]
    elif card == "zero_or_one":
        out.append(bar(8))
        out.append(f'<circle cx="{x + ux * 19:.1f}" cy="{y + uy * 19:.1f}" r="4.5" class="open"/>')
    elif card == "zero_or_many":
        out.append(f'<path d="M{pt(0, -7)} L{pt(10, 0)} L{pt(0, 7)} M{pt(0, 0)} L{pt(10, 0)}"/>')
        out.append(f'<circle cx="{x + ux * 16:.1f}" cy="{y + uy * 16:.1f}" r="4.5" class="open"/>')
    return "".join(out)


def _dist(p: tuple[float, float], r: tuple[float, float, float, float]) -> float:
    dx = max(r[0] - p[0], 0.0, p[0] - r[0] - r[2])
    dy = max(r[1] - p[1], 0.0, p[1] - r[1] - r[3])
    return math.hypot(dx, dy)


def _direction(points: list[tuple[float, float]]) -> tuple[float, float]:
    x0, y0 = points[0]
    for x, y in points[1:]:
        length = math.hypot(x - x0, y - y0)
        if length > 0.5:
            return (x - x0) / length, (y - y0) / length
    return 1.0, 0.0


def _table_id(key: tuple[str, str]) -> str:
    return "t-" + re.sub(r"[^A-Za-z0-9_-]", lambda m: f"_{ord(m.group()):x}_", f"{key[0]}.{key[1]}")


_SVG_STYLE = (
    ".erd{font:12px ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;background:#f7fafc}"
    ".erd .frame rect.bg{fill:#edf2f7;stroke:#a0aec0;stroke-width:1.5}"
    ".erd .frame .title{font:bold 14px system-ui,'DejaVu Sans',sans-serif;fill:#2d3748}"
    ".erd .box{fill:#fff;stroke:#4a5568;stroke-width:1.2}.erd .head{fill:#2b6cb0}"
    ".erd .entity .name{fill:#fff;font-weight:bold}.erd .type{fill:#718096}.erd .key{fill:#c05621;font-weight:bold}"
    ".erd .entity{cursor:pointer}.erd .entity:focus{outline:none}"
    ".erd .entity:focus .box,.erd .entity.sel .box{stroke:#d69e2e;stroke-width:3}"
    ".erd .rel path{stroke:#2d3748;stroke-width:1.3;fill:none}"
    ".erd .rel .weak{stroke-dasharray:5 4}.erd .rel circle.open{fill:#fff;stroke:#2d3748;stroke-width:1.3}"
    ".erd .rel rect.lbl{fill:#f7fafc;fill-opacity:.85}"
    ".erd .rel text{fill:#4a5568;font-size:10px;text-anchor:middle;dominant-baseline:central}"
    ".erd.focus .entity,.erd.focus .rel{opacity:.15}"
    ".erd.focus .entity.hl,.erd.focus .rel.hl{opacity:1}"
    ".erd .rel.hl path{stroke:#d69e2e;stroke-width:2.5}.erd .rel.hl circle.open{stroke:#d69e2e}"
)


def render_svg(cat: Catalog, d: Diagram | None = None, *, engine: str = "auto", lay=None) -> str:
    """The diagram as an SVG document: schema frames, tables, relationship lines (see erd_layout)."""
    from .erd_layout import HEAD_H, ROW_H, frame_title, layout

    d = d or diagram(cat)
    lay = lay or layout(d, engine)
    esc = html.escape
    by_key = {e.key: e for e in d.entities}
    degree: dict[tuple[str, str], int] = dict.fromkeys(by_key, 0)
    for r in d.relationships:
        for k in {r.parent, r.child}:
            if k in degree and r.parent in by_key and r.child in by_key:
                degree[k] += 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="erd" class="erd" width="{lay.width:.0f}" '
        f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
        f'data-layout="{lay.engine}" role="img" aria-label="Entity-relationship diagram">',
        f"<style>{_SVG_STYLE}</style>",
        '<g id="viewport">',
        '<g class="frames">',
    ]
    for schema, (x, y, w, h) in lay.frames.items():
        tx, ty, tw, th = frame_title(schema, (x, y, w, h))
        parts.append(
            f'<g class="frame" data-schema="{esc(schema)}"><rect class="bg" x="{x:.1f}" y="{y:.1f}" '
            f'width="{w:.1f}" height="{h:.1f}" rx="8"/>'
            f'<rect class="title-box" x="{tx:.1f}" y="{ty:.1f}" width="{tw:.1f}" height="{th:.1f}" '
            f'fill="none"/><text class="title" x="{tx + 4:.1f}" y="{ty + 15:.1f}">{esc(schema)}</text></g>'
        )
    parts.append('</g><g class="rels">')
    for route in lay.routes:
        r = d.relationships[route.index]
        pts = list(route.points)
        pbox, cbox = lay.boxes[r.parent], lay.boxes[r.child]
        if r.parent != r.child and _dist(pts[0], cbox) + 0.01 < _dist(pts[0], pbox):
            pts.reverse()  # draw from the parent to the child
        if route.curved:
            d_attr = f"M{pts[0][0]:.1f},{pts[0][1]:.1f} C" + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts[1:])
        else:
            d_attr = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        (ux, uy), (vx, vy) = _direction(pts), _direction(pts[::-1])
        title = f"{r.child[0]}.{r.child[1]} → {r.parent[0]}.{r.parent[1]} ({r.name})"
        label = ""
        if route.label:
            lx, ly, lw, lh = route.label
            label = (
                f'<rect class="lbl" x="{lx:.1f}" y="{ly:.1f}" width="{lw:.1f}" height="{lh:.1f}"/>'
                f'<text x="{lx + lw / 2:.1f}" y="{ly + lh / 2:.1f}">{esc(r.name)}</text>'
            )
        parts.append(
            f'<g class="rel" id="r{route.index}" data-fk="{esc(r.name)}" data-parent="{_table_id(r.parent)}" '
            f'data-child="{_table_id(r.child)}"><title>{esc(title)}</title>'
            f'<path class="line{"" if r.identifying else " weak"}" d="{d_attr}"/>'
            + _marker(pts[0][0], pts[0][1], ux, uy, r.parent_card)
            + _marker(pts[-1][0], pts[-1][1], vx, vy, r.child_card)
            + label
            + "</g>"
        )
    parts.append('</g><g class="entities">')
    for key, (x, y, w, h) in lay.boxes.items():
        e = by_key[key]
        name = f"{key[0]}.{key[1]}"
        parts.append(
            f'<g class="entity" id="{_table_id(key)}" data-table="{esc(name)}" data-schema="{esc(key[0])}" '
            f'tabindex="0" role="button" aria-label="table {esc(name)}, {degree[key]} relationships">'
            f'<rect class="box" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4"/>'
            f'<rect class="head" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{HEAD_H}" rx="4"/>'
            f'<text class="name" x="{x + 8:.1f}" y="{y + 16:.1f}">{esc(e.label)}</text>'
        )
        for i, a in enumerate(e.attributes):
            ty = y + HEAD_H + ROW_H * (i + 1) - 4
            keys = f'<tspan class="key">{esc(" ".join(a.keys))} </tspan>' if a.keys else ""
            tip = f"<title>{esc(a.comment)}</title>" if a.comment else ""
            parts.append(
                f'<text x="{x + 8:.1f}" y="{ty:.1f}">{tip}{keys}{esc(a.name)} '
                f'<tspan class="type">{esc(a.type)}</tspan></text>'
            )
        parts.append("</g>")
    parts.append("</g></g></svg>")
    return "\n".join(parts)


_PAGE_STYLE = (
    "html,body{height:100%}body{margin:0;font-family:system-ui,sans-serif;background:#f7fafc;color:#1a202c;"
    "display:flex;flex-direction:column}"
    "header{padding:8px 16px;background:#1a365d;color:#fff;display:flex;flex-wrap:wrap;gap:6px 16px;align-items:center}"
    "h1{margin:0;font-size:17px}header p{margin:0;font-size:12px;opacity:.85;flex-basis:100%}"
    "#tools{display:flex;gap:6px;align-items:center;position:relative}"
    "#tools input{font-size:14px;padding:4px 8px;width:16em}"
    "#tools button,#info button{font-size:13px;padding:3px 8px;cursor:pointer}"
    "#matches{position:absolute;top:100%;left:0;z-index:2;margin:2px 0 0;padding:0;list-style:none;background:#fff;"
    "color:#1a202c;border:1px solid #a0aec0;max-height:50vh;overflow:auto;min-width:16em}"
    "#matches:empty{display:none}#matches li{padding:3px 8px;cursor:pointer;font:13px ui-monospace,monospace}"
    "#matches li[aria-selected=true]{background:#bee3f8}"
    "main{flex:1;position:relative;overflow:hidden;min-height:300px}"
    "main svg{width:100%;height:100%;display:block;touch-action:none}"
    "#info{position:absolute;right:10px;top:10px;max-width:28em;max-height:80%;overflow:auto;background:#fff;"
    "border:1px solid #a0aec0;padding:8px 12px;font-size:13px;box-shadow:0 2px 6px rgba(0,0,0,.15)}"
    "#info[hidden]{display:none}#info h2{font-size:14px;margin:0 0 6px;font-family:ui-monospace,monospace}"
    "#info ul{margin:0;padding-left:1.1em}#info li button{border:none;background:none;color:#2b6cb0;padding:0;"
    "text-decoration:underline;font:13px ui-monospace,monospace;text-align:left;display:block}"
    "details{margin:6px 16px}pre{background:#fff;border:1px solid #cbd5e0;padding:10px;overflow:auto;max-height:40vh}"
    ".sr{position:absolute;left:-9999px}"
)

# Pan and zoom move the SVG's viewBox; search, highlight and the keys are plain DOM. No library, no network.
_PAGE_SCRIPT = r"""
(function () {
  var svg = document.getElementById('erd'), main = document.querySelector('main');
  var full = svg.viewBox.baseVal, W = full.width, H = full.height;
  var vb = {x: 0, y: 0, w: W, h: H};
  svg.removeAttribute('width'); svg.removeAttribute('height');
  function apply() { svg.setAttribute('viewBox', vb.x + ' ' + vb.y + ' ' + vb.w + ' ' + vb.h); }
  function aspect() { var r = main.getBoundingClientRect(); return (r.height || 1) / (r.width || 1); }
  function fit() {
    var a = aspect();
    if (H / W > a) { vb.h = H; vb.w = H / a; } else { vb.w = W; vb.h = W * a; }
    vb.x = (W - vb.w) / 2; vb.y = (H - vb.h) / 2; apply();
  }
  function zoom(f, cx, cy) {
    if (cx === undefined) { cx = vb.x + vb.w / 2; cy = vb.y + vb.h / 2; }
    var w = Math.max(80, Math.min(vb.w / f, Math.max(W, H) * 4)), k = w / vb.w;
    vb.x = cx - (cx - vb.x) * k; vb.y = cy - (cy - vb.y) * k; vb.w = w; vb.h = vb.h * k; apply();
  }
  function pan(dx, dy) { vb.x += dx * vb.w; vb.y += dy * vb.h; apply(); }
  function toSvg(ev) {
    var r = svg.getBoundingClientRect();
    var s = Math.max(vb.w / r.width, vb.h / r.height);
    var ox = vb.x + (vb.w - r.width * s) / 2, oy = vb.y + (vb.h - r.height * s) / 2;
    return {x: ox + (ev.clientX - r.left) * s, y: oy + (ev.clientY - r.top) * s, s: s};
  }
  svg.addEventListener('wheel', function (ev) {
    ev.preventDefault(); var p = toSvg(ev); zoom(ev.deltaY < 0 ? 1.2 : 1 / 1.2, p.x, p.y);
  }, {passive: false});
  var drag = null;
  svg.addEventListener('pointerdown', function (ev) {
    if (ev.target.closest('.entity')) return;
    drag = {x: ev.clientX, y: ev.clientY, moved: false}; svg.setPointerCapture(ev.pointerId);
  });
  svg.addEventListener('pointermove', function (ev) {
    if (!drag) return;
    var s = toSvg(ev).s, dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    vb.x -= dx * s; vb.y -= dy * s; drag.x = ev.clientX; drag.y = ev.clientY; apply();
  });
  svg.addEventListener('pointerup', function () {
    if (drag && !drag.moved) clear();
    drag = null;
  });

  var tables = Array.prototype.slice.call(svg.querySelectorAll('.entity'));
  var rels = Array.prototype.slice.call(svg.querySelectorAll('.rel'));
  var info = document.getElementById('info'), status = document.getElementById('status');
  function clear() {
    svg.classList.remove('focus');
    svg.querySelectorAll('.hl,.sel').forEach(function (n) { n.classList.remove('hl', 'sel'); });
    info.hidden = true; status.textContent = '';
  }
  function name(id) { return document.getElementById(id).getAttribute('data-table'); }
  function center(g) {
    var b = g.getBBox(), a = aspect(), w = Math.max(b.width * 3, 1500);
    vb.w = w; vb.h = w * a; vb.x = b.x + b.width / 2 - w / 2; vb.y = b.y + b.height / 2 - vb.h / 2; apply();
  }
  function select(g, move) {
    clear();
    svg.classList.add('focus'); g.classList.add('hl', 'sel');
    var id = g.id, items = [];
    rels.forEach(function (r) {
      var p = r.getAttribute('data-parent'), c = r.getAttribute('data-child');
      if (p !== id && c !== id) return;
      r.classList.add('hl');
      var other = p === id ? c : p;
      document.getElementById(other).classList.add('hl');
      items.push({other: other, text: (p === id ? 'referenced by ' : 'references ') + name(other) +
                  ' (' + r.getAttribute('data-fk') + ')'});
    });
    info.innerHTML = '';
    var h = document.createElement('h2'); h.textContent = name(id); info.appendChild(h);
    var ul = document.createElement('ul');
    items.forEach(function (it) {
      var li = document.createElement('li'), b = document.createElement('button');
      b.type = 'button'; b.textContent = it.text;
      b.addEventListener('click', function () {
        var t = document.getElementById(it.other); select(t, true); t.focus();
      });
      li.appendChild(b); ul.appendChild(li);
    });
    if (!items.length) {
      var li = document.createElement('li'); li.textContent = 'no relationships'; ul.appendChild(li);
    }
    info.appendChild(ul); info.hidden = false;
    status.textContent = name(id) + ': ' + items.length + ' relationships';
    if (move) center(g);
  }
  tables.forEach(function (g) {
    g.addEventListener('click', function (ev) { ev.stopPropagation(); select(g, false); });
    g.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); select(g, true); }
    });
    g.addEventListener('focus', function () {
      var b = g.getBBox();
      if (b.x < vb.x || b.y < vb.y || b.x + b.width > vb.x + vb.w || b.y + b.height > vb.y + vb.h) center(g);
    });
  });

  var input = document.getElementById('search'), list = document.getElementById('matches'), cur = -1;
  function matches() {
    var q = input.value.trim().toLowerCase(); list.innerHTML = ''; cur = -1;
    if (!q) return [];
    var found = tables.filter(function (g) { return g.getAttribute('data-table').toLowerCase().indexOf(q) >= 0; });
    found.slice(0, 50).forEach(function (g, i) {
      var li = document.createElement('li');
      li.id = 'm' + i; li.setAttribute('role', 'option'); li.textContent = g.getAttribute('data-table');
      li.addEventListener('mousedown', function (ev) { ev.preventDefault(); choose(g); });
      list.appendChild(li);
    });
    status.textContent = found.length + ' tables match';
    return found;
  }
  function choose(g) { list.innerHTML = ''; select(g, true); g.focus(); }
  input.addEventListener('input', matches);
  input.addEventListener('keydown', function (ev) {
    var items = list.querySelectorAll('li');
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault(); if (!items.length) return;
      if (cur >= 0) items[cur].setAttribute('aria-selected', 'false');
      cur = (cur + (ev.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      items[cur].setAttribute('aria-selected', 'true'); input.setAttribute('aria-activedescendant', items[cur].id);
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      var found = tables.filter(function (g) {
        return g.getAttribute('data-table') === (cur >= 0 ? items[cur].textContent : null);
      });
      if (!found.length) found = matches();
      if (found.length) choose(found[0]);
    } else if (ev.key === 'Escape') { input.value = ''; list.innerHTML = ''; }
  });
  document.getElementById('zin').addEventListener('click', function () { zoom(1.4); });
  document.getElementById('zout').addEventListener('click', function () { zoom(1 / 1.4); });
  document.getElementById('fit').addEventListener('click', function () { clear(); fit(); });
  document.addEventListener('keydown', function (ev) {
    if (ev.target === input) return;
    var k = ev.key;
    if (k === '/') { ev.preventDefault(); input.focus(); }
    else if (k === '+' || k === '=') zoom(1.25);
    else if (k === '-') zoom(1 / 1.25);
    else if (k === '0') { clear(); fit(); }
    else if (k === 'Escape') clear();
    else if (k === 'ArrowLeft' && ev.shiftKey) pan(-0.15, 0);
    else if (k === 'ArrowRight' && ev.shiftKey) pan(0.15, 0);
    else if (k === 'ArrowUp' && ev.shiftKey) pan(0, -0.15);
    else if (k === 'ArrowDown' && ev.shiftKey) pan(0, 0.15);
  });
  window.addEventListener('resize', fit);
  fit();
  window.erd = {select: function (n) { var g = tables.filter(function (t) {
    return t.getAttribute('data-table') === n; })[0]; if (g) select(g, true); return !!g; }, fit: fit, zoom: zoom};
})();
"""


def render_html(cat: Catalog, *, title: str | None = None, engine: str = "auto", lay=None) -> str:
    """A self-contained page (inline SVG, CSS and script; no network) with pan/zoom, search and highlight.

    `lay`: a layout of diagram(cat) made beforehand (erd_layout.layout); else one is made with `engine`.
    """
    d = diagram(cat)
    title = title or f"ERD — {cat.database or 'database'}"
    mermaid = render_mermaid(cat, d)
    svg = render_svg(cat, d, engine=engine, lay=lay)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_PAGE_STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{html.escape(title)}</h1>"
        '<div id="tools" role="search"><label class="sr" for="search">Find a table</label>'
        '<input id="search" type="search" placeholder="Find a table ( / )" autocomplete="off" '
        'role="combobox" aria-controls="matches" aria-expanded="true" aria-autocomplete="list">'
        '<ul id="matches" role="listbox" aria-label="matching tables"></ul>'
        '<button id="zin" type="button" aria-label="zoom in">+</button>'
        '<button id="zout" type="button" aria-label="zoom out">−</button>'
        '<button id="fit" type="button">fit</button></div>'
        f"<p>{len(d.entities)} tables, {len(d.relationships)} foreign keys. Drag to pan, wheel or +/− to zoom, "
        "Shift+arrows to pan, 0 to fit. Click a table (or Tab to it and press Enter) to follow its relationships; "
        "Esc clears. Solid line: identifying; dashed: non-identifying. Bars: exactly one; circle: optional; "
        "crow's foot: many.</p></header>\n"
        f'<main>\n{svg}\n<aside id="info" hidden aria-live="polite"></aside>'
        '<div id="status" class="sr" role="status" aria-live="polite"></div>\n</main>\n'
        f"<details><summary>Mermaid source</summary><pre>{html.escape(mermaid)}</pre></details>\n"
        f"<script>{_PAGE_SCRIPT}</script>\n</body>\n</html>\n"
    )
