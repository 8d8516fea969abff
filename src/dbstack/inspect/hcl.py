"""The catalog as Atlas-style HCL (the shape `atlas schema inspect` prints).

Blocks come in a fixed order (extensions, enums, domains, sequences, tables,
views, materialized views, functions, procedures, triggers, schemas last as
Atlas prints them), attribute ``=`` signs are aligned within a run of
attributes like ``hclwrite`` does, and tables are qualified
(``table "public" "users"``) only when two schemas hold the same name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .catalog import Catalog, Column, ForeignKey, Function, Index, Sequence, Table, Trigger, View

# format_type() spellings → Atlas's HCL type names.
_TYPE_NAMES = {
    "character varying": "character_varying",
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time with time zone": "timetz",
    "time without time zone": "time",
    "double precision": "double_precision",
    "bit varying": "bit_varying",
}
_FK_ACTIONS = {
    "NO ACTION": "NO_ACTION",
    "RESTRICT": "RESTRICT",
    "CASCADE": "CASCADE",
    "SET NULL": "SET_NULL",
    "SET DEFAULT": "SET_DEFAULT",
}
_LANGS = {"plpgsql": "PLpgSQL", "sql": "SQL", "c": "C", "internal": "INTERNAL"}
_SERIALS = {"smallint": "smallserial", "integer": "serial", "bigint": "bigserial"}


# --------------------------------------------------------------------------- values


def hcl_string(text: str) -> str:
    """A quoted HCL string (template sequences escaped)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return '"' + out.replace("${", "$${").replace("%{", "%%{") + '"'


def _heredoc(text: str, indent: str) -> str:
    body = text.strip("\n").replace("${", "$${").replace("%{", "%%{")
    lines = [indent + "  " + ln if ln.strip() else "" for ln in body.splitlines()]
    return "<<-SQL\n" + "\n".join(lines) + "\n" + indent + "  SQL"


@dataclass
class _Raw:
    """A value written as is (references, enums like NO_ACTION, numbers)."""

    text: str


@dataclass
class _Heredoc:
    text: str


@dataclass
class Block:
    kind: str
    labels: tuple[str, ...] = ()
    items: list = field(default_factory=list)  # (name, value) attributes and Blocks

    def attr(self, name: str, value) -> Block:
        if value is not None:
            self.items.append((name, value))
        return self

    def block(self, kind: str, *labels: str) -> Block:
        b = Block(kind, labels)
        self.items.append(b)
        return b

    def render(self, indent: str = "") -> str:
        head = indent + self.kind + "".join(f" {hcl_string(x)}" for x in self.labels) + " {"
        lines = [head]
        inner = indent + "  "
        run: list[tuple[str, object]] = []

        def flush() -> None:
            if not run:
                return
            width = max(len(n) for n, _ in run)
            for n, v in run:
                lines.append(f"{inner}{n.ljust(width)} = {_value(v, inner)}")
            run.clear()

        for it in self.items:
            if isinstance(it, Block):
                flush()
                lines.append(it.render(inner))
            else:
                name, value = it
                if isinstance(value, _Heredoc):
                    # A multi-line value ends an alignment run, as in hclwrite.
                    flush()
                    lines.append(f"{inner}{name} = {_value(value, inner)}")
                else:
                    run.append(it)
        flush()
        lines.append(indent + "}")
        return "\n".join(lines)


def _value(v, indent: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, _Raw):
        return v.text
    if isinstance(v, _Heredoc):
        return _heredoc(v.text, indent)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x, indent) for x in v) + "]"
    return hcl_string(str(v))


def _sql(text: str) -> _Raw:
    return _Raw(f"sql({hcl_string(text)})")


# --------------------------------------------------------------------------- names


