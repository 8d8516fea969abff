"""The catalog model: a database's schema read from pg_catalog.

One query per object kind across all selected schemas (never one per
table), so inspecting 1,000 tables costs about a dozen round trips. The
model is made of frozen dataclasses in a deterministic order; SQL texts
(defaults, checks, index and view definitions, function bodies) are the
server's own renderings (``pg_get_*def``), read with ``search_path`` set to
``pg_catalog`` so every user object comes out schema-qualified and the text
does not depend on the connection's search path.

Security: row-level security (ENABLE/FORCE and every policy), privileges
on schemas, tables, views, sequences and functions (each stored as the
difference from PostgreSQL's built-in default for the object's owner —
``acldefault`` — so ``REVOKE EXECUTE ... FROM PUBLIC`` is a "revoked" item and
an untouched object has none) and default privileges. Owners are read only
when asked (``owners=True``): a scratch replay and a live database are often
owned by different roles.

Left out on purpose: system schemas, objects owned by extensions, the
``plpgsql`` extension every database has, aggregates (``pg_get_functiondef``
cannot print them), and Atlas's revisions table (``atlas_schema_revisions``,
in its own schema or any other).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DatabaseError
from ..quoting import quote_ident
from ..settings import ConnSpec

REVISIONS_TABLE = "atlas_schema_revisions"
REVISIONS_SCHEMA = "atlas_schema_revisions"
# Extensions present in every database (template1); never part of a schema.
BUILTIN_EXTENSIONS = ("plpgsql",)

FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
FK_MATCH = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}


def qualify(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


# --------------------------------------------------------------------------- model


class _Model:
    def to_dict(self) -> dict[str, Any]:
        return plain_data(self)


class _InSchema(_Model):
    """An object named inside a schema (its dataclass declares `schema` and `name`)."""

    schema: str
    name: str

    @property
    def qualified(self) -> str:
        return qualify(self.schema, self.name)


def plain_data(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: plain_data(getattr(v, f.name)) for f in dataclasses.fields(v) if f.metadata.get("json", True)}
    if isinstance(v, (list, tuple)):
        return [plain_data(x) for x in v]
    if isinstance(v, Mapping):
        return {k: plain_data(x) for k, x in v.items()}
    return v


@dataclass(frozen=True)
class Grant(_Model):
    """One privilege that differs from the object's built-in default (``acldefault``)."""

    grantee: str  # role name, or PUBLIC
    privilege: str  # SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, USAGE, CREATE, EXECUTE
    grantable: bool = False  # WITH GRANT OPTION
    revoked: bool = False  # a default privilege taken away (e.g. EXECUTE from PUBLIC on a function)

    def describe(self) -> str:
        if self.revoked:
            return f"{self.privilege} revoked from {self.grantee}"
        return f"{self.privilege} to {self.grantee}" + (" with grant option" if self.grantable else "")


@dataclass(frozen=True)
class Schema(_Model):
    name: str
    comment: str | None = None
    privileges: tuple[Grant, ...] = ()
    owner: str | None = None


@dataclass(frozen=True)
class Extension(_Model):
    name: str
    schema: str
    version: str
    comment: str | None = None


@dataclass(frozen=True)
class Enum(_InSchema):
    schema: str
    name: str
    labels: tuple[str, ...]
    comment: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class DomainCheck(_Model):
    name: str
    definition: str  # CHECK (...) as pg_get_constraintdef prints it


@dataclass(frozen=True)
class Domain(_InSchema):
    schema: str
    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    collation: str | None = None
    checks: tuple[DomainCheck, ...] = ()
    comment: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class CompositeField(_Model):
    name: str
    type: str  # format_type()
    collation: str | None = None  # qualified, only when not the type's default


@dataclass(frozen=True)
class CompositeType(_InSchema):
    schema: str
    name: str
    fields: tuple[CompositeField, ...]
    comment: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class RangeType(_InSchema):
    schema: str
    name: str
    subtype: str  # format_type() of the element type
    subtype_opclass: str | None = None  # only when not the subtype's default
    collation: str | None = None  # only when not the subtype's default
    canonical: str | None = None  # function names, qualified unless in pg_catalog
    subtype_diff: str | None = None
    multirange: str | None = None  # the multirange type's name (PostgreSQL 14+), same schema
    comment: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class DefaultPrivilege(_Model):
    """ALTER DEFAULT PRIVILEGES FOR ROLE role [IN SCHEMA schema] ... ON <object_type>."""

    role: str
    schema: str | None  # None: for the whole database
    object_type: str  # TABLES, SEQUENCES, FUNCTIONS, TYPES, SCHEMAS
    privileges: tuple[Grant, ...] = ()


@dataclass(frozen=True)
class SequenceOptions(_Model):
    type: str = "bigint"
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 9223372036854775807
    cache: int = 1
    cycle: bool = False


@dataclass(frozen=True)
class Sequence(_InSchema):
    schema: str
    name: str
    options: SequenceOptions
    # (schema, table, column) of a serial column owning it, else None.
    owned_by: tuple[str, str, str] | None = None
    comment: str | None = None
    privileges: tuple[Grant, ...] = ()
    owner: str | None = None


@dataclass(frozen=True)
class Identity(_Model):
    generated: str  # ALWAYS | BY DEFAULT
    options: SequenceOptions = SequenceOptions()


@dataclass(frozen=True)
class Column(_Model):
    name: str
    type: str  # format_type(): "character varying(320)", "public.mood"
    nullable: bool = True
    default: str | None = None  # pg_get_expr of the default (not for generated columns)
    identity: Identity | None = None
    generated: str | None = None  # generation expression
    generated_kind: str | None = None  # STORED | VIRTUAL (PostgreSQL 18)
    collation: str | None = None  # qualified, only when not the type's default
    comment: str | None = None
    # The type is a user enum (schema, name) — renderers reference it.
    enum: tuple[str, str] | None = None
    # Only inherited from a parent table (INHERITS), not declared by this one.
    inherited: bool = False


@dataclass(frozen=True)
class PrimaryKey(_Model):
    name: str
    columns: tuple[str, ...]
    include: tuple[str, ...] = ()
    definition: str = ""
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class Unique(_Model):
    name: str
    columns: tuple[str, ...]
    include: tuple[str, ...] = ()
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    definition: str = ""
    comment: str | None = None


