"""Runnable DDL from the catalog model.

``render_sql`` writes a script that recreates the schema on an empty
database, in dependency order: schemas, extensions, enums, domains,
composite and range types, sequences, functions that need no relation,
tables (partitions and INHERITS children after their parents; primary key,
unique, check and exclusion constraints inline), NOT VALID checks, foreign
keys, serial sequence ownership, indexes, views, materialized views and the
functions that read relations (in one topological order), triggers,
row-level security and policies, privileges and default privileges, owners
(when read), comments.

The per-object helpers (``create_table_sql`` …, ``add_column_sql`` …) are
public: the migration generator builds its statements from them.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..quoting import quote_ident, quote_literal
from .catalog import (
    Catalog,
    Check,
    Column,
    CompositeType,
    DefaultPrivilege,
    Domain,
    Enum,
    Exclusion,
    Extension,
    ForeignKey,
    Function,
    Grant,
    Index,
    Policy,
    PrimaryKey,
    RangeType,
    Schema,
    Sequence,
    SequenceOptions,
    Table,
    Trigger,
    Unique,
    View,
    qualify,
)

_TYPE_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}
# The standard comment of the public schema: not worth a statement.
_PUBLIC_COMMENT = "standard public schema"


# --------------------------------------------------------------------------- small pieces


def comment_sql(kind: str, target: str, comment: str | None) -> str:
    return f"COMMENT ON {kind} {target} IS {quote_literal(comment) if comment is not None else 'NULL'};"


def _object_comments(keyword: str, objects) -> list[str]:
    """COMMENT ON <keyword> for each schema object that has one, in the given order."""
    return [comment_sql(keyword, o.qualified, o.comment) for o in objects if o.comment is not None]


def sequence_options_sql(o: SequenceOptions, *, with_type: bool = True, only_non_default: bool = False) -> str:
    """START WITH … INCREMENT BY … (all of them, or only those differing from PostgreSQL's defaults)."""
    tmax = _TYPE_MAX.get(o.type, 9223372036854775807)
    asc = o.increment > 0
    dmin = 1 if asc else -tmax - 1
    dmax = tmax if asc else -1
    dstart = o.min_value if asc else o.max_value
    parts = []
    if with_type and not only_non_default:
        parts.append(f"AS {o.type}")
    checks = [
        ("START WITH", o.start, dstart),
        ("INCREMENT BY", o.increment, 1),
        ("MINVALUE", o.min_value, dmin),
        ("MAXVALUE", o.max_value, dmax),
        ("CACHE", o.cache, 1),
    ]
    for word, value, default in checks:
        if not only_non_default or value != default:
            parts.append(f"{word} {value}")
    if o.cycle:
        parts.append("CYCLE")
    elif not only_non_default:
        parts.append("NO CYCLE")
    return " ".join(parts)


def column_sql(col: Column) -> str:
    """One column definition as it appears in CREATE TABLE / ADD COLUMN."""
    out = [quote_ident(col.name), col.type]
    if col.collation:
        out.append(f"COLLATE {col.collation}")
    if col.identity is not None:
        opts = sequence_options_sql(col.identity.options, only_non_default=True)
        out.append(f"GENERATED {col.identity.generated} AS IDENTITY" + (f" ({opts})" if opts else ""))
    elif col.generated is not None:
        out.append(f"GENERATED ALWAYS AS ({col.generated}) {col.generated_kind or 'STORED'}")
    elif col.default is not None:
        out.append(f"DEFAULT {col.default}")
    if not col.nullable:
        out.append("NOT NULL")
    return " ".join(out)


def constraint_sql(con: PrimaryKey | Unique | Check | Exclusion | ForeignKey) -> str:
    return f"CONSTRAINT {quote_ident(con.name)} {con.definition}"


def _inline_checks(table: Table) -> list[Check]:
    # CREATE TABLE validates every check: a NOT VALID one is added afterwards.
    return [c for c in table.checks if c.valid]


# --------------------------------------------------------------------------- CREATE


def create_schema_sql(schema: Schema) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema.name)};"


def create_extension_sql(ext: Extension) -> str:
    return (
        f"CREATE EXTENSION IF NOT EXISTS {quote_ident(ext.name)} WITH SCHEMA {quote_ident(ext.schema)}"
        f" VERSION {quote_literal(ext.version)};"
    )