class _Names:
    """How to refer to tables/views/enums: qualified only when a name repeats across schemas."""

    def __init__(self, cat: Catalog) -> None:
        counts: dict[str, int] = {}
        for t in cat.tables:
            counts[t.name] = counts.get(t.name, 0) + 1
        self.clash = {n for n, c in counts.items() if c > 1}
        self.enums = {(e.schema, e.name) for e in cat.enums}
        self.domains = {(d.schema, d.name): d for d in cat.domains}
        enum_counts: dict[str, int] = {}
        for e in cat.enums:
            enum_counts[e.name] = enum_counts.get(e.name, 0) + 1
        self.enum_clash = {n for n, c in enum_counts.items() if c > 1}
        self.views = {(v.schema, v.name): v for v in cat.views}
        self.tables = {(t.schema, t.name) for t in cat.tables}

    def table_labels(self, schema: str, name: str) -> tuple[str, ...]:
        return (schema, name) if name in self.clash else (name,)

    def table_ref(self, schema: str, name: str) -> str:
        if (schema, name) in self.views:
            kind = "materialized" if self.views[(schema, name)].materialized else "view"
            return f"{kind}{_ident_ref(name)}"
        if name in self.clash:
            return f"table{_ident_ref(schema)}{_ident_ref(name)}"
        return f"table{_ident_ref(name)}"

    def column_ref(self, schema: str, table: str, column: str, *, local: bool) -> str:
        if local:
            return f"column{_ident_ref(column)}"
        return f"{self.table_ref(schema, table)}.column{_ident_ref(column)}"


def _ident_ref(name: str) -> str:
    """One traversal step: `.name`, or `["odd name"]` (an index) when name is not an HCL identifier."""
    return f".{name}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name) else f"[{hcl_string(name)}]"


def _schema_ref(name: str) -> _Raw:
    return _Raw(f"schema{_ident_ref(name)}")


# --------------------------------------------------------------------------- pieces


def hcl_type(col_type: str, names: _Names | None = None) -> _Raw:
    """format_type() text → an HCL type expression."""
    t = col_type
    if names is not None:
        sch, _, name = t.rpartition(".")
        key = (sch or "public", name)
        if key in names.enums:
            return _Raw(f"enum{_ident_ref(name)}")
        if key in names.domains:
            return _Raw(f"domain{_ident_ref(name)}")
    if t.endswith("[]") or "." in t or '"' in t:
        return _sql(t)
    m = re.fullmatch(r"([a-z ]+?)(\([0-9, ]+\))?( with time zone| without time zone)?", t)
    if not m:
        return _sql(t)
    base, args, tz = m.group(1), m.group(2) or "", m.group(3) or ""
    full = base + tz
    if tz:
        tz_name = {
            "timestamp with time zone": "timestamptz",
            "timestamp without time zone": "timestamp",
            "time with time zone": "timetz",
            "time without time zone": "time",
        }.get(full)
        if tz_name is None:
            return _sql(t)
        return _Raw(tz_name + args.replace(" ", ""))
    name = _TYPE_NAMES.get(base, base)
    if " " in name:
        return _sql(t)
    return _Raw(name + args.replace(" ", ""))


