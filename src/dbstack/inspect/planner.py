"""From catalog differences to migration DDL (genmigrate's planner).

``plan(desired, actual)`` diffs two catalogs of one layer (``inspect.diff``)
and returns the statements that turn *actual* (the layer's migrations
replayed) into *desired* (the layer's schema files loaded), in an order that
works: drops of dependents first (views, triggers, foreign keys, indexes,
constraints), then schemas, types, sequences, plain functions, tables and
columns, constraints, foreign keys, indexes, views and relation-reading
functions, triggers, row-level security and policies, privileges, owners,
comments. Every CREATE text comes from the inspection helpers
(``inspect.sql``); the ALTERs are written here.

``plan`` works in either direction: genmigrate and ``migrate-diff`` plan the
replayed migrations towards a desired schema; ``db-drift --sql`` plans the
live database back towards its migrations. ``plan_partial`` returns what
cannot be written instead of raising.

Changes with no safe statement (an enum label removed or reordered, a domain
or an extension changed, a partitioning change) raise :class:`Unsupported`
listing them: write that migration by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import MigrationError
from ..quoting import quote_ident, quote_literal
from . import sql as S
from .catalog import (
    Catalog,
    Column,
    Enum,
    Function,
    Index,
    Policy,
    Sequence,
    SequenceOptions,
    Table,
    Trigger,
    View,
    qualify,
)
from .diff import Change, diff


class Unsupported(MigrationError):
    """The desired schema needs a change genmigrate cannot write safely."""


@dataclass(frozen=True)
class Step:
    comment: str
    sql: str


# Phases, in execution order.
(
    DROP_POLICIES,
    DROP_VIEWS,
    DROP_TRIGGERS,
    DROP_FKS,
    DROP_INDEXES,
    DROP_CONSTRAINTS,
    DROP_TABLES,
    DROP_COLUMNS,
    DROP_FUNCS,
    DROP_TYPES,
    SCHEMAS,
    EXTENSIONS,
    TYPES,
    SEQUENCES,
    EARLY_FUNCS,
    TABLES,
    COLUMNS,
    COLUMN_DEFAULTS,
    COLUMN_NULLS,
    CONSTRAINTS,
    FKS,
    OWNED,
    INDEXES,
    LATE,
    TRIGGERS,
    RLS,
    POLICIES,
    REVOKES,
    GRANTS,
    OWNERS,
    COMMENTS,
) = range(31)


@dataclass
class Plan:
    steps: dict[int, list[Step]] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)
    late: list[tuple[Any, list[Step]]] = field(default_factory=list)  # views / functions in dependency order
    # Objects already re-planned whole: several changed attributes of one policy, trigger, constraint
    # or function give one drop-and-create, not one each.
    replanned: set[str] = field(default_factory=set)

    def first_time(self, key: str) -> bool:
        """True the first time an object is re-planned whole; False after."""
        if key in self.replanned:
            return False
        self.replanned.add(key)
        return True

    def add(self, phase: int, comment: str, *sql: str) -> None:
        for s in sql:
            self.steps.setdefault(phase, []).append(Step(comment, s))

    def statements(self) -> list[Step]:
        out: list[Step] = []
        for phase in sorted(self.steps):
            if phase == LATE:
                continue
            if phase > LATE and self.late:
                out += self._late_steps()
                self.late = []
            out += self.steps[phase]
        if self.late:
            out += self._late_steps()
        return out

    def _late_steps(self) -> list[Step]:
        objs = [o for o, _ in self.late]
        views = [o for o in objs if isinstance(o, View)]
        funcs = [o for o in objs if isinstance(o, Function)]
        order = S.late_order(views, funcs)
        by_id = {id(o): steps for o, steps in self.late}
        out: list[Step] = []
        for o in order:
            out += by_id[id(o)]
        return out


def render(steps: Iterable[Step]) -> str:
    """The migration file: Atlas's layout, a comment line then the statement."""
    return "".join(f"-- {s.comment}\n{s.sql}\n" for s in steps)


def _q(name: str) -> str:
    return quote_ident(name)


# --------------------------------------------------------------------------- planning


def plan(desired: Catalog, actual: Catalog, changes: list[Change] | None = None) -> list[Step]:
    """The statements that turn actual into desired; Unsupported when some change cannot be written."""
    steps, unsupported = plan_partial(desired, actual, changes)
    if unsupported:
        raise Unsupported(
            "genmigrate cannot write these changes safely:\n" + "\n".join(f"  - {u}" for u in unsupported),
            "write this part of the migration by hand (a new file in the layer's directory, then re-hash)",
        )
    return steps


def _on(obj: Any) -> str | None:
    """An object as GRANT names it (None: no privileges of its own here)."""
    from .catalog import Schema

    if isinstance(obj, Schema):
        return f"SCHEMA {_q(obj.name)}"
    if isinstance(obj, (Table, View)):
        return f"TABLE {obj.qualified}"
    if isinstance(obj, Sequence):
        return f"SEQUENCE {obj.qualified}"
    if isinstance(obj, Function):
        return f"{'PROCEDURE' if obj.kind == 'procedure' else 'FUNCTION'} {obj.signature}"
    return None