def create_enum_sql(enum: Enum) -> str:
    labels = ", ".join(quote_literal(x) for x in enum.labels)
    return f"CREATE TYPE {enum.qualified} AS ENUM ({labels});"


def add_enum_value_sql(enum: Enum, label: str, *, after: str | None = None) -> str:
    where = f" AFTER {quote_literal(after)}" if after is not None else ""
    return f"ALTER TYPE {enum.qualified} ADD VALUE {quote_literal(label)}{where};"


def create_domain_sql(dom: Domain) -> str:
    out = [f"CREATE DOMAIN {dom.qualified} AS {dom.type}"]
    if dom.collation:
        out.append(f"COLLATE {dom.collation}")
    if dom.default is not None:
        out.append(f"DEFAULT {dom.default}")
    if dom.not_null:
        out.append("NOT NULL")
    for c in dom.checks:
        out.append(f"CONSTRAINT {quote_ident(c.name)} {c.definition}")
    return " ".join(out) + ";"


def create_sequence_sql(seq: Sequence) -> str:
    return f"CREATE SEQUENCE {seq.qualified} {sequence_options_sql(seq.options)};"


def sequence_owned_by_sql(seq: Sequence) -> str | None:
    if seq.owned_by is None:
        return None
    sch, tab, col = seq.owned_by
    return f"ALTER SEQUENCE {seq.qualified} OWNED BY {qualify(sch, tab)}.{quote_ident(col)};"


def create_function_sql(fn: Function) -> str:
    return fn.definition.rstrip().rstrip(";") + ";"


def create_table_sql(table: Table, *, indent: str = "    ") -> str:
    """CREATE TABLE with columns and the primary key, unique, valid check and exclusion constraints.

    Foreign keys, NOT VALID checks, indexes, triggers and comments are separate
    statements (``add_foreign_key_sql``, ``create_index_sql`` …) so tables can
    be created in any order.
    """
    prefix = "CREATE UNLOGGED TABLE" if table.unlogged else "CREATE TABLE"
    if table.partition_of is not None:
        parent = qualify(*table.partition_of)
        return f"{prefix} {table.qualified} PARTITION OF {parent} {table.partition_bound or 'DEFAULT'};"
    # Columns a parent gives come with INHERITS.
    items = [column_sql(c) for c in table.columns if not (c.inherited and table.inherits)]
    if table.primary_key is not None:
        items.append(constraint_sql(table.primary_key))
    items += [constraint_sql(u) for u in table.uniques]
    items += [constraint_sql(c) for c in _inline_checks(table)]
    items += [constraint_sql(x) for x in table.exclusions]
    body = ",\n".join(indent + i for i in items)
    text = f"{prefix} {table.qualified} (\n{body}\n)" if items else f"{prefix} {table.qualified} ()"
    if table.inherits:
        text += f" INHERITS ({', '.join(qualify(*p) for p in table.inherits)})"
    if table.partition_key:
        text += f" PARTITION BY {table.partition_key}"
    return text + ";"


def table_extra_constraints_sql(table: Table) -> list[str]:
    """Statements for a table's constraints that CREATE TABLE cannot carry.

    Those are NOT VALID checks and the local constraints of partitions.
    """
    out = []
    if table.partition_of is not None:
        if table.primary_key is not None:
            out.append(add_constraint_sql(table, table.primary_key))
        out += [add_constraint_sql(table, u) for u in table.uniques]
        out += [add_constraint_sql(table, c) for c in table.checks]
        out += [add_constraint_sql(table, x) for x in table.exclusions]
    else:
        out += [add_constraint_sql(table, c) for c in table.checks if not c.valid]
    return out


def add_constraint_sql(table: Table, con: PrimaryKey | Unique | Check | Exclusion | ForeignKey) -> str:
    return f"ALTER TABLE {table.qualified} ADD {constraint_sql(con)};"


def add_foreign_key_sql(table: Table, fk: ForeignKey) -> str:
    return add_constraint_sql(table, fk)


def create_index_sql(index: Index) -> str:
    # pg_get_indexdef says "ON ONLY" for an index of a partitioned table; we
    # want it to cascade to the partitions, as the original CREATE INDEX did.
    return index.definition.replace(" ON ONLY ", " ON ", 1) + ";"