_LITERAL = re.compile(r"^'((?:[^']|'')*)'(?:::[\w .\"\[\]()]+)?$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def hcl_default(expr: str):
    """A default expression → a literal where Atlas prints one, else sql("...")."""
    e = expr.strip()
    if e in ("true", "false"):
        return e == "true"
    if _NUMBER.match(e):
        return _Raw(e)
    m = _LITERAL.match(e)
    if m and not e.endswith("[]"):
        return m.group(1).replace("''", "'")
    m2 = re.fullmatch(r"\((-?\d+(?:\.\d+)?)\)::[\w ]+", e)
    if m2:
        return _Raw(m2.group(1))
    return _sql(e)


def _identity_block(parent: Block, col: Column) -> None:
    assert col.identity is not None
    o = col.identity.options
    b = parent.block("identity")
    b.attr("generated", _Raw(col.identity.generated.replace(" ", "_")))
    if o.start != 1:
        b.attr("start", o.start)
    if o.increment != 1:
        b.attr("increment", o.increment)


def _serial_of(table: Table, col: Column, serials: dict[tuple[str, str, str], Sequence]) -> str | None:
    seq = serials.get((table.schema, table.name, col.name))
    if seq is None or col.default is None or col.type not in _SERIALS:
        return None
    if col.default == f"nextval('{_regclass_text(seq)}'::regclass)":
        return _SERIALS[col.type]
    return None


def _regclass_text(seq: Sequence) -> str:
    def q(x: str) -> str:
        return x if re.fullmatch(r"[a-z_][a-z0-9_$]*", x) else '"' + x.replace('"', '""') + '"'

    return f"{q(seq.schema)}.{q(seq.name)}".replace("'", "''")


def _column_block(parent: Block, col: Column, names: _Names, serial: str | None = None) -> None:
    b = parent.block("column", col.name)
    b.attr("null", col.nullable)
    b.attr("type", _Raw(serial) if serial else hcl_type(col.type, names))
    if col.default is not None and not serial:
        b.attr("default", hcl_default(col.default))
    if col.collation:
        b.attr("collate", col.collation.split(".", 1)[-1].strip('"'))
    if col.comment is not None:
        b.attr("comment", col.comment)
    if col.identity is not None:
        _identity_block(b, col)
    if col.generated is not None:
        g = b.block("as")
        g.attr("expr", col.generated)
        g.attr("type", _Raw(col.generated_kind or "STORED"))


def _index_block(parent: Block, idx: Index, names: _Names) -> None:
    b = parent.block("index", idx.name)
    if idx.unique:
        b.attr("unique", True)
    # Plain columns in ascending order are written as `columns = [...]`, anything else as `on` blocks.
    plain = [
        p.column
        for p in idx.parts
        if p.column and not p.desc and not p.opclass and not p.collation and p.nulls_first == p.desc
    ]
    simple = len(plain) == len(idx.parts)
    if simple:
        b.attr("columns", [_Raw(f"column{_ident_ref(c)}") for c in plain])
    if idx.method != "btree":
        b.attr("type", _Raw(idx.method.upper()))
    if idx.predicate:
        b.attr("where", idx.predicate)
    if idx.include:
        b.attr("include", [_Raw(f"column{_ident_ref(c)}") for c in idx.include])
    if idx.nulls_not_distinct:
        b.attr("nulls_distinct", False)
    if idx.comment is not None:
        b.attr("comment", idx.comment)
    if not simple:
        for p in idx.parts:
            on = b.block("on")
            if p.desc:
                on.attr("desc", True)
            if p.column:
                on.attr("column", _Raw(f"column{_ident_ref(p.column)}"))
            else:
                on.attr("expr", p.expr)
            if p.opclass:
                on.attr("ops", _Raw(p.opclass.split(".", 1)[-1].strip('"')))
            if p.collation:
                on.attr("collate", p.collation.split(".", 1)[-1].strip('"'))
            if p.nulls_first != p.desc:
                on.attr("nulls", _Raw("FIRST" if p.nulls_first else "LAST"))


def _fk_block(parent: Block, t: Table, fk: ForeignKey, names: _Names) -> None:
    b = parent.block("foreign_key", fk.name)
    b.attr("columns", [_Raw(f"column{_ident_ref(c)}") for c in fk.columns])
    b.attr("ref_columns", [_Raw(names.column_ref(fk.ref_schema, fk.ref_table, c, local=False)) for c in fk.ref_columns])
    b.attr("on_update", _Raw(_FK_ACTIONS.get(fk.on_update, fk.on_update.replace(" ", "_"))))
    b.attr("on_delete", _Raw(_FK_ACTIONS.get(fk.on_delete, fk.on_delete.replace(" ", "_"))))
    if fk.deferrable:
        b.attr("deferrable", _Raw("INITIALLY_DEFERRED" if fk.initially_deferred else "INITIALLY_IMMEDIATE"))
    if not fk.valid:
        b.attr("not_valid", True)
    if fk.comment is not None:
        b.attr("comment", fk.comment)


def _check_expr(definition: str) -> str:
    d = definition
    for suffix in (" NOT VALID", " NO INHERIT"):
        if d.endswith(suffix):
            d = d[: -len(suffix)]
    return d[len("CHECK ") :] if d.startswith("CHECK ") else d


def _partition_block(parent: Block, key: str) -> None:
    m = re.fullmatch(r"(RANGE|LIST|HASH) \((.*)\)", key, re.S)
    b = parent.block("partition")
    if not m:
        b.attr("expr", key)
        return
    b.attr("type", _Raw(m.group(1)))
    parts = [p.strip() for p in _split_top(m.group(2))]
    if all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in parts):
        b.attr("columns", [_Raw(f"column.{p}") for p in parts])
    else:
        for p in parts:
            b.block("by").attr("expr", p)