@dataclass(frozen=True)
class Check(_Model):
    name: str
    expr: str  # the expression inside CHECK (...)
    definition: str = ""  # "CHECK (...) [NO INHERIT] [NOT VALID]"
    no_inherit: bool = False
    valid: bool = True
    comment: str | None = None


@dataclass(frozen=True)
class Exclusion(_Model):
    name: str
    definition: str
    comment: str | None = None


@dataclass(frozen=True)
class ForeignKey(_Model):
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_update: str = "NO ACTION"
    on_delete: str = "NO ACTION"
    match: str = "SIMPLE"
    deferrable: bool = False
    initially_deferred: bool = False
    valid: bool = True
    definition: str = ""
    comment: str | None = None


@dataclass(frozen=True)
class IndexPart(_Model):
    column: str | None = None  # a plain column ...
    expr: str | None = None  # ... or an expression
    desc: bool = False
    nulls_first: bool = False  # as stored; the default is nulls_first == desc
    opclass: str | None = None  # only when not the type's default operator class
    collation: str | None = None


@dataclass(frozen=True)
class Index(_InSchema):
    schema: str
    table: str
    name: str
    method: str
    parts: tuple[IndexPart, ...]
    unique: bool = False
    include: tuple[str, ...] = ()
    predicate: str | None = None
    nulls_not_distinct: bool = False
    definition: str = ""  # pg_get_indexdef: CREATE [UNIQUE] INDEX ...
    comment: str | None = None


@dataclass(frozen=True)
class Trigger(_Model):
    schema: str
    table: str
    name: str
    definition: str  # pg_get_triggerdef
    enabled: str = "O"  # O (origin/default), D (disabled), R (replica), A (always)
    comment: str | None = None


@dataclass(frozen=True)
class Policy(_Model):
    schema: str
    table: str
    name: str
    command: str = "ALL"  # ALL | SELECT | INSERT | UPDATE | DELETE
    permissive: bool = True  # AS PERMISSIVE (default) or RESTRICTIVE
    roles: tuple[str, ...] = ("PUBLIC",)
    using: str | None = None
    check: str | None = None  # WITH CHECK
    comment: str | None = None