def create_view_sql(view: View) -> str:
    body = view.definition.strip().rstrip(";").strip()
    if view.materialized:
        return f"CREATE MATERIALIZED VIEW {view.qualified} AS\n{body};"
    opts = f" WITH ({', '.join(view.options)})" if view.options else ""
    return f"CREATE VIEW {view.qualified}{opts} AS\n{body};"


def create_trigger_sql(trigger: Trigger) -> list[str]:
    out = [trigger.definition.rstrip(";") + ";"]
    state = {"D": "DISABLE TRIGGER", "R": "ENABLE REPLICA TRIGGER", "A": "ENABLE ALWAYS TRIGGER"}.get(trigger.enabled)
    if state:
        out.append(f"ALTER TABLE {qualify(trigger.schema, trigger.table)} {state} {quote_ident(trigger.name)};")
    return out


def create_composite_sql(ct: CompositeType) -> str:
    fields = ", ".join(
        f"{quote_ident(f.name)} {f.type}" + (f" COLLATE {f.collation}" if f.collation else "") for f in ct.fields
    )
    return f"CREATE TYPE {ct.qualified} AS ({fields});"


def create_range_sql(rt: RangeType) -> str:
    opts = [f"SUBTYPE = {rt.subtype}"]
    if rt.subtype_opclass:
        opts.append(f"SUBTYPE_OPCLASS = {rt.subtype_opclass}")
    if rt.collation:
        opts.append(f"COLLATION = {rt.collation}")
    if rt.canonical:
        opts.append(f"CANONICAL = {rt.canonical}")
    if rt.subtype_diff:
        opts.append(f"SUBTYPE_DIFF = {rt.subtype_diff}")
    if rt.multirange:
        opts.append(f"MULTIRANGE_TYPE_NAME = {qualify(rt.schema, rt.multirange)}")
    return f"CREATE TYPE {rt.qualified} AS RANGE ({', '.join(opts)});"


def _role(name: str) -> str:
    return "PUBLIC" if name == "PUBLIC" else quote_ident(name)


def grant_sql(on: str, g: Grant) -> str:
    """The statement that makes the grant true: GRANT, or REVOKE for a revoked default."""
    if g.revoked:
        return f"REVOKE {g.privilege} ON {on} FROM {_role(g.grantee)};"
    return f"GRANT {g.privilege} ON {on} TO {_role(g.grantee)}{' WITH GRANT OPTION' if g.grantable else ''};"


def ungrant_sql(on: str, g: Grant) -> str:
    """The statement that undoes the grant: REVOKE, or GRANT back a revoked default."""
    if g.revoked:
        return f"GRANT {g.privilege} ON {on} TO {_role(g.grantee)}{' WITH GRANT OPTION' if g.grantable else ''};"
    return f"REVOKE {g.privilege} ON {on} FROM {_role(g.grantee)};"


def privileges_sql(on: str, grants: Iterable[Grant]) -> list[str]:
    # Revoked defaults first: a later GRANT of the same privilege is not undone by them.
    return [grant_sql(on, g) for g in sorted(grants, key=lambda g: (not g.revoked,))]


def default_privilege_sql(role: str, schema: str | None, object_type: str, g: Grant, *, undo: bool = False) -> str:
    head = f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_ident(role)}"
    if schema:
        head += f" IN SCHEMA {quote_ident(schema)}"
    give = g.revoked == undo
    if give:
        return (
            f"{head} GRANT {g.privilege} ON {object_type} TO {_role(g.grantee)}"
            f"{' WITH GRANT OPTION' if g.grantable else ''};"
        )
    return f"{head} REVOKE {g.privilege} ON {object_type} FROM {_role(g.grantee)};"


def default_privileges_sql(dp: DefaultPrivilege) -> list[str]:
    return [default_privilege_sql(dp.role, dp.schema, dp.object_type, g) for g in dp.privileges]


def create_policy_sql(p: Policy) -> str:
    out = [f"CREATE POLICY {quote_ident(p.name)} ON {qualify(p.schema, p.table)}"]
    if not p.permissive:
        out.append("AS RESTRICTIVE")
    if p.command != "ALL":
        out.append(f"FOR {p.command}")
    if tuple(p.roles) != ("PUBLIC",):
        out.append("TO " + ", ".join(_role(r) for r in p.roles))
    if p.using is not None:
        out.append(f"USING ({p.using})")
    if p.check is not None:
        out.append(f"WITH CHECK ({p.check})")
    return " ".join(out) + ";"