_OWNER_KIND = {
    "schema": "SCHEMA",
    "enum": "TYPE",
    "domain": "DOMAIN",
    "composite type": "TYPE",
    "range type": "TYPE",
    "sequence": "SEQUENCE",
    "table": "TABLE",
    "view": "VIEW",
    "materialized view": "MATERIALIZED VIEW",
    "function": "FUNCTION",
    "procedure": "PROCEDURE",
}


def _owner_target(object_type: str, obj: Any) -> str:
    if object_type == "schema":
        return _q(obj.name)
    if object_type in ("function", "procedure"):
        return obj.signature
    return obj.qualified


def _security_of_new(p: Plan, c: Change) -> None:
    """Grants and owner of an object the plan creates (they come with it, not as changes of their own)."""
    obj = c.desired
    on = _on(obj)
    if on is not None and getattr(obj, "privileges", None):
        for stmt in S.privileges_sql(on, obj.privileges):
            p.add(GRANTS, f'Grant privileges on {c.object_type} "{obj.name}"', stmt)
    if getattr(obj, "owner", None) and c.object_type in _OWNER_KIND:
        p.add(
            OWNERS,
            f'Set owner of {c.object_type} "{obj.name}"',
            S.owner_sql(_OWNER_KIND[c.object_type], _owner_target(c.object_type, obj), obj.owner),
        )


def plan_partial(
    desired: Catalog, actual: Catalog, changes: list[Change] | None = None, *, recreate_enums: bool = False
) -> tuple[list[Step], list[str]]:
    """(statements, changes that cannot be written) for turning actual into desired.

    recreate_enums: an enum whose labels were removed or reordered is rebuilt
    (renamed, created anew, its columns converted through text, the old one
    dropped) — it fails on rows holding a removed label, so only for SQL a
    person reviews and runs (db-drift --sql), never for generated migrations.
    """
    changes = diff(desired, actual) if changes is None else changes
    # New tables in creation order: partitions and INHERITS children after their parents.
    slots = [i for i, c in enumerate(changes) if c.object_type == "table" and c.kind == "missing"]
    if len(slots) > 1:
        by_key = {(changes[i].desired.schema, changes[i].desired.name): changes[i] for i in slots}
        ordered = [by_key[(t.schema, t.name)] for t in S.table_order(c.desired for c in by_key.values())]
        changes = list(changes)
        for i, c in zip(slots, ordered, strict=True):  # one change per missing table
            changes[i] = c
    p = Plan()
    dt = desired.tables_by_key()
    at = actual.tables_by_key()
    dv = {(v.schema, v.name): v for v in desired.views}
    av = {(v.schema, v.name): v for v in actual.views}
    dfn = {f"{f.schema}.{f.name}({f.arguments})": f for f in desired.functions}
    afn = {f"{f.schema}.{f.name}({f.arguments})": f for f in actual.functions}
    replaced_views: set[tuple[str, str]] = set()
    handled_cols: set[tuple[str, str, str]] = set()
    dfn_objs = {f"{f.schema}.{f.name}({f.arguments})": f for f in desired.functions}

    for c in changes:
        t = c.object_type
        if c.kind == "missing":
            _security_of_new(p, c)
        if c.kind == "changed" and c.attribute == "owner" and t in _OWNER_KIND:
            if c.desired is None:
                p.unsupported.append(f"{t} {c.name}: owner cannot be unset")
                continue
            if t in ("function", "procedure"):
                target = dfn_objs[c.name].signature
            elif t == "schema":
                target = _q(c.name)
            else:
                target = qualify(*c.name.split(".", 1))
            p.add(OWNERS, f'Set owner of {t} "{c.name}"', S.owner_sql(_OWNER_KIND[t], target, c.desired))
            continue
        if t == "privilege":
            if c.kind == "missing":
                p.add(
                    REVOKES if c.desired.grant.revoked else GRANTS,
                    f"Grant on {c.desired.label}",
                    S.grant_sql(c.desired.on, c.desired.grant),
                )
            else:
                p.add(
                    GRANTS if c.actual.grant.revoked else REVOKES,
                    f"Revoke on {c.actual.label}",
                    S.ungrant_sql(c.actual.on, c.actual.grant),
                )
            continue
        if t == "default privilege":
            item = c.desired if c.kind == "missing" else c.actual
            p.add(
                GRANTS,
                f"Default privileges {item.label}",
                S.default_privilege_sql(item.role, item.schema, item.object_type, item.grant, undo=c.kind == "extra"),
            )
            continue
        if t == "policy":
            _policy(p, c, dt, at)
            continue
        if t == "composite type":
            _composite(p, c, desired)
            continue
        if t == "range type":
            if _type_created_or_dropped(p, c, "range type", S.create_range_sql):
                continue
            if c.attribute == "comment":
                p.add(
                    COMMENTS,
                    f'Set comment on range type "{c.name}"',
                    S.comment_sql("TYPE", qualify(*c.name.split(".", 1)), c.desired),
                )
            else:
                p.unsupported.append(f"range type {c.name}: {c.attribute} changed")
            continue
        if t == "schema":
            _schema(p, c)
        elif t == "extension":
            if c.kind == "missing":
                p.add(EXTENSIONS, f'Add extension "{c.desired.name}"', S.create_extension_sql(c.desired))
            elif c.kind == "extra":
                p.add(DROP_TYPES, f'Drop extension "{c.actual.name}"', f"DROP EXTENSION {_q(c.actual.name)};")
            else:
                p.unsupported.append(f"extension {c.name}: {c.attribute} changed")
        elif t == "enum":
            _enum(p, c, desired, actual if recreate_enums else None)
        elif t == "domain":
            if c.kind == "missing":
                p.add(TYPES, f'Create domain "{c.desired.name}"', S.create_domain_sql(c.desired))
            elif c.kind == "extra":
                p.add(DROP_TYPES, f'Drop domain "{c.actual.name}"', S.drop_type_sql(c.actual))
            elif c.attribute == "comment":
                p.add(
                    COMMENTS,
                    f'Set comment on domain "{c.desired.name}"',
                    S.comment_sql("DOMAIN", c.desired.qualified, c.desired.comment),
                )
            else:
                p.unsupported.append(f"domain {c.name}: {c.attribute} changed")
        elif t == "sequence":
            _sequence(p, c)
        elif t == "table":
            if c.kind == "missing":
                _create_table(p, c.desired)
            elif c.kind == "extra":
                if c.actual.partition_of is not None and c.actual.partition_of not in dt:
                    continue  # dropped with its partitioned parent
                # An INHERITS child before its parent (DROP_CONSTRAINTS runs just before DROP_TABLES).
                p.add(
                    DROP_CONSTRAINTS if c.actual.inherits else DROP_TABLES,
                    f'Drop "{c.actual.name}" table',
                    S.drop_table_sql(c.actual),
                )
            else:
                _table_attr(p, c, dt, at)
        elif t == "column":
            _column(p, c, dt, at, handled_cols)
        elif t in ("primary key", "unique", "check", "exclusion", "foreign key"):
            _constraint(p, c, dt, at)
        elif t == "index":
            _index(p, c, dt, at, dv, av)
        elif t == "trigger":
            _trigger(p, c, dt, dv, at, av)
        elif t in ("view", "materialized view"):
            _view(p, c, dv, av, replaced_views)
        elif t in ("function", "procedure"):
            _function(p, c, dfn, afn)
        else:
            p.unsupported.append(f"{t} {c.name}: {c.kind}")
    return p.statements(), p.unsupported