def _split_top(text: str) -> list[str]:
    out, depth, cur, quote = [], 0, "", False
    for ch in text:
        if ch == "'":
            quote = not quote
        if not quote:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 0:
                out.append(cur)
                cur = ""
                continue
        cur += ch
    out.append(cur)
    return out


def table_block(t: Table, names: _Names, serials: dict[tuple[str, str, str], Sequence]) -> Block:
    b = Block("table", names.table_labels(t.schema, t.name))
    b.attr("schema", _schema_ref(t.schema))
    if t.unlogged:
        b.attr("unlogged", True)
    if t.partition_of is not None:
        b.attr("partition_of", _Raw(names.table_ref(*t.partition_of)))
        b.attr("partition_bound", t.partition_bound)
    for col in t.columns:
        _column_block(b, col, names, _serial_of(t, col, serials))
    if t.primary_key is not None:
        pk = b.block("primary_key")
        pk.attr("columns", [_Raw(f"column{_ident_ref(c)}") for c in t.primary_key.columns])
        if t.primary_key.include:
            pk.attr("include", [_Raw(f"column{_ident_ref(c)}") for c in t.primary_key.include])
    for fk in t.foreign_keys:
        _fk_block(b, t, fk, names)
    for idx in t.indexes:
        _index_block(b, idx, names)
    for u in t.uniques:
        ub = b.block("unique", u.name)
        ub.attr("columns", [_Raw(f"column{_ident_ref(c)}") for c in u.columns])
        if u.include:
            ub.attr("include", [_Raw(f"column{_ident_ref(c)}") for c in u.include])
        if u.nulls_not_distinct:
            ub.attr("nulls_distinct", False)
        if u.comment is not None:
            ub.attr("comment", u.comment)
    for c in t.checks:
        cb = b.block("check", c.name)
        cb.attr("expr", _check_expr(c.definition))
        if not c.valid:
            cb.attr("not_valid", True)
        if c.comment is not None:
            cb.attr("comment", c.comment)
    for x in t.exclusions:
        b.block("exclude", x.name).attr("as", x.definition)
    if t.partition_key:
        _partition_block(b, t.partition_key)
    if t.inherits:
        b.attr("inherits", [_Raw(names.table_ref(*p)) for p in t.inherits])
    b.attr("owner", t.owner)
    if t.rls_enabled or t.rls_forced:
        rs = b.block("row_security")
        rs.attr("enabled", t.rls_enabled)
        rs.attr("enforced", t.rls_forced)
    if t.comment is not None:
        b.attr("comment", t.comment)
    return b


def policy_block(pol, names: _Names) -> Block:
    b = Block("policy", (pol.name,))
    b.attr("on", _Raw(names.table_ref(pol.schema, pol.table)))
    if not pol.permissive:
        b.attr("as", _Raw("RESTRICTIVE"))
    b.attr("for", _Raw(pol.command))
    b.attr("to", [_Raw("PUBLIC") if r == "PUBLIC" else r for r in pol.roles])
    b.attr("using", pol.using)
    b.attr("check", pol.check)
    b.attr("comment", pol.comment)
    return b