def drop_policy_sql(p: Policy) -> str:
    return f"DROP POLICY {quote_ident(p.name)} ON {qualify(p.schema, p.table)};"


def row_security_sql(table: Table, *, enabled: bool | None = None, forced: bool | None = None) -> list[str]:
    """ENABLE/DISABLE and FORCE/NO FORCE ROW LEVEL SECURITY (only the given switches)."""
    out = []
    if enabled is not None:
        out.append(f"ALTER TABLE {table.qualified} {'ENABLE' if enabled else 'DISABLE'} ROW LEVEL SECURITY;")
    if forced is not None:
        out.append(f"ALTER TABLE {table.qualified} {'FORCE' if forced else 'NO FORCE'} ROW LEVEL SECURITY;")
    return out


def table_security_sql(table: Table) -> list[str]:
    """What a new table needs after CREATE TABLE: RLS switches, policies, grants."""
    out = row_security_sql(
        table, enabled=True if table.rls_enabled else None, forced=True if table.rls_forced else None
    )
    out += [create_policy_sql(p) for p in table.policies]
    return out


def owner_sql(kind: str, target: str, owner: str) -> str:
    return f"ALTER {kind} {target} OWNER TO {quote_ident(owner)};"


# --------------------------------------------------------------------------- ALTER / DROP (for generated migrations)


def add_column_sql(table: Table, col: Column) -> str:
    return f"ALTER TABLE {table.qualified} ADD COLUMN {column_sql(col)};"


def drop_column_sql(table: Table, name: str) -> str:
    return f"ALTER TABLE {table.qualified} DROP COLUMN {quote_ident(name)};"


def alter_column_type_sql(table: Table, col: Column) -> str:
    coll = f" COLLATE {col.collation}" if col.collation else ""
    return f"ALTER TABLE {table.qualified} ALTER COLUMN {quote_ident(col.name)} TYPE {col.type}{coll};"


def alter_column_null_sql(table: Table, col: Column) -> str:
    action = "DROP NOT NULL" if col.nullable else "SET NOT NULL"
    return f"ALTER TABLE {table.qualified} ALTER COLUMN {quote_ident(col.name)} {action};"


def alter_column_default_sql(table: Table, col: Column) -> str:
    action = f"SET DEFAULT {col.default}" if col.default is not None else "DROP DEFAULT"
    return f"ALTER TABLE {table.qualified} ALTER COLUMN {quote_ident(col.name)} {action};"


def drop_constraint_sql(table: Table, name: str) -> str:
    return f"ALTER TABLE {table.qualified} DROP CONSTRAINT {quote_ident(name)};"


def drop_table_sql(table: Table) -> str:
    return f"DROP TABLE {table.qualified};"


def drop_index_sql(index: Index) -> str:
    return f"DROP INDEX {index.qualified};"


def drop_view_sql(view: View) -> str:
    kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
    return f"DROP {kind} {view.qualified};"


def drop_function_sql(fn: Function) -> str:
    return f"DROP {fn.kind.upper() if fn.kind == 'procedure' else 'FUNCTION'} {fn.signature};"


def drop_trigger_sql(trigger: Trigger) -> str:
    return f"DROP TRIGGER {quote_ident(trigger.name)} ON {qualify(trigger.schema, trigger.table)};"


def drop_sequence_sql(seq: Sequence) -> str:
    return f"DROP SEQUENCE {seq.qualified};"


def drop_type_sql(obj: Enum | Domain | CompositeType | RangeType) -> str:
    return f"DROP {'DOMAIN' if isinstance(obj, Domain) else 'TYPE'} {obj.qualified};"


# --------------------------------------------------------------------------- comments