def _policy(p: Plan, c: Change, dt: dict, at: dict) -> None:
    if c.kind == "missing":
        if c.table not in at:
            return  # created with its table
        pol: Policy = c.desired
        p.add(POLICIES, f'Create policy "{pol.name}"', S.create_policy_sql(pol))
        if pol.comment is not None:
            p.add(
                COMMENTS,
                f'Set comment on policy "{pol.name}"',
                S.comment_sql("POLICY", f"{_q(pol.name)} ON {qualify(pol.schema, pol.table)}", pol.comment),
            )
        return
    if c.kind == "extra":
        if c.table in dt:
            p.add(DROP_POLICIES, f'Drop policy "{c.actual.name}"', S.drop_policy_sql(c.actual))
        return
    name = c.name.rsplit(".", 1)[-1]
    want = next(x for x in dt[c.table].policies if x.name == name)
    have = next(x for x in at[c.table].policies if x.name == name)
    if c.attribute == "comment":
        p.add(
            COMMENTS,
            f'Set comment on policy "{name}"',
            S.comment_sql("POLICY", f"{_q(name)} ON {qualify(want.schema, want.table)}", want.comment),
        )
        return
    if not p.first_time(f"policy {want.schema}.{want.table}.{name}"):
        return
    # ALTER POLICY cannot change the command or AS RESTRICTIVE: drop and create.
    p.add(DROP_POLICIES, f'Drop policy "{name}"', S.drop_policy_sql(have))
    p.add(POLICIES, f'Create policy "{name}"', S.create_policy_sql(want))
    if want.comment is not None:
        p.add(
            COMMENTS,
            f'Set comment on policy "{name}"',
            S.comment_sql("POLICY", f"{_q(name)} ON {qualify(want.schema, want.table)}", want.comment),
        )