@dataclass(frozen=True)
class Table(_InSchema):
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: PrimaryKey | None = None
    uniques: tuple[Unique, ...] = ()
    checks: tuple[Check, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    unlogged: bool = False
    partition_key: str | None = None  # pg_get_partkeydef of a partitioned table
    partition_of: tuple[str, str] | None = None  # (schema, table) of the parent
    partition_bound: str | None = None  # FOR VALUES ... / DEFAULT
    comment: str | None = None
    inherits: tuple[tuple[str, str], ...] = ()  # INHERITS parents (not partitioning), in order
    rls_enabled: bool = False  # ALTER TABLE ... ENABLE ROW LEVEL SECURITY
    rls_forced: bool = False  # ... FORCE ROW LEVEL SECURITY
    policies: tuple[Policy, ...] = ()
    privileges: tuple[Grant, ...] = ()
    owner: str | None = None

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def index(self, name: str) -> Index | None:
        for i in self.indexes:
            if i.name == name:
                return i
        return None


@dataclass(frozen=True)
class View(_InSchema):
    schema: str
    name: str
    definition: str  # pg_get_viewdef (the SELECT)
    materialized: bool = False
    columns: tuple[Column, ...] = ()
    options: tuple[str, ...] = ()  # reloptions, e.g. check_option=cascaded
    depends_on: tuple[tuple[str, str], ...] = ()  # relations it reads (schema, name)
    uses_functions: tuple[str, ...] = ()  # signatures of user functions it calls
    indexes: tuple[Index, ...] = ()  # materialized views only
    triggers: tuple[Trigger, ...] = ()  # INSTEAD OF triggers
    comment: str | None = None
    privileges: tuple[Grant, ...] = ()
    owner: str | None = None


@dataclass(frozen=True)
class Function(_Model):
    schema: str
    name: str
    kind: str  # function | procedure | window
    arguments: str  # pg_get_function_identity_arguments
    result: str | None  # pg_get_function_result (None for procedures)
    language: str
    definition: str  # pg_get_functiondef: CREATE OR REPLACE ...
    # Relations its signature (row types) or SQL-standard body refers to:
    # such a function is created after tables and views, not before.
    depends_on: tuple[tuple[str, str], ...] = ()
    comment: str | None = None
    privileges: tuple[Grant, ...] = ()
    owner: str | None = None

    @property
    def signature(self) -> str:
        return f"{qualify(self.schema, self.name)}({self.arguments})"


@dataclass(frozen=True)
class Catalog(_Model):
    database: str = field(default="", compare=False)
    server_version: int = field(default=0, compare=False)
    schemas: tuple[Schema, ...] = ()
    extensions: tuple[Extension, ...] = ()
    enums: tuple[Enum, ...] = ()
    domains: tuple[Domain, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    functions: tuple[Function, ...] = ()
    composites: tuple[CompositeType, ...] = ()
    ranges: tuple[RangeType, ...] = ()
    default_privileges: tuple[DefaultPrivilege, ...] = ()

    def table(self, schema: str, name: str) -> Table | None:
        for t in self.tables:
            if t.schema == schema and t.name == name:
                return t
        return None

    def tables_by_key(self) -> dict[tuple[str, str], Table]:
        return {(t.schema, t.name): t for t in self.tables}

    def without_context(self) -> dict[str, Any]:
        """to_dict() without database name and server version (for comparing two databases)."""
        d = self.to_dict()
        d.pop("database", None)
        d.pop("server_version", None)
        return d


# --------------------------------------------------------------------------- reading


def read_catalog(conn: ConnSpec, *, schemas: list[str] | None = None, owners: bool = False) -> Catalog:
    """Read the schema of the database behind conn (all user schemas, or the given ones; owners if asked)."""
    from ..postgres import session

    with session(conn) as pg:
        return read_catalog_from(pg, schemas=schemas, owners=owners)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_catalog_from(pg: Any, *, schemas: list[str] | None = None, owners: bool = False) -> Catalog:
    """Read the catalog over an open psycopg connection (autocommit or in a transaction)."""
    import psycopg

    try:
        return _Reader(pg, schemas, owners).read()
    except psycopg.Error as exc:
        raise DatabaseError(
            f"reading the schema failed: {_first_line(exc)}",
            "the connecting role needs to see pg_catalog; re-run with `inv -d …` (or DBSTACK_DEBUG=1) for details",
        ) from None


_SESSION = {"search_path": "pg_catalog", "TimeZone": "UTC", "DateStyle": "ISO, MDY", "IntervalStyle": "postgres"}

_EXT_OWNED = (
    "not exists (select 1 from pg_depend e where e.classid = '{cls}'::regclass and e.objid = {oid} and e.deptype = 'e')"
)


def _not_ext(cls: str, oid: str) -> str:
    return _EXT_OWNED.format(cls=cls, oid=oid)


_SEP = "\x1f"  # between the fields of one privilege item (a role name cannot hold it unnoticed)


def _acl_items(acl: str, default: str, use_default: str = "true") -> str:
    """SQL: the privileges of acl that differ from default, as text items grantee␟privilege␟grantable␟revoked.

    A NULL acl means the default (PostgreSQL's ``acldefault`` for the owner).
    Grants are compared per grantee and privilege; grantors are left out.
    """
    eff = f"aclexplode(coalesce({acl}, {default}))"
    # use_default false: nothing is granted by default (an empty aclitem[] cannot be exploded).
    dft = f"(select * from aclexplode({default}) where {use_default})"
    who = "case when x.grantee = 0 then 'PUBLIC' else pg_get_userbyid(x.grantee)::text end"
    # A NULL acl is the default: nothing differs, no need to explode anything (most objects).
    return f"""case when {acl} is null then '{{}}'::text[] else array(
        select distinct {who} || chr(31) || x.privilege_type || chr(31) || x.is_grantable::text
               || chr(31) || x.revoked::text
        from (select e.grantee, e.privilege_type, e.is_grantable, false as revoked from {eff} e
              where not exists (select 1 from {dft} d where d.grantee = e.grantee
                                and d.privilege_type = e.privilege_type and d.is_grantable = e.is_grantable)
              union all
              select d.grantee, d.privilege_type, d.is_grantable, true from {dft} d
              where not exists (select 1 from {eff} e where e.grantee = d.grantee
                                and e.privilege_type = d.privilege_type and e.is_grantable = d.is_grantable)) x
        order by 1) end"""


# acldefault() takes a "char": 's' for sequences, 'r' for the other relations.
_REL_ACL_DEFAULT = """acldefault((case when c.relkind = 'S' then 's' else 'r' end)::"char", c.relowner)"""


def _grants(items: Iterable[str] | None) -> tuple[Grant, ...]:
    out = []
    for item in items or ():
        grantee, privilege, grantable, revoked = item.split(_SEP)
        out.append(Grant(grantee, privilege, grantable == "true", revoked == "true"))
    return tuple(sorted(out, key=lambda g: (g.revoked, g.grantee, g.privilege, g.grantable)))


def _owner_sql(enabled: bool, expr: str) -> str:
    return f"pg_get_userbyid({expr})::text" if enabled else "null::text"


class _Reader:
    def __init__(self, pg: Any, schemas: list[str] | None, owners: bool = False) -> None:
        self.pg = pg
        self.only = list(schemas) if schemas else None
        self.owners = owners

    def q(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self.pg.cursor() as cur:
            cur.execute(sql, tuple(params))
            return cur.fetchall()

    def read(self) -> Catalog:
        pg = self.pg
        version, dbname = self.q("select current_setting('server_version_num')::int, current_database()")[0]
        self.version = version
        # Qualify every user object in server-rendered texts and render
        # timestamps (partition bounds, defaults) the same way in every
        # session; the connection's own settings come back afterwards.
        names = list(_SESSION)
        saved = self.q("select " + ", ".join(f"current_setting('{n}')" for n in names))[0]
        for n in names:
            self.q("select set_config(%s, %s, false)", (n, _SESSION[n]))
        try:
            return self._read(dbname, version)
        finally:
            if not getattr(pg, "broken", False):
                try:
                    for n, v in zip(names, saved, strict=True):
                        self.q("select set_config(%s, %s, false)", (n, v))
                except Exception:  # noqa: BLE001 - the connection is gone; nothing to restore
                    pass

    # -- per kind --------------------------------------------------------------
    def _read(self, dbname: str, version: int) -> Catalog:
        schema_rows = self.q(
            f"""
            select n.oid, n.nspname, d.description,
                   {_acl_items("n.nspacl", "acldefault('n', n.nspowner)")}, {_owner_sql(self.owners, "n.nspowner")}
            from pg_namespace n
            left join pg_description d on d.objoid = n.oid and d.classoid = 'pg_namespace'::regclass and d.objsubid = 0
            where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast', %s)
              and n.nspname not like 'pg\\_temp\\_%%' and n.nspname not like 'pg\\_toast\\_temp\\_%%'
              and {_not_ext("pg_namespace", "n.oid")}
              and (%s::text[] is null or n.nspname = any(%s::text[]))
            order by n.nspname collate "C" """,
            (REVISIONS_SCHEMA, self.only, self.only),
        )
        nsp = [r[0] for r in schema_rows]
        schemas = tuple(Schema(r[1], r[2], _grants(r[3]), r[4]) for r in schema_rows)
        extensions = self._extensions()
        enums = self._enums(nsp)
        domains = self._domains(nsp)
        rels = self.q(
            f"""
            select c.oid, c.relkind, n.nspname, c.relname, d.description, c.relpersistence,
                   case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end,
                   case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end,
                   pn.nspname, pc.relname,
                   case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid, true) end,
                   coalesce(c.reloptions, '{{}}'), c.relrowsecurity, c.relforcerowsecurity,
                   {_acl_items("c.relacl", _REL_ACL_DEFAULT)},
                   {_owner_sql(self.owners, "c.relowner")},
                   array(select quote_ident(ipn.nspname) || '.' || quote_ident(ipc.relname)
                         from pg_inherits ih join pg_class ipc on ipc.oid = ih.inhparent
                         join pg_namespace ipn on ipn.oid = ipc.relnamespace
                         where ih.inhrelid = c.oid and not c.relispartition order by ih.inhseqno)
            from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            left join pg_description d on d.objoid = c.oid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
            left join pg_inherits h on c.relispartition and h.inhrelid = c.oid
            left join pg_class pc on pc.oid = h.inhparent
            left join pg_namespace pn on pn.oid = pc.relnamespace
            where c.relnamespace = any(%s) and c.relkind in ('r', 'p', 'v', 'm', 'S')
              and {_not_ext("pg_class", "c.oid")}
              and not (c.relname = %s and c.relkind in ('r', 'p'))
            order by n.nspname collate "C", c.relname collate "C" """,
            (nsp, REVISIONS_TABLE),
        )
        table_oids = [r[0] for r in rels if r[1] in ("r", "p")]
        view_oids = [r[0] for r in rels if r[1] in ("v", "m")]
        seq_oids = [r[0] for r in rels if r[1] == "S"]
        columns = self._columns(table_oids + view_oids)
        cons = self._constraints(table_oids)
        indexes = self._indexes(table_oids + [r[0] for r in rels if r[1] == "m"])
        triggers = self._triggers(table_oids + view_oids)
        view_deps, view_funcs = self._view_deps(view_oids)
        seq_extra = {r[0]: (_grants(r[14]), r[15]) for r in rels if r[1] == "S"}
        sequences = self._sequences(seq_oids, seq_extra)
        functions = self._functions(nsp)
        policies = self._policies(table_oids)

        tables: list[Table] = []
        views: list[View] = []
        for (
            oid,
            kind,
            sch,
            name,
            comment,
            persistence,
            partkey,
            bound,
            psch,
            ptab,
            viewdef,
            relopts,
            rls,
            rls_force,
            acl,
            owner,
            parents,
        ) in rels:
            if kind in ("r", "p"):
                c = cons.get(oid, {})
                tables.append(
                    Table(
                        schema=sch,
                        name=name,
                        columns=tuple(columns.get(oid, ())),
                        primary_key=(c.get("p") or [None])[0],
                        uniques=tuple(c.get("u", ())),
                        checks=tuple(c.get("c", ())),
                        exclusions=tuple(c.get("x", ())),
                        foreign_keys=tuple(c.get("f", ())),
                        indexes=tuple(indexes.get(oid, ())),
                        triggers=tuple(triggers.get(oid, ())),
                        unlogged=persistence == "u",
                        partition_key=partkey,
                        partition_of=(psch, ptab) if ptab else None,
                        partition_bound=bound,
                        comment=comment,
                        inherits=tuple(_split_pair(x) for x in parents),
                        rls_enabled=bool(rls),
                        rls_forced=bool(rls_force),
                        policies=tuple(policies.get(oid, ())),
                        privileges=_grants(acl),
                        owner=owner,
                    )
                )
            elif kind in ("v", "m"):
                views.append(
                    View(
                        schema=sch,
                        name=name,
                        definition=viewdef or "",
                        materialized=kind == "m",
                        columns=tuple(columns.get(oid, ())),
                        options=tuple(sorted(relopts)),
                        depends_on=tuple(view_deps.get(oid, ())),
                        uses_functions=tuple(view_funcs.get(oid, ())),
                        indexes=tuple(indexes.get(oid, ())),
                        triggers=tuple(triggers.get(oid, ())),
                        comment=comment,
                        privileges=_grants(acl),
                        owner=owner,
                    )
                )
        return Catalog(
            database=dbname,
            server_version=version,
            schemas=schemas,
            extensions=extensions,
            enums=enums,
            domains=domains,
            sequences=sequences,
            tables=tuple(tables),
            views=tuple(views),
            functions=functions,
            composites=self._composites(nsp),
            ranges=self._ranges(nsp),
            default_privileges=self._default_privileges(nsp),
        )

    def _policies(self, rel_oids: list[int]) -> dict[int, list[Policy]]:
        if not rel_oids:
            return {}
        rows = self.q(
            """
            select p.polrelid, n.nspname, c.relname, p.polname, p.polcmd, p.polpermissive,
                   array(select case when r = 0 then 'PUBLIC' else pg_get_userbyid(r)::text end
                         from unnest(p.polroles) r order by 1),
                   pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), d.description
            from pg_policy p
            join pg_class c on c.oid = p.polrelid
            join pg_namespace n on n.oid = c.relnamespace
            left join pg_description d on d.objoid = p.oid and d.classoid = 'pg_policy'::regclass and d.objsubid = 0
            where p.polrelid = any(%s)
            order by p.polrelid, p.polname collate "C" """,
            (rel_oids,),
        )
        cmds = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
        out: dict[int, list[Policy]] = {}
        for rel, sch, tab, name, cmd, permissive, roles, using, check, comment in rows:
            out.setdefault(rel, []).append(
                Policy(
                    sch, tab, name, cmds.get(str(cmd), str(cmd)), bool(permissive), tuple(roles), using, check, comment
                )
            )
        return out

    def _composites(self, nsp: list[int]) -> tuple[CompositeType, ...]:
        rows = self.q(
            f"""
            select t.oid, n.nspname, t.typname, d.description, {_owner_sql(self.owners, "t.typowner")},
                   array(select a.attname from pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0
                         and not a.attisdropped order by a.attnum),
                   array(select format_type(a.atttypid, a.atttypmod) from pg_attribute a
                         where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped order by a.attnum),
                   array(select coalesce((select quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                          from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
                                          where co.oid = a.attcollation and a.attcollation <> at.typcollation), '')
                         from pg_attribute a join pg_type at on at.oid = a.atttypid
                         where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped order by a.attnum)
            from pg_type t
            join pg_class c on c.oid = t.typrelid and c.relkind = 'c'
            join pg_namespace n on n.oid = t.typnamespace
            left join pg_description d on d.objoid = t.oid and d.classoid = 'pg_type'::regclass and d.objsubid = 0
            where t.typtype = 'c' and t.typnamespace = any(%s) and {_not_ext("pg_type", "t.oid")}
            order by n.nspname collate "C", t.typname collate "C" """,
            (nsp,),
        )
        return tuple(
            CompositeType(
                r[1],
                r[2],
                tuple(CompositeField(a, ty, co or None) for a, ty, co in zip(r[5], r[6], r[7], strict=True)),
                r[3],
                r[4],
            )
            for r in rows
        )

    def _ranges(self, nsp: list[int]) -> tuple[RangeType, ...]:
        multi = (
            "(select mt.typname from pg_type mt where mt.oid = r.rngmultitypid)"
            if self.version >= 140000
            else "null::name"
        )
        rows = self.q(
            f"""
            select n.nspname, t.typname, format_type(r.rngsubtype, null),
                   case when oc.opcdefault then null
                        else quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) end,
                   case when r.rngcollation <> 0 and r.rngcollation <> st.typcollation then
                     (select quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                      from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
                      where co.oid = r.rngcollation) end,
                   nullif(r.rngcanonical::regproc::text, '-'), nullif(r.rngsubdiff::regproc::text, '-'),
                   {multi}, d.description, {_owner_sql(self.owners, "t.typowner")}
            from pg_range r
            join pg_type t on t.oid = r.rngtypid
            join pg_type st on st.oid = r.rngsubtype
            join pg_namespace n on n.oid = t.typnamespace
            join pg_opclass oc on oc.oid = r.rngsubopc
            join pg_namespace ocn on ocn.oid = oc.opcnamespace
            left join pg_description d on d.objoid = t.oid and d.classoid = 'pg_type'::regclass and d.objsubid = 0
            where t.typnamespace = any(%s) and {_not_ext("pg_type", "t.oid")}
            order by n.nspname collate "C", t.typname collate "C" """,
            (nsp,),
        )
        return tuple(RangeType(*r) for r in rows)

    def _default_privileges(self, nsp: list[int]) -> tuple[DefaultPrivilege, ...]:
        kinds = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}
        # A database-wide entry stores the whole ACL (defaults included); a
        # per-schema one only what it adds (PostgreSQL docs, pg_default_acl).
        default = "acldefault(case when a.defaclobjtype = 'S' then 's' else a.defaclobjtype end, a.defaclrole)"
        rows = self.q(
            f"""
            select pg_get_userbyid(a.defaclrole)::text, n.nspname, a.defaclobjtype,
                   {_acl_items("a.defaclacl", default, "a.defaclnamespace = 0")}
            from pg_default_acl a
            left join pg_namespace n on n.oid = a.defaclnamespace
            where a.defaclnamespace = 0 or a.defaclnamespace = any(%s)
            order by pg_get_userbyid(a.defaclrole)::text collate "C", n.nspname collate "C" nulls first,
                     a.defaclobjtype""",
            (nsp,),
        )
        return tuple(DefaultPrivilege(r[0], r[1], kinds.get(str(r[2]), str(r[2])), _grants(r[3])) for r in rows if r[3])

    def _extensions(self) -> tuple[Extension, ...]:
        rows = self.q(
            """
            select e.extname, n.nspname, e.extversion, d.description
            from pg_extension e
            join pg_namespace n on n.oid = e.extnamespace
            left join pg_description d on d.objoid = e.oid and d.classoid = 'pg_extension'::regclass and d.objsubid = 0
            where e.extname <> all(%s) and (%s::text[] is null or n.nspname = any(%s::text[]))
            order by e.extname collate "C" """,
            (list(BUILTIN_EXTENSIONS), self.only, self.only),
        )
        return tuple(Extension(*r) for r in rows)

    def _enums(self, nsp: list[int]) -> tuple[Enum, ...]:
        rows = self.q(
            f"""
            select n.nspname, t.typname,
                   array(select e.enumlabel from pg_enum e where e.enumtypid = t.oid order by e.enumsortorder),
                   d.description, {_owner_sql(self.owners, "t.typowner")}
            from pg_type t
            join pg_namespace n on n.oid = t.typnamespace
            left join pg_description d on d.objoid = t.oid and d.classoid = 'pg_type'::regclass and d.objsubid = 0
            where t.typtype = 'e' and t.typnamespace = any(%s) and {_not_ext("pg_type", "t.oid")}
            order by n.nspname collate "C", t.typname collate "C" """,
            (nsp,),
        )
        return tuple(Enum(r[0], r[1], tuple(r[2]), r[3], r[4]) for r in rows)

    def _domains(self, nsp: list[int]) -> tuple[Domain, ...]:
        rows = self.q(
            f"""
            select t.oid, n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
                   t.typdefault,
                   case when t.typcollation <> 0 and t.typcollation <> bt.typcollation then
                     (select quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                      from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
                      where co.oid = t.typcollation) end,
                   d.description, {_owner_sql(self.owners, "t.typowner")}
            from pg_type t
            join pg_namespace n on n.oid = t.typnamespace
            join pg_type bt on bt.oid = t.typbasetype
            left join pg_description d on d.objoid = t.oid and d.classoid = 'pg_type'::regclass and d.objsubid = 0
            where t.typtype = 'd' and t.typnamespace = any(%s) and {_not_ext("pg_type", "t.oid")}
            order by n.nspname collate "C", t.typname collate "C" """,
            (nsp,),
        )
        if not rows:
            return ()
        checks: dict[int, list[DomainCheck]] = {}
        for typ, name, definition in self.q(
            """
                select c.contypid, c.conname, pg_get_constraintdef(c.oid, true)
                from pg_constraint c where c.contypid = any(%s) and c.contype = 'c'
                order by c.contypid, c.conname collate "C" """,
            ([r[0] for r in rows],),
        ):
            checks.setdefault(typ, []).append(DomainCheck(name, definition))
        return tuple(
            Domain(
                schema=r[1],
                name=r[2],
                type=r[3],
                not_null=r[4],
                default=r[5],
                collation=r[6],
                checks=tuple(checks.get(r[0], ())),
                comment=r[7],
                owner=r[8],
            )
            for r in rows
        )

    def _columns(self, rel_oids: list[int]) -> dict[int, list[Column]]:
        if not rel_oids:
            return {}
        rows = self.q(
            """
            select a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
                   case when a.attcollation <> t.typcollation then
                     (select quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                      from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
                      where co.oid = a.attcollation) end,
                   d.description,
                   case when t.typtype = 'e' then tn.nspname end, case when t.typtype = 'e' then t.typname end,
                   s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                   a.attislocal or coalesce(rc.relispartition, false)
            from pg_attribute a
            join pg_class rc on rc.oid = a.attrelid
            join pg_type t on t.oid = a.atttypid
            join pg_namespace tn on tn.oid = t.typnamespace
            left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
            left join pg_description d on d.objoid = a.attrelid and d.classoid = 'pg_class'::regclass
                                       and d.objsubid = a.attnum
            left join pg_depend dep on a.attidentity <> '' and dep.refclassid = 'pg_class'::regclass
                                   and dep.refobjid = a.attrelid and dep.refobjsubid = a.attnum
                                   and dep.classid = 'pg_class'::regclass and dep.deptype = 'i'
            left join pg_sequence s on s.seqrelid = dep.objid
            where a.attrelid = any(%s) and a.attnum > 0 and not a.attisdropped
            order by a.attrelid, a.attnum""",
            (rel_oids,),
        )
        out: dict[int, list[Column]] = {}
        for (
            rel,
            name,
            typ,
            notnull,
            default,
            ident,
            gen,
            coll,
            comment,
            enum_s,
            enum_n,
            seqtype,
            start,
            inc,
            smin,
            smax,
            cache,
            cycle,
            islocal,
        ) in rows:
            identity = None
            if ident:
                identity = Identity(
                    "ALWAYS" if ident == "a" else "BY DEFAULT",
                    SequenceOptions(seqtype or "integer", start, inc, smin, smax, cache, bool(cycle)),
                )
            generated = generated_kind = None
            if gen:
                generated, default = default, None
                generated_kind = "VIRTUAL" if gen == "v" else "STORED"
            col = Column(
                name=name,
                type=typ,
                nullable=not notnull,
                default=default,
                identity=identity,
                generated=generated,
                generated_kind=generated_kind,
                collation=coll,
                comment=comment,
                enum=(enum_s, enum_n) if enum_n else None,
                inherited=not islocal,
            )
            out.setdefault(rel, []).append(col)
        return out

    def _constraints(self, rel_oids: list[int]) -> dict[int, dict[str, list]]:
        if not rel_oids:
            return {}
        nnd = "coalesce(ix.indnullsnotdistinct, false)" if self.version >= 150000 else "false"
        rows = self.q(
            f"""
            select c.conrelid, c.conname, c.contype, pg_get_constraintdef(c.oid, true),
                   array(select a.attname from unnest(c.conkey) with ordinality k(n, o)
                         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.o),
                   fn.nspname, fc.relname,
                   array(select a.attname from unnest(c.confkey) with ordinality k(n, o)
                         join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.o),
                   c.confupdtype, c.confdeltype, c.confmatchtype, c.condeferrable, c.condeferred,
                   c.convalidated, c.connoinherit, d.description,
                   case when c.contype = 'c' then pg_get_expr(c.conbin, c.conrelid, true) end,
                   {nnd},
                   array(select a.attname from unnest(ix.indkey::int2[]) with ordinality k(n, o)
                         join pg_attribute a on a.attrelid = ix.indrelid and a.attnum = k.n
                         where k.o > ix.indnkeyatts order by k.o)
            from pg_constraint c
            left join pg_class fc on fc.oid = c.confrelid
            left join pg_namespace fn on fn.oid = fc.relnamespace
            left join pg_index ix on c.contype in ('p', 'u') and ix.indexrelid = c.conindid
            left join pg_description d on d.objoid = c.oid and d.classoid = 'pg_constraint'::regclass and d.objsubid = 0
            where c.conrelid = any(%s) and c.contype in ('p', 'u', 'f', 'c', 'x') and c.conislocal
            order by c.conrelid, c.conname collate "C" """,
            (rel_oids,),
        )
        out: dict[int, dict[str, list]] = {}
        for (
            rel,
            name,
            kind,
            definition,
            cols,
            fsch,
            ftab,
            fcols,
            upd,
            dele,
            match,
            deferrable,
            deferred,
            valid,
            noinherit,
            comment,
            check_expr,
            nulls_nd,
            include,
        ) in rows:
            if kind == "p":
                obj: Any = PrimaryKey(name, tuple(cols), tuple(include), definition, deferrable, deferred, comment)
            elif kind == "u":
                obj = Unique(
                    name, tuple(cols), tuple(include), bool(nulls_nd), deferrable, deferred, definition, comment
                )
            elif kind == "c":
                obj = Check(name, check_expr or "", definition, bool(noinherit), bool(valid), comment)
            elif kind == "x":
                obj = Exclusion(name, definition, comment)
            else:
                obj = ForeignKey(
                    name,
                    tuple(cols),
                    fsch,
                    ftab,
                    tuple(fcols),
                    FK_ACTIONS[upd],
                    FK_ACTIONS[dele],
                    FK_MATCH.get(match, "SIMPLE"),
                    deferrable,
                    deferred,
                    bool(valid),
                    definition,
                    comment,
                )
            out.setdefault(rel, {}).setdefault(kind, []).append(obj)
        return out

    def _indexes(self, rel_oids: list[int]) -> dict[int, list[Index]]:
        if not rel_oids:
            return {}
        nnd = "i.indnullsnotdistinct" if self.version >= 150000 else "false"
        rows = self.q(
            f"""
            select i.indrelid, tn.nspname, t.relname, ic.relname, am.amname, i.indisunique,
                   pg_get_indexdef(i.indexrelid), pg_get_expr(i.indpred, i.indrelid, true),
                   i.indnkeyatts,
                   array(select pg_get_indexdef(i.indexrelid, k, true)
                         from generate_series(1, i.indnatts) k order by k),
                   array(select x from unnest(i.indkey::int2[]) with ordinality u(x, o) order by o),
                   array(select x from unnest(i.indoption::int2[]) with ordinality u(x, o) order by o),
                   array(select case when oc.opcdefault then ''
                                     else quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) end
                         from unnest(i.indclass::oid[]) with ordinality u(x, o)
                         join pg_opclass oc on oc.oid = u.x join pg_namespace ocn on ocn.oid = oc.opcnamespace
                         order by u.o),
                   array(select case when u.x = 0 or u.x = coalesce(ta.attcollation, ty.typcollation, 0) then ''
                                     else (select quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                           from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
                                           where co.oid = u.x) end
                         from unnest(i.indcollation::oid[]) with ordinality u(x, o)
                         left join pg_attribute a on a.attrelid = i.indexrelid and a.attnum = u.o
                         left join pg_type ty on ty.oid = a.atttypid
                         left join pg_attribute ta on ta.attrelid = i.indrelid
                                                  and ta.attnum = (i.indkey::int2[])[u.o - 1] and ta.attnum > 0
                         order by u.o),
                   {nnd}, d.description
            from pg_index i
            join pg_class ic on ic.oid = i.indexrelid
            join pg_class t on t.oid = i.indrelid
            join pg_namespace tn on tn.oid = t.relnamespace
            join pg_am am on am.oid = ic.relam
            left join pg_description d
                   on d.objoid = i.indexrelid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
            where i.indrelid = any(%s)
              and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid
                              and c.conrelid = i.indrelid and c.contype in ('p', 'u', 'x'))
              and not exists (select 1 from pg_inherits h where h.inhrelid = i.indexrelid)
            order by i.indrelid, ic.relname collate "C" """,
            (rel_oids,),
        )
        out: dict[int, list[Index]] = {}
        for (
            rel,
            sch,
            tab,
            name,
            method,
            unique,
            definition,
            pred,
            nkey,
            cols,
            keys,
            opts,
            opclasses,
            collations,
            nulls_nd,
            comment,
        ) in rows:
            parts = []
            for k in range(nkey):
                opt = opts[k] if k < len(opts) else 0
                is_col = keys[k] != 0
                parts.append(
                    IndexPart(
                        column=_unquote(cols[k]) if is_col else None,
                        expr=None if is_col else cols[k],
                        desc=bool(opt & 1),
                        nulls_first=bool(opt & 2),
                        opclass=(opclasses[k] or None) if k < len(opclasses) else None,
                        collation=(collations[k] or None) if k < len(collations) else None,
                    )
                )
            include = tuple(_unquote(c) for c in cols[nkey:])
            out.setdefault(rel, []).append(
                Index(
                    schema=sch,
                    table=tab,
                    name=name,
                    method=method,
                    parts=tuple(parts),
                    unique=unique,
                    include=include,
                    predicate=pred,
                    nulls_not_distinct=bool(nulls_nd),
                    definition=definition,
                    comment=comment,
                )
            )
        return out

    def _triggers(self, rel_oids: list[int]) -> dict[int, list[Trigger]]:
        if not rel_oids:
            return {}
        parent = "and t.tgparentid = 0" if self.version >= 130000 else ""
        rows = self.q(
            f"""
            select t.tgrelid, n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled, d.description
            from pg_trigger t
            join pg_class c on c.oid = t.tgrelid
            join pg_namespace n on n.oid = c.relnamespace
            left join pg_description d on d.objoid = t.oid and d.classoid = 'pg_trigger'::regclass and d.objsubid = 0
            where t.tgrelid = any(%s) and not t.tgisinternal {parent}
            order by t.tgrelid, t.tgname collate "C" """,
            (rel_oids,),
        )
        out: dict[int, list[Trigger]] = {}
        for rel, sch, tab, name, definition, enabled, comment in rows:
            out.setdefault(rel, []).append(Trigger(sch, tab, name, definition, str(enabled), comment))
        return out

    def _view_deps(self, view_oids: list[int]) -> tuple[dict[int, list[tuple[str, str]]], dict[int, list[str]]]:
        if not view_oids:
            return {}, {}
        rows = self.q(
            """
            select distinct r.ev_class, n.nspname, c.relname
            from pg_rewrite r
            join pg_depend dep on dep.classid = 'pg_rewrite'::regclass and dep.objid = r.oid
                               and dep.refclassid = 'pg_class'::regclass
            join pg_class c on c.oid = dep.refobjid
            join pg_namespace n on n.oid = c.relnamespace
            where r.ev_class = any(%s) and dep.refobjid <> r.ev_class
            """,
            (view_oids,),
        )
        rows = sorted(rows, key=lambda r: (r[0], r[1], r[2]))
        rels: dict[int, list[tuple[str, str]]] = {}
        for view, sch, name in rows:
            rels.setdefault(view, []).append((sch, name))
        rows = self.q(
            f"""
            select distinct r.ev_class,
                   quote_ident(n.nspname) || '.' || quote_ident(p.proname)
                   || '(' || pg_get_function_identity_arguments(p.oid) || ')'
            from pg_rewrite r
            join pg_depend dep on dep.classid = 'pg_rewrite'::regclass and dep.objid = r.oid
                               and dep.refclassid = 'pg_proc'::regclass
            join pg_proc p on p.oid = dep.refobjid
            join pg_namespace n on n.oid = p.pronamespace
            where r.ev_class = any(%s) and n.nspname not in ('pg_catalog', 'information_schema')
              and {_not_ext("pg_proc", "p.oid")}
            """,
            (view_oids,),
        )
        rows = sorted(rows, key=lambda r: (r[0], r[1]))
        funcs: dict[int, list[str]] = {}
        for view, sig in rows:
            funcs.setdefault(view, []).append(_always_quoted_sig(sig))
        return rels, funcs

    def _sequences(self, seq_oids: list[int], extra: dict[int, tuple]) -> tuple[Sequence, ...]:
        if not seq_oids:
            return ()
        rows = self.q(
            """
            select n.nspname, c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                   s.seqcache, s.seqcycle, own_n.nspname, own_c.relname, own_a.attname, d.description, c.oid
            from pg_sequence s
            join pg_class c on c.oid = s.seqrelid
            join pg_namespace n on n.oid = c.relnamespace
            left join pg_depend own on own.classid = 'pg_class'::regclass and own.objid = c.oid
                                    and own.refclassid = 'pg_class'::regclass and own.deptype = 'a'
                                    and own.refobjsubid > 0
            left join pg_class own_c on own_c.oid = own.refobjid
            left join pg_namespace own_n on own_n.oid = own_c.relnamespace
            left join pg_attribute own_a on own_a.attrelid = own.refobjid and own_a.attnum = own.refobjsubid
            left join pg_description d on d.objoid = c.oid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
            where s.seqrelid = any(%s)
              and not exists (select 1 from pg_depend i where i.classid = 'pg_class'::regclass
                              and i.objid = c.oid and i.deptype = 'i')
            order by n.nspname collate "C", c.relname collate "C" """,
            (seq_oids,),
        )
        return tuple(
            Sequence(
                r[0],
                r[1],
                SequenceOptions(r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8])),
                (r[9], r[10], r[11]) if r[11] else None,
                r[12],
                *extra.get(r[13], ((), None)),
            )
            for r in rows
        )

    def _functions(self, nsp: list[int]) -> tuple[Function, ...]:
        rows = self.q(
            f"""
            select p.oid, n.nspname, p.proname, p.prokind, pg_get_function_identity_arguments(p.oid),
                   case when p.prokind <> 'p' then pg_get_function_result(p.oid) end, l.lanname,
                   pg_get_functiondef(p.oid), d.description,
                   {_acl_items("p.proacl", "acldefault('f', p.proowner)")}, {_owner_sql(self.owners, "p.proowner")}
            from pg_proc p
            join pg_namespace n on n.oid = p.pronamespace
            join pg_language l on l.oid = p.prolang
            left join pg_description d on d.objoid = p.oid and d.classoid = 'pg_proc'::regclass and d.objsubid = 0
            where p.pronamespace = any(%s) and p.prokind <> 'a' and {_not_ext("pg_proc", "p.oid")}
              and not exists (select 1 from pg_depend i where i.classid = 'pg_proc'::regclass
                              and i.objid = p.oid and i.deptype = 'i')
            order by n.nspname collate "C", p.proname collate "C",
                     pg_get_function_identity_arguments(p.oid) collate "C" """,
            (nsp,),
        )
        if not rows:
            return ()
        deps: dict[int, set[tuple[str, str]]] = {}
        for oid, sch, name in self.q(
            """
                select d.objid, n.nspname, c.relname
                from pg_depend d join pg_class c on c.oid = d.refobjid join pg_namespace n on n.oid = c.relnamespace
                where d.classid = 'pg_proc'::regclass and d.objid = any(%s) and d.refclassid = 'pg_class'::regclass
                union
                select p.oid, n.nspname, c.relname
                from pg_proc p
                cross join lateral unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]) || p.prorettype) u(x)
                join pg_type ty on ty.oid = u.x
                left join pg_type el on el.oid = ty.typelem
                join pg_class c on c.oid = coalesce(nullif(ty.typrelid, 0), el.typrelid)
                join pg_namespace n on n.oid = c.relnamespace
                where p.oid = any(%s) and c.relkind <> 'c'""",
            ([r[0] for r in rows], [r[0] for r in rows]),
        ):
            deps.setdefault(oid, set()).add((sch, name))
        kinds = {"f": "function", "p": "procedure", "w": "window"}
        return tuple(
            Function(
                r[1],
                r[2],
                kinds.get(r[3], "function"),
                r[4],
                r[5],
                r[6],
                r[7].rstrip() + "\n",
                tuple(sorted(deps.get(r[0], ()))),
                r[8],
                _grants(r[9]),
                r[10],
            )
            for r in rows
        )