def table_comments_sql(table: Table) -> list[str]:
    out = []
    if table.comment is not None:
        out.append(comment_sql("TABLE", table.qualified, table.comment))
    for c in table.columns:
        if c.comment is not None:
            out.append(comment_sql("COLUMN", f"{table.qualified}.{quote_ident(c.name)}", c.comment))
    cons: list = (
        ([table.primary_key] if table.primary_key else [])
        + list(table.uniques)
        + list(table.checks)
        + list(table.exclusions)
        + list(table.foreign_keys)
    )
    for con in cons:
        if con.comment is not None:
            out.append(comment_sql("CONSTRAINT", f"{quote_ident(con.name)} ON {table.qualified}", con.comment))
    for i in table.indexes:
        if i.comment is not None:
            out.append(comment_sql("INDEX", i.qualified, i.comment))
    for t in table.triggers:
        if t.comment is not None:
            out.append(comment_sql("TRIGGER", f"{quote_ident(t.name)} ON {table.qualified}", t.comment))
    for p in table.policies:
        if p.comment is not None:
            out.append(comment_sql("POLICY", f"{quote_ident(p.name)} ON {table.qualified}", p.comment))
    return out


def view_comments_sql(view: View) -> list[str]:
    out = []
    if view.comment is not None:
        out.append(comment_sql("MATERIALIZED VIEW" if view.materialized else "VIEW", view.qualified, view.comment))
    for c in view.columns:
        if c.comment is not None:
            out.append(comment_sql("COLUMN", f"{view.qualified}.{quote_ident(c.name)}", c.comment))
    for i in view.indexes:
        if i.comment is not None:
            out.append(comment_sql("INDEX", i.qualified, i.comment))
    for t in view.triggers:
        if t.comment is not None:
            out.append(comment_sql("TRIGGER", f"{quote_ident(t.name)} ON {view.qualified}", t.comment))
    return out


def function_comment_sql(fn: Function) -> str | None:
    if fn.comment is None:
        return None
    return comment_sql("PROCEDURE" if fn.kind == "procedure" else "FUNCTION", fn.signature, fn.comment)


# --------------------------------------------------------------------------- ordering


def table_order(tables: Iterable[Table]) -> list[Table]:
    """Parents before their partitions, otherwise catalog order."""
    tables = list(tables)
    by_key = {(t.schema, t.name): t for t in tables}
    done: set[tuple[str, str]] = set()
    out: list[Table] = []

    def visit(t: Table, seen: frozenset) -> None:
        key = (t.schema, t.name)
        if key in done or key in seen:
            return
        for parent in ((t.partition_of,) if t.partition_of else ()) + tuple(t.inherits):
            if parent in by_key:
                visit(by_key[parent], seen | {key})
        done.add(key)
        out.append(t)

    for t in tables:
        visit(t, frozenset())
    return out


def late_order(views: list[View], functions: list[Function]) -> list[View | Function]:
    """Views and relation-reading functions in one dependency order (stable otherwise)."""
    nodes: dict[str, View | Function] = {}
    for v in views:
        nodes["r:" + v.schema + "." + v.name] = v
    for f in functions:
        nodes["f:" + f.signature] = f

    def deps(obj: View | Function) -> list[str]:
        if isinstance(obj, View):
            return ["r:" + s + "." + n for s, n in obj.depends_on] + ["f:" + s for s in obj.uses_functions]
        return ["r:" + s + "." + n for s, n in obj.depends_on]

    out: list[View | Function] = []
    state: dict[str, int] = {}

    def visit(key: str) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:  # a cycle cannot be created anyway; keep going
            return
        state[key] = 1
        for d in deps(nodes[key]):
            if d in nodes:
                visit(d)
        state[key] = 2
        out.append(nodes[key])

    for key in nodes:
        visit(key)
    return out


def _late_functions(cat: Catalog) -> tuple[list[Function], list[Function]]:
    early: list[Function] = []
    late: list[Function] = []
    for f in cat.functions:
        (late if f.depends_on else early).append(f)
    return early, late


# --------------------------------------------------------------------------- whole catalog