def _type_created_or_dropped(p: Plan, c: Change, kind: str, create_sql: Callable[[Any], str]) -> bool:
    """A type of one kind (enum, composite, range) created with its comment, or dropped; False for a change."""
    if c.kind == "missing":
        new = c.desired
        p.add(TYPES, f'Create {kind} "{new.name}"', create_sql(new))
        if new.comment is not None:
            p.add(COMMENTS, f'Set comment on {kind} "{new.name}"', S.comment_sql("TYPE", new.qualified, new.comment))
        return True
    if c.kind == "extra":
        p.add(DROP_TYPES, f'Drop {kind} "{c.actual.name}"', S.drop_type_sql(c.actual))
        return True
    return False


def _composite(p: Plan, c: Change, desired: Catalog) -> None:
    if _type_created_or_dropped(p, c, "composite type", S.create_composite_sql):
        return
    target = qualify(*c.name.split(".", 1))
    if c.attribute == "comment":
        p.add(COMMENTS, f'Set comment on composite type "{c.name}"', S.comment_sql("TYPE", target, c.desired))
        return
    if c.attribute != "fields":
        p.unsupported.append(f"composite type {c.name}: {c.attribute} changed")
        return
    want = {f.name: f for f in c.desired}
    have = {f.name: f for f in c.actual}
    if [f for f in have if f in want] != [f for f in want if f in have]:
        p.unsupported.append(f"composite type {c.name}: attributes reordered")
        return
    actions = [f"DROP ATTRIBUTE {_q(n)}" for n in have if n not in want]
    for n, f in want.items():
        coll = f" COLLATE {f.collation}" if f.collation else ""
        if n not in have:
            actions.append(f"ADD ATTRIBUTE {_q(n)} {f.type}{coll}")
        elif have[n] != f:
            actions.append(f"ALTER ATTRIBUTE {_q(n)} TYPE {f.type}{coll}")
    if [n for n in want if n in have] + [n for n in want if n not in have] != list(want):
        p.unsupported.append(f"composite type {c.name}: an attribute added between existing ones")
        return
    p.add(TYPES, f'Modify composite type "{c.name}"', f"ALTER TYPE {target} {', '.join(actions)};")


def _schema(p: Plan, c: Change) -> None:
    if c.kind == "missing":
        p.add(SCHEMAS, f'Add new schema named "{c.desired.name}"', f"CREATE SCHEMA {_q(c.desired.name)};")
        if c.desired.comment is not None:
            p.add(
                COMMENTS,
                f'Set comment on schema "{c.desired.name}"',
                S.comment_sql("SCHEMA", _q(c.desired.name), c.desired.comment),
            )
    elif c.kind == "extra":
        p.add(DROP_TYPES, f'Drop schema named "{c.actual.name}"', f"DROP SCHEMA {_q(c.actual.name)};")
    elif c.attribute == "comment":
        p.add(
            COMMENTS,
            f'Set comment on schema "{c.desired.name}"',
            S.comment_sql("SCHEMA", _q(c.desired.name), c.desired.comment),
        )
    else:
        p.unsupported.append(f"schema {c.name}: {c.attribute} changed")


def _recreate_enum(p: Plan, e: Enum, desired: Catalog, actual: Catalog) -> None:
    old = f"{e.name[:50]}__dbstack_old"
    p.add(
        TYPES,
        f'Rename enum type "{e.name}" (labels removed or reordered)',
        f"ALTER TYPE {e.qualified} RENAME TO {_q(old)};",
    )
    p.add(TYPES, f'Create enum type "{e.name}"', S.create_enum_sql(e))
    dt = desired.tables_by_key()
    for t in actual.tables:
        for col in t.columns:
            if col.enum != (e.schema, e.name) or col.inherited:
                continue
            want = dt.get((t.schema, t.name))
            want_col = want.column(col.name) if want else None
            cq = f"ALTER TABLE {t.qualified} ALTER COLUMN {_q(col.name)}"
            if col.default is not None:
                p.add(COLUMNS, f'Modify "{t.name}" table', f"{cq} DROP DEFAULT;")
            p.add(
                COLUMNS,
                f'Modify "{t.name}" table',
                f"{cq} TYPE {e.qualified} USING {_q(col.name)}::text::{e.qualified};",
            )
            if want_col is not None and want_col.default is not None:
                p.add(COLUMNS, f'Modify "{t.name}" table', f"{cq} SET DEFAULT {want_col.default};")
    p.add(OWNED, f'Drop the old enum type "{e.name}"', f"DROP TYPE {qualify(e.schema, old)};")