def permission_blocks(target: _Raw, grants) -> list[Block]:
    """One block per grantee (and grant option / revoked), privileges listed."""
    groups: dict[tuple[str, bool, bool], list[str]] = {}
    for g in grants:
        groups.setdefault((g.grantee, g.grantable, g.revoked), []).append(g.privilege)
    out = []
    for (grantee, grantable, revoked), privs in groups.items():
        b = Block("revoke" if revoked else "permission")
        b.attr("for", target)
        b.attr("to" if not revoked else "from", _Raw("PUBLIC") if grantee == "PUBLIC" else grantee)
        b.attr("privileges", [_Raw(x) for x in privs])
        if grantable:
            b.attr("grantable", True)
        out.append(b)
    return out


def view_block(v: View, names: _Names) -> Block:
    b = Block("materialized" if v.materialized else "view", (v.name,))
    b.attr("schema", _schema_ref(v.schema))
    for col in v.columns:
        c = b.block("column", col.name)
        c.attr("null", col.nullable)
        c.attr("type", hcl_type(col.type, names))
        if col.comment is not None:
            c.attr("comment", col.comment)
    for idx in v.indexes:
        _index_block(b, idx, names)
    b.attr("as", _Heredoc(v.definition.strip().rstrip(";")))
    deps = [_Raw(names.table_ref(s, n)) for s, n in v.depends_on if (s, n) in names.tables or (s, n) in names.views]
    if deps:
        b.attr("depends_on", deps)
    for opt in v.options:
        k, _, val = opt.partition("=")
        if k == "check_option":
            b.attr("check_option", _Raw(val.upper()))
        elif k == "security_barrier":
            b.attr("security_barrier", val.lower() in ("true", "on", "1"))
        elif k == "security_invoker":
            b.attr("security_invoker", val.lower() in ("true", "on", "1"))
    if v.comment is not None:
        b.attr("comment", v.comment)
    return b


_FN_BODY = re.compile(r"\nAS \$(\w*)\$(.*)\$\1\$\s*$", re.S)


def _function_body(fn: Function) -> str:
    m = _FN_BODY.search(fn.definition)
    if m:
        return m.group(2)
    # SQL-standard body: everything from RETURN / BEGIN ATOMIC on.
    m2 = re.search(r"\n(RETURN |BEGIN ATOMIC)", fn.definition)
    if m2:
        return fn.definition[m2.start() + 1 :]
    return fn.definition


def _function_args(args: str) -> list[tuple[str | None, str, str | None]]:
    out: list[tuple[str | None, str, str | None]] = []
    for raw in _split_top(args):
        a = raw.strip()
        if not a:
            continue
        mode = None
        first = a.split(" ", 1)
        if first[0] in ("IN", "OUT", "INOUT", "VARIADIC") and len(first) > 1:
            mode, a = first[0], first[1]
        parts = a.split(" ", 1)
        # "name type" unless the first word starts a multi-word type.
        if len(parts) == 2 and parts[0] not in ("double", "character", "bit", "timestamp", "time", "interval"):
            out.append((parts[0].strip('"'), parts[1], mode))
        else:
            out.append((None, a, mode))
    return out


def function_block(fn: Function, names: _Names) -> Block:
    b = Block("procedure" if fn.kind == "procedure" else "function", (fn.name,))
    b.attr("schema", _schema_ref(fn.schema))
    b.attr("lang", _Raw(_LANGS.get(fn.language, fn.language)))
    for name, typ, mode in _function_args(fn.arguments):
        a = b.block("arg", *((name,) if name else ()))
        a.attr("type", hcl_type(typ, names))
        if mode and mode != "IN":
            a.attr("mode", _Raw(mode))
    if fn.result:
        b.attr("return", hcl_type(fn.result, names))
    b.attr("as", _Heredoc(_function_body(fn)))
    if fn.comment is not None:
        b.attr("comment", fn.comment)
    return b