def sql_statements(cat: Catalog) -> list[str]:
    """Every statement of the recreate script, in dependency order."""
    out: list[str] = []
    # Bodies of functions created before the tables they use are not checked.
    out.append("SET check_function_bodies = false;")
    out += [create_schema_sql(s) for s in cat.schemas]
    out += [create_extension_sql(e) for e in cat.extensions]
    out += [create_enum_sql(e) for e in cat.enums]
    out += [create_domain_sql(d) for d in cat.domains]
    out += [create_composite_sql(c) for c in cat.composites]
    out += [create_range_sql(r) for r in cat.ranges]
    out += [create_sequence_sql(s) for s in cat.sequences]
    early, late = _late_functions(cat)
    out += [create_function_sql(f) for f in early]
    tables = table_order(cat.tables)
    out += [create_table_sql(t) for t in tables]
    for t in tables:
        out += table_extra_constraints_sql(t)
    for t in tables:
        out += [add_foreign_key_sql(t, fk) for fk in t.foreign_keys]
    out += [x for x in (sequence_owned_by_sql(s) for s in cat.sequences) if x]
    for t in tables:
        out += [create_index_sql(i) for i in t.indexes]
    for obj in late_order(list(cat.views), late):
        if isinstance(obj, View):
            out.append(create_view_sql(obj))
            out += [create_index_sql(i) for i in obj.indexes]
        else:
            out.append(create_function_sql(obj))
    for t in tables:
        for tr in t.triggers:
            out += create_trigger_sql(tr)
    for v in cat.views:
        for tr in v.triggers:
            out += create_trigger_sql(tr)
    for t in tables:
        out += table_security_sql(t)
    out += security_statements(cat)
    # comments
    for s in cat.schemas:
        if s.comment is not None and not (s.name == "public" and s.comment == _PUBLIC_COMMENT):
            out.append(comment_sql("SCHEMA", quote_ident(s.name), s.comment))
    out += _object_comments("TYPE", cat.enums)
    out += _object_comments("DOMAIN", cat.domains)
    out += _object_comments("SEQUENCE", cat.sequences)
    for f in cat.functions:
        c = function_comment_sql(f)
        if c:
            out.append(c)
    out += _object_comments("TYPE", cat.composites)
    out += _object_comments("TYPE", cat.ranges)
    for t in tables:
        out += table_comments_sql(t)
    for v in cat.views:
        out += view_comments_sql(v)
    return out


def standard_public(s: Schema, g: Grant) -> bool:
    # Every database since PostgreSQL 15 has USAGE on schema public for PUBLIC.
    return s.name == "public" and g == Grant("PUBLIC", "USAGE")


def security_statements(cat: Catalog) -> list[str]:
    """GRANT/REVOKE on every object, default privileges, then owners (when the catalog has them)."""
    out: list[str] = []
    for s in cat.schemas:
        out += privileges_sql(f"SCHEMA {quote_ident(s.name)}", [g for g in s.privileges if not standard_public(s, g)])
    for q in cat.sequences:
        out += privileges_sql(f"SEQUENCE {q.qualified}", q.privileges)
    for t in cat.tables:
        out += privileges_sql(f"TABLE {t.qualified}", t.privileges)
    for v in cat.views:
        out += privileges_sql(f"TABLE {v.qualified}", v.privileges)
    for f in cat.functions:
        out += privileges_sql(f"{'PROCEDURE' if f.kind == 'procedure' else 'FUNCTION'} {f.signature}", f.privileges)
    for dp in cat.default_privileges:
        out += default_privileges_sql(dp)
    owned = (
        [("SCHEMA", quote_ident(s.name), s.owner) for s in cat.schemas if s.name != "public"]
        + [("TYPE", x.qualified, x.owner) for x in cat.enums]
        + [("TYPE", x.qualified, x.owner) for x in cat.composites]
        + [("TYPE", x.qualified, x.owner) for x in cat.ranges]
        + [("DOMAIN", d.qualified, d.owner) for d in cat.domains]
        + [("SEQUENCE", q.qualified, q.owner) for q in cat.sequences if q.owned_by is None]
        + [("TABLE", t.qualified, t.owner) for t in cat.tables]
        + [("MATERIALIZED VIEW" if v.materialized else "VIEW", v.qualified, v.owner) for v in cat.views]
        + [("PROCEDURE" if f.kind == "procedure" else "FUNCTION", f.signature, f.owner) for f in cat.functions]
    )
    out += [owner_sql(k, target, o) for k, target, o in owned if o]
    return out


def render_sql(cat: Catalog) -> str:
    """A runnable script that recreates the catalog's schema on an empty database."""
    header = f"-- Schema of database {cat.database!r}" if cat.database else "-- Schema"
    return header + " (dbstack db-inspect-sql)\n" + "\n".join(sql_statements(cat)) + "\n"