def _enum(p: Plan, c: Change, desired: Catalog, actual: Catalog | None = None) -> None:
    if _type_created_or_dropped(p, c, "enum type", S.create_enum_sql):
        return
    e = next(x for x in desired.enums if f"{x.schema}.{x.name}" == c.name)
    if c.attribute == "comment":
        p.add(COMMENTS, f'Set comment on enum type "{e.name}"', S.comment_sql("TYPE", e.qualified, e.comment))
        return
    if c.attribute != "labels":
        p.unsupported.append(f"enum {c.name}: {c.attribute} changed")
        return
    want, have = list(c.desired), list(c.actual)
    # Only additions can be written (PostgreSQL cannot drop or reorder enum labels).
    if [x for x in want if x in have] != have and actual is not None:
        _recreate_enum(p, e, desired, actual)
        return
    if [x for x in want if x in have] != have:
        p.unsupported.append(f"enum {c.name}: labels removed or reordered ({', '.join(have)} -> {', '.join(want)})")
        return
    for i, label in enumerate(want):
        if label in have:
            continue
        if i == 0:
            stmt = f"ALTER TYPE {e.qualified} ADD VALUE {quote_literal(label)} BEFORE {quote_literal(have[0])};"
            have.insert(0, label)
        else:
            after = want[i - 1]
            stmt = S.add_enum_value_sql(e, label, after=None if after == have[-1] else after)
            have.insert(have.index(after) + 1, label)
        p.add(TYPES, f'Add value to enum type: "{e.name}"', stmt)


def _seq_alter(o: SequenceOptions, a: SequenceOptions) -> list[str]:
    out = []
    if o.type != a.type:
        out.append(f"AS {o.type}")
    for word, attr in (
        ("INCREMENT BY", "increment"),
        ("MINVALUE", "min_value"),
        ("MAXVALUE", "max_value"),
        ("START WITH", "start"),
        ("CACHE", "cache"),
    ):
        if getattr(o, attr) != getattr(a, attr):
            out.append(f"{word} {getattr(o, attr)}")
    if o.cycle != a.cycle:
        out.append("CYCLE" if o.cycle else "NO CYCLE")
    return out


def _sequence(p: Plan, c: Change) -> None:
    if c.kind == "missing":
        s: Sequence = c.desired
        p.add(SEQUENCES, f'Create "{s.name}" sequence', S.create_sequence_sql(s))
        owned = S.sequence_owned_by_sql(s)
        if owned:
            p.add(OWNED, f'Set owner of "{s.name}" sequence', owned)
        if s.comment is not None:
            p.add(COMMENTS, f'Set comment on sequence "{s.name}"', S.comment_sql("SEQUENCE", s.qualified, s.comment))
    elif c.kind == "extra":
        # A serial column's sequence goes with its column or table.
        if c.actual.owned_by is None:
            p.add(DROP_TYPES, f'Drop "{c.actual.name}" sequence', S.drop_sequence_sql(c.actual))
    elif c.attribute == "options":
        parts = _seq_alter(c.desired, c.actual)
        if parts:
            p.add(
                SEQUENCES,
                f'Modify "{c.name.split(".")[-1]}" sequence',
                f"ALTER SEQUENCE {qualify(*c.name.split('.', 1))} {' '.join(parts)};",
            )
    elif c.attribute == "comment":
        p.add(
            COMMENTS,
            f'Set comment on sequence "{c.name}"',
            S.comment_sql("SEQUENCE", qualify(*c.name.split(".", 1)), c.desired),
        )
    elif c.attribute == "owned_by":
        sch, name = c.name.split(".", 1)
        if c.desired is None:
            p.add(OWNED, f'Modify "{name}" sequence', f"ALTER SEQUENCE {qualify(sch, name)} OWNED BY NONE;")
        else:
            s_, t_, col_ = c.desired
            p.add(
                OWNED,
                f'Modify "{name}" sequence',
                f"ALTER SEQUENCE {qualify(sch, name)} OWNED BY {qualify(s_, t_)}.{_q(col_)};",
            )
    else:
        p.unsupported.append(f"sequence {c.name}: {c.attribute} changed")


def _create_table(p: Plan, t: Table) -> None:
    p.add(TABLES, f'Create "{t.name}" table', S.create_table_sql(t, indent="  "))
    for stmt in S.table_extra_constraints_sql(t):
        p.add(CONSTRAINTS, f'Modify "{t.name}" table', stmt)
    for fk in t.foreign_keys:
        p.add(FKS, f'Modify "{t.name}" table', S.add_foreign_key_sql(t, fk))
    for i in t.indexes:
        p.add(INDEXES, f'Create index "{i.name}" to table: "{t.name}"', S.create_index_sql(i))
    for tr in t.triggers:
        p.add(TRIGGERS, f'Create trigger "{tr.name}"', *S.create_trigger_sql(tr))
    for stmt in S.row_security_sql(t, enabled=True if t.rls_enabled else None, forced=True if t.rls_forced else None):
        p.add(RLS, f'Modify "{t.name}" table', stmt)
    for pol in t.policies:
        p.add(POLICIES, f'Create policy "{pol.name}"', S.create_policy_sql(pol))
    for stmt in S.table_comments_sql(t):
        p.add(COMMENTS, f'Set comment to table: "{t.name}"', stmt)


def _table_of(c: Change, dt: dict, at: dict) -> tuple[Table | None, Table | None]:
    key = c.table or tuple(c.name.split(".", 1))
    return dt.get(key), at.get(key)


