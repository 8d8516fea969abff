"""Differences between two catalogs, object by object.

``diff(desired, actual)``: *desired* is what the migrations produce (or a
desired schema), *actual* the database looked at. Each difference is one
:class:`Change`:

- ``missing``: in desired, not in actual (``desired`` holds the object);
- ``extra``: in actual, not in desired (``actual`` holds the object);
- ``changed``: in both, one attribute differs (``attribute``, and the two
  values in ``desired`` / ``actual``).

Objects are matched by name (tables and their children by schema, table
and name; functions by signature). A rename is therefore a missing plus an
extra. Column order is not compared.

Privileges are reported one grant at a time (``privilege`` changes whose
``desired`` / ``actual`` is a :class:`Privilege`: the SQL object and the
:class:`~.catalog.Grant`), so "SELECT to PUBLIC" on a table shows up by name;
default privileges likewise (``default privilege``, a
:class:`DefaultPrivilegeItem`). Policies are children of their table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..quoting import quote_ident
from .catalog import Catalog, Grant, Table, View, plain_data

# The order changes are reported in.
_TYPE_ORDER = (
    "schema",
    "extension",
    "enum",
    "domain",
    "composite type",
    "range type",
    "sequence",
    "table",
    "column",
    "primary key",
    "unique",
    "check",
    "exclusion",
    "foreign key",
    "index",
    "trigger",
    "policy",
    "view",
    "materialized view",
    "function",
    "procedure",
    "privilege",
    "default privilege",
)

# Fields compared on their own (not as one attribute of their object).
_OWN = ("privileges",)


@dataclass(frozen=True)
class Privilege:
    """One grant (or revoked default) on one object; ``on`` is the object as GRANT spells it."""

    on: str  # TABLE "public"."users", SCHEMA "app", FUNCTION "public"."f"(integer)
    label: str  # table public.users
    grant: Grant


@dataclass(frozen=True)
class DefaultPrivilegeItem:
    role: str
    schema: str | None
    object_type: str  # TABLES, SEQUENCES, FUNCTIONS, TYPES, SCHEMAS
    grant: Grant

    @property
    def label(self) -> str:
        where = f" in schema {self.schema}" if self.schema else ""
        return f"for role {self.role}{where} on {self.object_type.lower()}"


@dataclass(frozen=True)
class Change:
    kind: str  # missing | extra | changed
    object_type: str  # table, column, index, foreign key, view, function, ...
    name: str  # qualified, dotted: public.users, public.users.email, public.users.users_email_key
    attribute: str | None = None
    desired: Any = None
    actual: Any = None
    # For objects that belong to a table or view: (schema, name) of it.
    table: tuple[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "object_type": self.object_type,
            "name": self.name,
            "attribute": self.attribute,
            "desired": plain_data(self.desired),
            "actual": plain_data(self.actual),
            "table": list(self.table) if self.table else None,
        }

    def describe(self, *, desired_label: str = "migrations", actual_label: str = "database") -> str:
        if self.kind == "missing":
            return f"missing  {self.object_type} {self.name} (in the {desired_label}, not in the {actual_label})"
        if self.kind == "extra":
            return f"extra    {self.object_type} {self.name} (in the {actual_label}, not in the {desired_label})"
        return (
            f"changed  {self.object_type} {self.name}: {self.attribute}: "
            f"{desired_label} {_show(self.desired)}, {actual_label} {_show(self.actual)}"
        )


def _show(v: Any) -> str:
    if v is None:
        return "(none)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        text = v if len(v) <= 200 else v[:197] + "..."
        return repr(" ".join(text.split()) if "\n" in text else text)
    return repr(plain_data(v))


def _dotted(*parts: str) -> str:
    return ".".join(parts)


def _privileges(
    df: _Differ,
    on: str,
    label: str,
    desired: Iterable[Grant],
    actual: Iterable[Grant],
    table: tuple[str, str] | None = None,
) -> None:
    """One missing / extra ``privilege`` change per grant that only one side has."""
    d, a = set(desired), set(actual)
    key = lambda g: (g.revoked, g.grantee, g.privilege, g.grantable)  # noqa: E731
    for g in sorted(d - a, key=key):
        df.changes.append(
            Change("missing", "privilege", f"{label}: {g.describe()}", None, Privilege(on, label, g), None, table)
        )
    for g in sorted(a - d, key=key):
        df.changes.append(
            Change("extra", "privilege", f"{label}: {g.describe()}", None, None, Privilege(on, label, g), table)
        )


class _Differ:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def pair(
        self,
        object_type: str,
        desired: dict[Any, Any],
        actual: dict[Any, Any],
        name_of,
        compare,
        table: tuple[str, str] | None = None,
    ) -> None:
        for key in sorted(set(desired) | set(actual), key=repr):
            d, a = desired.get(key), actual.get(key)
            name = name_of(key)
            if a is None:
                self.changes.append(Change("missing", object_type, name, None, d, None, table))
            elif d is None:
                self.changes.append(Change("extra", object_type, name, None, None, a, table))
            else:
                compare(object_type, name, d, a, table)

    def fields(
        self,
        object_type: str,
        name: str,
        d: Any,
        a: Any,
        table: tuple[str, str] | None = None,
        *,
        skip: Iterable[str] = (),
    ) -> None:
        skip = set(skip)
        for f in dataclasses.fields(d):
            if f.name in skip or not f.compare:
                continue
            dv, av = getattr(d, f.name), getattr(a, f.name)
            if dv != av:
                self.changes.append(Change("changed", object_type, name, f.name, dv, av, table))


_TABLE_CHILDREN = (
    "columns",
    "primary_key",
    "uniques",
    "checks",
    "exclusions",
    "foreign_keys",
    "indexes",
    "triggers",
    "policies",
) + _OWN


def _compare_table(df: _Differ, name: str, d: Table, a: Table) -> None:
    key = (d.schema, d.name)
    df.fields("table", name, d, a, skip=("schema", "name") + _TABLE_CHILDREN)
    df.pair(
        "column",
        {c.name: c for c in d.columns},
        {c.name: c for c in a.columns},
        lambda k: _dotted(name, k),
        lambda t, n, x, y, tb: df.fields(t, n, x, y, tb, skip=("name", "enum")),
        key,
    )
    pk_d = {"pk": d.primary_key} if d.primary_key else {}
    pk_a = {"pk": a.primary_key} if a.primary_key else {}
    df.pair(
        "primary key",
        pk_d,
        pk_a,
        lambda k: _dotted(name, (pk_d or pk_a)["pk"].name),
        lambda t, n, x, y, tb: df.fields(t, n, x, y, tb),
        key,
    )
    for object_type, attr in (
        ("unique", "uniques"),
        ("check", "checks"),
        ("exclusion", "exclusions"),
        ("foreign key", "foreign_keys"),
    ):
        df.pair(
            object_type,
            {c.name: c for c in getattr(d, attr)},
            {c.name: c for c in getattr(a, attr)},
            lambda k: _dotted(name, k),
            lambda t, n, x, y, tb: df.fields(t, n, x, y, tb, skip=("name",)),
            key,
        )
    _compare_indexes(df, name, d.indexes, a.indexes, key)
    df.pair(
        "trigger",
        {t.name: t for t in d.triggers},
        {t.name: t for t in a.triggers},
        lambda k: _dotted(name, k),
        lambda t, n, x, y, tb: df.fields(t, n, x, y, tb, skip=("schema", "table", "name")),
        key,
    )
    df.pair(
        "policy",
        {p.name: p for p in d.policies},
        {p.name: p for p in a.policies},
        lambda k: _dotted(name, k),
        lambda t, n, x, y, tb: df.fields(t, n, x, y, tb, skip=("schema", "table", "name")),
        key,
    )
    _privileges(df, f"TABLE {d.qualified}", f"table {name}", d.privileges, a.privileges, key)


def _compare_indexes(df: _Differ, name: str, d: Iterable, a: Iterable, key: tuple[str, str]) -> None:
    def cmp(t: str, n: str, x: Any, y: Any, tb: Any) -> None:
        before = len(df.changes)
        df.fields(t, n, x, y, tb, skip=("schema", "table", "name", "definition"))
        if len(df.changes) == before and x.definition != y.definition:
            # Something only the full definition shows (storage parameters, ...).
            df.changes.append(Change("changed", t, n, "definition", x.definition, y.definition, tb))

    df.pair("index", {i.name: i for i in d}, {i.name: i for i in a}, lambda k: _dotted(name, k), cmp, key)


def _compare_view(df: _Differ, object_type: str, name: str, d: View, a: View) -> None:
    key = (d.schema, d.name)
    df.fields(
        object_type,
        name,
        d,
        a,
        skip=("schema", "name", "indexes", "triggers", "depends_on", "uses_functions", "columns") + _OWN,
    )
    if [(c.name, c.type, c.comment) for c in d.columns] != [(c.name, c.type, c.comment) for c in a.columns]:
        if d.definition == a.definition:
            df.changes.append(
                Change(
                    "changed",
                    object_type,
                    name,
                    "columns",
                    [(c.name, c.type) for c in d.columns],
                    [(c.name, c.type) for c in a.columns],
                )
            )
    _compare_indexes(df, name, d.indexes, a.indexes, key)
    df.pair(
        "trigger",
        {t.name: t for t in d.triggers},
        {t.name: t for t in a.triggers},
        lambda k: _dotted(name, k),
        lambda t, n, x, y, tb: df.fields(t, n, x, y, tb, skip=("schema", "table", "name")),
        key,
    )
    _privileges(df, f"TABLE {d.qualified}", f"{object_type} {name}", d.privileges, a.privileges, key)


def _default_privileges(df: _Differ, desired: Catalog, actual: Catalog) -> None:
    """One missing / extra ``default privilege`` change per (role, schema, object type, grant)."""

    def items(cat: Catalog) -> set[DefaultPrivilegeItem]:
        return {
            DefaultPrivilegeItem(dp.role, dp.schema, dp.object_type, g)
            for dp in cat.default_privileges
            for g in dp.privileges
        }

    def key(i: DefaultPrivilegeItem) -> tuple:
        return (i.role, i.schema or "", i.object_type, i.grant.revoked, i.grant.grantee, i.grant.privilege)

    di, ai = items(desired), items(actual)
    for i in sorted(di - ai, key=key):
        df.changes.append(Change("missing", "default privilege", f"{i.label}: {i.grant.describe()}", None, i, None))
    for i in sorted(ai - di, key=key):
        df.changes.append(Change("extra", "default privilege", f"{i.label}: {i.grant.describe()}", None, None, i))


def diff(desired: Catalog, actual: Catalog) -> list[Change]:
    """Every difference between two catalogs, in a stable order."""
    df = _Differ()

    def simple(object_type: str, xs: Iterable, ys: Iterable, key, name_of, skip: tuple[str, ...], on=None) -> None:
        def compare(t, n, x, y, tb):
            df.fields(t, n, x, y, tb, skip=skip + _OWN)
            if on is not None:
                _privileges(df, on(x), f"{t} {n}", x.privileges, y.privileges)

        df.pair(object_type, {key(x): x for x in xs}, {key(y): y for y in ys}, name_of, compare)

    simple(
        "schema",
        desired.schemas,
        actual.schemas,
        lambda s: s.name,
        str,
        ("name",),
        on=lambda s: f"SCHEMA {quote_ident(s.name)}",
    )
    # An extension's comment comes with the extension; its version and schema matter.
    simple("extension", desired.extensions, actual.extensions, lambda e: e.name, str, ("name", "comment"))
    for kind, want, have in (
        ("enum", desired.enums, actual.enums),
        ("domain", desired.domains, actual.domains),
        ("composite type", desired.composites, actual.composites),
        ("range type", desired.ranges, actual.ranges),
    ):
        simple(kind, want, have, lambda e: (e.schema, e.name), lambda k: _dotted(*k), ("schema", "name"))
    simple(
        "sequence",
        desired.sequences,
        actual.sequences,
        lambda e: (e.schema, e.name),
        lambda k: _dotted(*k),
        ("schema", "name"),
        on=lambda s: f"SEQUENCE {s.qualified}",
    )
    df.pair(
        "table",
        {(t.schema, t.name): t for t in desired.tables},
        {(t.schema, t.name): t for t in actual.tables},
        lambda k: _dotted(*k),
        lambda t, n, x, y, tb: _compare_table(df, n, x, y),
    )
    for materialized, object_type in ((False, "view"), (True, "materialized view")):
        df.pair(
            object_type,
            {(v.schema, v.name): v for v in desired.views if v.materialized == materialized},
            {(v.schema, v.name): v for v in actual.views if v.materialized == materialized},
            lambda k: _dotted(*k),
            lambda t, n, x, y, tb: _compare_view(df, t, n, x, y),
        )

    def compare_function(t: str, n: str, x: Any, y: Any, tb: Any) -> None:
        df.fields(t, n, x, y, tb, skip=("schema", "name", "arguments", "depends_on") + _OWN)
        _privileges(df, f"{t.upper()} {x.signature}", f"{t} {n}", x.privileges, y.privileges)

    def of_kind(cat: Catalog, kind: str) -> dict:
        return {
            (f.schema, f.name, f.arguments): f
            for f in cat.functions
            if (f.kind == "procedure") == (kind == "procedure")
        }

    for kind in ("function", "procedure"):
        df.pair(
            kind, of_kind(desired, kind), of_kind(actual, kind), lambda k: f"{k[0]}.{k[1]}({k[2]})", compare_function
        )
    _default_privileges(df, desired, actual)
    order = {t: i for i, t in enumerate(_TYPE_ORDER)}
    # Stable: by object type, then the order found (already sorted by key).
    return sorted(df.changes, key=lambda c: (order.get(c.object_type, 99),))


def render_changes(changes: list[Change], *, desired_label: str = "migrations", actual_label: str = "database") -> str:
    return "".join(f"  {c.describe(desired_label=desired_label, actual_label=actual_label)}\n" for c in changes)