_TRIGGER = re.compile(
    r"^CREATE (?:CONSTRAINT )?TRIGGER \S+ (BEFORE|AFTER|INSTEAD OF) (.+?) ON \S+ (?:.*?)"
    r"FOR EACH (ROW|STATEMENT)(?: WHEN \((.*)\))? EXECUTE (?:FUNCTION|PROCEDURE) ([^(]+)\((.*)\)$",
    re.S,
)


def trigger_block(tr: Trigger, names: _Names, fn_names: dict[str, str]) -> Block:
    b = Block("trigger", (tr.name,))
    b.attr("on", _Raw(names.table_ref(tr.schema, tr.table)))
    m = _TRIGGER.match(tr.definition)
    if not m:
        b.attr("as", tr.definition)
        return b
    timing, events, level, when, func, args = m.groups()
    tb = b.block(timing.lower().replace(" ", "_"))
    for ev in events.split(" OR "):
        ev = ev.strip()
        if ev.startswith("UPDATE OF "):
            cols = [c.strip().strip('"') for c in ev[len("UPDATE OF ") :].split(",")]
            tb.attr("update_of", [_Raw(names.column_ref(tr.schema, tr.table, c, local=False)) for c in cols])
        else:
            tb.attr(ev.lower(), True)
    b.attr("for", _Raw(level))
    if when:
        b.attr("when", when)
    ex = b.block("execute")
    fname = func.strip()
    ref = fn_names.get(fname)
    ex.attr("function", _Raw(ref) if ref else fname)
    if args.strip():
        ex.attr("args", [a.strip() for a in _split_top(args)])
    if tr.enabled == "D":
        b.attr("enabled", False)
    if tr.comment is not None:
        b.attr("comment", tr.comment)
    return b


def sequence_block(seq: Sequence, names: _Names) -> Block:
    b = Block("sequence", (seq.name,))
    b.attr("schema", _schema_ref(seq.schema))
    o = seq.options
    if o.type != "bigint":
        b.attr("type", _Raw(o.type))
    if o.start != 1:
        b.attr("start", o.start)
    if o.increment != 1:
        b.attr("increment", o.increment)
    if o.min_value != 1:
        b.attr("min_value", o.min_value)
    if o.max_value != {"smallint": 32767, "integer": 2147483647}.get(o.type, 9223372036854775807):
        b.attr("max_value", o.max_value)
    if o.cache != 1:
        b.attr("cache", o.cache)
    if o.cycle:
        b.attr("cycle", True)
    if seq.owned_by is not None:
        b.attr("owner", _Raw(names.column_ref(*seq.owned_by, local=False)))
    if seq.comment is not None:
        b.attr("comment", seq.comment)
    return b


# --------------------------------------------------------------------------- whole catalog