def _always_quoted_sig(sig: str) -> str:
    """quote_ident(schema).quote_ident(name)(args) → our always-quoted form."""
    head, _, args = sig.partition("(")
    sch, _, name = _split_qualified(head)
    return f"{qualify(sch, name)}({args}"


def _split_qualified(text: str) -> tuple[str, str, str]:
    """Split a.b where either part may be double-quoted."""
    parts, cur, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                cur += '"'
                i += 2
                continue
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)
    if len(parts) == 1:
        return "", "", parts[0]
    return parts[0], ".", ".".join(parts[1:])


def _split_pair(qualified: str) -> tuple[str, str]:
    """quote_ident(schema) || '.' || quote_ident(name) → (schema, name)."""
    sch, _, name = _split_qualified(qualified)
    return sch, name


def _unquote(ident: str) -> str:
    """A column name as pg_get_indexdef prints it (quoted only when needed) → the name."""
    if len(ident) >= 2 and ident[0] == '"' and ident[-1] == '"':
        return ident[1:-1].replace('""', '"')
    return ident


def inspect_target(
    settings: Any,
    *,
    db: str | None = None,
    target: str | None = None,
    schemas: list[str] | None = None,
    owners: bool = False,
) -> Catalog:
    """The catalog of a configured database on a target (connection from settings, never argv)."""
    conn = settings.connection(target, db)
    if schemas is None and conn.search_path:
        schemas = [conn.search_path]
    return read_catalog(conn, schemas=schemas, owners=owners)


def catalog_from_dict(data: Mapping[str, Any]) -> Catalog:
    """The inverse of Catalog.to_dict() (JSON lists become the model's tuples)."""
    return _build(Catalog, data)


def _build(cls: type, data: Any) -> Any:
    return cls(**{name: _value_of(tp, data[name]) for name, tp in _fields_of(cls) if name in data})


@functools.cache
def _fields_of(cls: type) -> tuple[tuple[str, Any], ...]:
    import typing

    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


@functools.cache
def _shape(tp: Any) -> tuple[str, Any]:
    """How to rebuild a value of annotated type tp: ("plain"|"dataclass"|"tuple_of"|"tuple", detail)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        return _shape(members[0]) if members else ("plain", None)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return ("tuple_of", args[0])
        return ("tuple", args)
    if dataclasses.is_dataclass(tp):
        return ("dataclass", tp)
    return ("plain", None)


def _value_of(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    kind, detail = _shape(tp)
    if kind == "dataclass":
        return _build(detail, value)
    if kind == "tuple_of":
        return tuple(_value_of(detail, v) for v in value)
    if kind == "tuple":
        return tuple(_value_of(a, v) for a, v in zip(detail, value, strict=False))  # as written
    return value