def _table_attr(p: Plan, c: Change, dt: dict, at: dict) -> None:
    d, _a = _table_of(c, dt, at)
    assert d is not None
    if c.attribute == "comment":
        p.add(COMMENTS, f'Set comment to table: "{d.name}"', S.comment_sql("TABLE", d.qualified, d.comment))
    elif c.attribute == "unlogged":
        p.add(
            COLUMNS,
            f'Modify "{d.name}" table',
            f"ALTER TABLE {d.qualified} SET {'UNLOGGED' if d.unlogged else 'LOGGED'};",
        )
    elif c.attribute == "rls_enabled":
        p.add(RLS, f'Modify "{d.name}" table', *S.row_security_sql(d, enabled=d.rls_enabled))
    elif c.attribute == "rls_forced":
        p.add(RLS, f'Modify "{d.name}" table', *S.row_security_sql(d, forced=d.rls_forced))
    elif c.attribute == "inherits":
        for parent in c.actual:
            if parent not in c.desired:
                p.add(COLUMNS, f'Modify "{d.name}" table', f"ALTER TABLE {d.qualified} NO INHERIT {qualify(*parent)};")
        for parent in c.desired:
            if parent not in c.actual:
                p.add(CONSTRAINTS, f'Modify "{d.name}" table', f"ALTER TABLE {d.qualified} INHERIT {qualify(*parent)};")
    else:
        p.unsupported.append(f"table {c.name}: {c.attribute} changed")


def _identity_alter(d: Table, col: Column, have: Column) -> list[str]:
    cq = f"ALTER TABLE {d.qualified} ALTER COLUMN {_q(col.name)}"
    if col.identity is None:
        return [f"{cq} DROP IDENTITY;"]
    if have.identity is None:
        opts = S.sequence_options_sql(col.identity.options, only_non_default=True)
        return [f"{cq} ADD GENERATED {col.identity.generated} AS IDENTITY" + (f" ({opts})" if opts else "") + ";"]
    parts = []
    if col.identity.generated != have.identity.generated:
        parts.append(f"SET GENERATED {col.identity.generated}")
    parts += [f"SET {x}" for x in _seq_alter(col.identity.options, have.identity.options) if not x.startswith("AS ")]
    return [f"{cq} {' '.join(parts)};"] if parts else []


def _column(p: Plan, c: Change, dt: dict, at: dict, handled: set) -> None:
    d, a = _table_of(c, dt, at)
    assert d is not None and a is not None  # column changes come from a table on both sides (diff._compare_table)
    colname = c.name.rsplit(".", 1)[-1]
    if c.kind == "missing":
        col: Column = c.desired
        if col.inherited and d.inherits:
            return  # comes with the parent's ADD COLUMN
        p.add(COLUMNS, f'Modify "{d.name}" table', S.add_column_sql(d, col))
        if col.comment is not None:
            p.add(
                COMMENTS,
                f'Set comment to column: "{col.name}" on table: "{d.name}"',
                S.comment_sql("COLUMN", f"{d.qualified}.{_q(col.name)}", col.comment),
            )
        return
    if c.kind == "extra":
        if c.actual.inherited and a.inherits:
            return  # goes with the parent's DROP COLUMN
        p.add(DROP_COLUMNS, f'Modify "{a.name}" table', S.drop_column_sql(a, c.actual.name))
        return
    want, have = d.column(colname), a.column(colname)
    assert want is not None and have is not None  # a changed column is on both sides
    key = (d.schema, d.name, colname)
    attr = c.attribute
    if attr in ("generated", "generated_kind"):
        # A generated column holds no data of its own: drop and add it again.
        if key in handled:
            return
        handled.add(key)
        p.add(DROP_COLUMNS, f'Modify "{d.name}" table', S.drop_column_sql(d, colname))
        p.add(COLUMNS, f'Modify "{d.name}" table', S.add_column_sql(d, want))
        return
    if key in handled:
        return
    if attr in ("type", "collation"):
        if (key, "type") in handled:
            return
        handled.add((key, "type"))
        p.add(COLUMNS, f'Modify "{d.name}" table', S.alter_column_type_sql(d, want))
    elif attr == "nullable":
        p.add(COLUMN_NULLS, f'Modify "{d.name}" table', S.alter_column_null_sql(d, want))
    elif attr == "default":
        p.add(COLUMN_DEFAULTS, f'Modify "{d.name}" table', S.alter_column_default_sql(d, want))
    elif attr == "identity":
        for stmt in _identity_alter(d, want, have):
            p.add(COLUMNS, f'Modify "{d.name}" table', stmt)
    elif attr == "comment":
        p.add(
            COMMENTS,
            f'Set comment to column: "{colname}" on table: "{d.name}"',
            S.comment_sql("COLUMN", f"{d.qualified}.{_q(colname)}", want.comment),
        )
    elif attr == "inherited" and d.inherits != a.inherits:
        return  # follows INHERIT / NO INHERIT of the table
    else:
        p.unsupported.append(f"column {c.name}: {attr} changed")