def blocks(cat: Catalog) -> list[Block]:
    names = _Names(cat)
    out: list[Block] = []
    for e in cat.extensions:
        b = Block("extension", (e.name,))
        b.attr("schema", _schema_ref(e.schema))
        b.attr("version", e.version)
        b.attr("comment", e.comment)
        out.append(b)
    for en in cat.enums:
        b = Block("enum", (en.name,))
        b.attr("schema", _schema_ref(en.schema))
        b.attr("values", list(en.labels))
        b.attr("comment", en.comment)
        out.append(b)
    for d in cat.domains:
        b = Block("domain", (d.name,))
        b.attr("schema", _schema_ref(d.schema))
        b.attr("type", hcl_type(d.type, names))
        b.attr("null", not d.not_null)
        if d.default is not None:
            b.attr("default", hcl_default(d.default))
        if d.collation:
            b.attr("collate", d.collation.split(".", 1)[-1].strip('"'))
        for chk in d.checks:
            b.block("check", chk.name).attr("expr", _check_expr(chk.definition))
        b.attr("comment", d.comment)
        out.append(b)
    serials: dict[tuple[str, str, str], Sequence] = {}
    for s in cat.sequences:
        if s.owned_by is not None:
            serials[s.owned_by] = s
    shown_serials = set()
    for t in cat.tables:
        for c in t.columns:
            if _serial_of(t, c, serials):
                shown_serials.add((t.schema, t.name, c.name))
    for s in cat.sequences:
        if s.owned_by in shown_serials:
            continue  # Atlas prints serial columns, not their implicit sequences
        out.append(sequence_block(s, names))
    for t in cat.tables:
        out.append(table_block(t, names, serials))
    for v in cat.views:
        if not v.materialized:
            out.append(view_block(v, names))
    for v in cat.views:
        if v.materialized:
            out.append(view_block(v, names))
    fn_names: dict[str, str] = {}
    counts: dict[str, int] = {}
    for f in cat.functions:
        counts[f.name] = counts.get(f.name, 0) + 1
    for f in cat.functions:
        if counts[f.name] == 1 and f.kind != "procedure":
            for spelled in (f"{f.schema}.{f.name}", f.name):
                fn_names[spelled] = f"function{_ident_ref(f.name)}"
        out.append(function_block(f, names))
    for t in cat.tables:
        for tr in t.triggers:
            out.append(trigger_block(tr, names, fn_names))
    for v in cat.views:
        for tr in v.triggers:
            out.append(trigger_block(tr, names, fn_names))
    for t in cat.tables:
        for pol in t.policies:
            out.append(policy_block(pol, names))
    for comp in cat.composites:
        b = Block("composite", (comp.name,))
        b.attr("schema", _schema_ref(comp.schema))
        for fld in comp.fields:
            fb = b.block("field", fld.name)
            fb.attr("type", hcl_type(fld.type, names))
            if fld.collation:
                fb.attr("collate", fld.collation.split(".", 1)[-1].strip('"'))
        b.attr("comment", comp.comment)
        out.append(b)
    for r in cat.ranges:
        b = Block("range", (r.name,))
        b.attr("schema", _schema_ref(r.schema))
        b.attr("subtype", hcl_type(r.subtype, names))
        b.attr("subtype_opclass", r.subtype_opclass)
        b.attr("collate", r.collation)
        b.attr("canonical", r.canonical)
        b.attr("subtype_diff", r.subtype_diff)
        b.attr("multirange", r.multirange)
        b.attr("comment", r.comment)
        out.append(b)
    for sch in cat.schemas:
        b = Block("schema", (sch.name,))
        b.attr("comment", sch.comment)
        b.attr("owner", sch.owner)
        out.append(b)
    from .sql import standard_public

    for sch in cat.schemas:
        out += permission_blocks(_schema_ref(sch.name), [g for g in sch.privileges if not standard_public(sch, g)])
    for q in cat.sequences:
        out += permission_blocks(_Raw(f"sequence{_ident_ref(q.name)}"), q.privileges)
    for t in cat.tables:
        out += permission_blocks(_Raw(names.table_ref(t.schema, t.name)), t.privileges)
    for v in cat.views:
        out += permission_blocks(_Raw(names.table_ref(v.schema, v.name)), v.privileges)
    for f in cat.functions:
        out += permission_blocks(
            _Raw(f"{'procedure' if f.kind == 'procedure' else 'function'}{_ident_ref(f.name)}"), f.privileges
        )
    for dp in cat.default_privileges:
        for blk in permission_blocks(_Raw(dp.object_type), dp.privileges):
            blk.kind = "default_" + blk.kind
            blk.items.insert(0, ("role", dp.role))
            if dp.schema:
                blk.items.insert(1, ("schema", _schema_ref(dp.schema)))
            out.append(blk)
    return out


def render_hcl(cat: Catalog) -> str:
    """The whole catalog as Atlas-style HCL (deterministic: same schema, same bytes)."""
    return "\n".join(b.render() for b in blocks(cat)) + "\n"