_CONSTRAINT_ATTR = {"unique": "uniques", "check": "checks", "exclusion": "exclusions", "foreign key": "foreign_keys"}


def _find_constraint(t: Table, object_type: str, name: str):
    if object_type == "primary key":
        return t.primary_key
    return next((x for x in getattr(t, _CONSTRAINT_ATTR[object_type]) if x.name == name), None)


def _constraint_comment(p: Plan, t: Table, name: str, comment: str | None) -> None:
    p.add(
        COMMENTS,
        f'Set comment on constraint "{name}"',
        S.comment_sql("CONSTRAINT", f"{_q(name)} ON {t.qualified}", comment),
    )


def _constraint(p: Plan, c: Change, dt: dict, at: dict) -> None:
    d, a = _table_of(c, dt, at)
    fk = c.object_type == "foreign key"
    if c.kind == "missing":
        if d is None or (d.schema, d.name) not in at:
            return  # created with its table
        con = c.desired
        p.add(FKS if fk else CONSTRAINTS, f'Modify "{d.name}" table', S.add_constraint_sql(d, con))
        if con.comment is not None:
            _constraint_comment(p, d, con.name, con.comment)
        return
    if c.kind == "extra":
        if d is None:
            return  # dropped with its table
        assert a is not None  # constraint changes come from a table on both sides (diff._compare_table)
        p.add(DROP_FKS if fk else DROP_CONSTRAINTS, f'Modify "{a.name}" table', S.drop_constraint_sql(a, c.actual.name))
        return
    assert d is not None and a is not None  # as above
    name = c.name.rsplit(".", 1)[-1]
    want = _find_constraint(d, c.object_type, name)
    have = _find_constraint(a, c.object_type, name)
    if c.attribute == "comment":
        _constraint_comment(p, d, want.name, want.comment)
        return
    if c.object_type == "check" and c.attribute == "valid" and want.valid:
        p.add(
            CONSTRAINTS, f'Modify "{d.name}" table', f"ALTER TABLE {d.qualified} VALIDATE CONSTRAINT {_q(want.name)};"
        )
        return
    if not p.first_time(f"constraint {d.schema}.{d.name}.{c.object_type}.{name}"):
        return
    p.add(DROP_FKS if fk else DROP_CONSTRAINTS, f'Modify "{d.name}" table', S.drop_constraint_sql(a, have.name))
    p.add(FKS if fk else CONSTRAINTS, f'Modify "{d.name}" table', S.add_constraint_sql(d, want))
    if want.comment is not None:
        _constraint_comment(p, d, want.name, want.comment)


def _index(p: Plan, c: Change, dt: dict, at: dict, dv: dict, av: dict) -> None:
    key = c.table
    owner_new = key not in at and key not in av
    if c.kind == "missing":
        if owner_new:
            return  # created with its table or materialized view
        i: Index = c.desired
        p.add(INDEXES, f'Create index "{i.name}" to table: "{i.table}"', S.create_index_sql(i))
        if i.comment is not None:
            p.add(COMMENTS, f'Set comment on index "{i.name}"', S.comment_sql("INDEX", i.qualified, i.comment))
        return
    if c.kind == "extra":
        if key not in dt and key not in dv:
            return  # goes with its table
        p.add(DROP_INDEXES, f'Drop index "{c.actual.name}" from table: "{c.actual.table}"', S.drop_index_sql(c.actual))
        return
    name = c.name.rsplit(".", 1)[-1]
    owner = dt.get(key) or dv.get(key)
    assert owner is not None  # a changed index belongs to a table or view on both sides
    want = next(x for x in owner.indexes if x.name == name)
    if c.attribute == "comment":
        p.add(COMMENTS, f'Set comment on index "{name}"', S.comment_sql("INDEX", want.qualified, want.comment))
        return
    if any(s.sql == S.create_index_sql(want) for s in p.steps.get(INDEXES, [])):
        return
    p.add(DROP_INDEXES, f'Drop index "{name}" from table: "{want.table}"', S.drop_index_sql(want))
    p.add(INDEXES, f'Create index "{name}" to table: "{want.table}"', S.create_index_sql(want))
    if want.comment is not None:
        p.add(COMMENTS, f'Set comment on index "{name}"', S.comment_sql("INDEX", want.qualified, want.comment))


def _owner(key, dt: dict, dv: dict):
    return dt.get(key) or dv.get(key)


def _trigger(p: Plan, c: Change, dt: dict, dv: dict, at: dict, av: dict) -> None:
    if c.kind == "missing":
        if c.table not in at and c.table not in av:
            return  # created with its table or view
        tr: Trigger = c.desired
        p.add(TRIGGERS, f'Create trigger "{tr.name}"', *S.create_trigger_sql(tr))
        if tr.comment is not None:
            p.add(
                COMMENTS,
                f'Set comment on trigger "{tr.name}"',
                S.comment_sql("TRIGGER", f"{_q(tr.name)} ON {qualify(tr.schema, tr.table)}", tr.comment),
            )
        return
    if c.kind == "extra":
        if c.table in dt or c.table in dv:
            p.add(DROP_TRIGGERS, f'Drop trigger "{c.actual.name}"', S.drop_trigger_sql(c.actual))
        return
    name = c.name.rsplit(".", 1)[-1]
    want = next(x for x in _owner(c.table, dt, dv).triggers if x.name == name)
    have = next(x for x in _owner(c.table, at, av).triggers if x.name == name)
    if c.attribute == "comment":
        p.add(
            COMMENTS,
            f'Set comment on trigger "{name}"',
            S.comment_sql("TRIGGER", f"{_q(name)} ON {qualify(want.schema, want.table)}", want.comment),
        )
        return
    if not p.first_time(f"trigger {want.schema}.{want.table}.{name}"):
        return
    if want.definition == have.definition:  # only enabled/disabled changed
        p.add(
            TRIGGERS,
            f'Modify trigger "{name}"',
            *S.create_trigger_sql(want)[1:]
            or [f"ALTER TABLE {qualify(want.schema, want.table)} ENABLE TRIGGER {_q(name)};"],
        )
        return
    p.add(DROP_TRIGGERS, f'Drop trigger "{name}"', S.drop_trigger_sql(have))
    p.add(TRIGGERS, f'Create trigger "{name}"', *S.create_trigger_sql(want))


def _view_steps(v: View, *, replace: bool = False) -> list[Step]:
    text = S.create_view_sql(v)
    if replace:
        text = text.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1)
    steps = [Step(f'{"Modify" if replace else "Create"} "{v.name}" view', text)]
    if not replace:
        steps += [Step(f'Create index "{i.name}" to view: "{v.name}"', S.create_index_sql(i)) for i in v.indexes]
    steps += [Step(f'Set comment to view: "{v.name}"', st) for st in S.view_comments_sql(v)]
    return steps


def _view(p: Plan, c: Change, dv: dict, av: dict, replaced: set) -> None:
    if c.kind == "missing":
        v: View = c.desired
        p.late.append((v, _view_steps(v)))
        for tr in v.triggers:
            p.add(TRIGGERS, f'Create trigger "{tr.name}"', *S.create_trigger_sql(tr))
        return
    if c.kind == "extra":
        p.add(DROP_VIEWS, f'Drop "{c.actual.name}" view', S.drop_view_sql(c.actual))
        return
    key = tuple(c.name.split(".", 1))
    want, have = dv[key], av[key]
    if c.attribute == "comment":
        p.add(
            COMMENTS,
            f'Set comment to view: "{want.name}"',
            S.comment_sql("MATERIALIZED VIEW" if want.materialized else "VIEW", want.qualified, want.comment),
        )
        return
    if key in replaced:
        return
    replaced.add(key)
    old_cols = [(x.name, x.type) for x in have.columns]
    new_cols = [(x.name, x.type) for x in want.columns]
    if not want.materialized and new_cols[: len(old_cols)] == old_cols:
        # CREATE OR REPLACE keeps dependent views working (columns may only be appended).
        p.late.append((want, _view_steps(want, replace=True)))
        return
    p.add(DROP_VIEWS, f'Drop "{have.name}" view', S.drop_view_sql(have))
    p.late.append((want, _view_steps(want)))


def _function(p: Plan, c: Change, df: dict, af: dict) -> None:
    if c.kind == "missing":
        _create_function(p, c.desired)
        return
    if c.kind == "extra":
        p.add(DROP_FUNCS, f'Drop "{c.actual.name}" {c.actual.kind}', S.drop_function_sql(c.actual))
        return
    key = c.name
    want, have = df[key], af[key]
    if c.attribute == "comment":
        p.add(
            COMMENTS,
            f'Set comment to {want.kind}: "{want.name}"',
            S.function_comment_sql(want) or S.comment_sql("FUNCTION", want.signature, None),
        )
        return
    if not p.first_time(f"function {key}"):
        return
    if want.result != have.result or want.kind != have.kind:
        # CREATE OR REPLACE cannot change the result type.
        p.add(DROP_FUNCS, f'Drop "{have.name}" {have.kind}', S.drop_function_sql(have))
    _create_function(p, want, comment=False)


def _create_function(p: Plan, f: Function, *, comment: bool = True) -> None:
    steps = [Step(f'Create "{f.name}" {f.kind}', S.create_function_sql(f))]
    cm = S.function_comment_sql(f) if comment else None
    if cm:
        steps.append(Step(f'Set comment to {f.kind}: "{f.name}"', cm))
    if f.depends_on:
        p.late.append((f, steps))
    else:
        for st in steps:
            p.add(EARLY_FUNCS, st.comment, st.sql)
