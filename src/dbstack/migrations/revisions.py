"""Atlas's revisions table on PostgreSQL: where it lives, its DDL, reads and upserts.

Atlas's ``cmd/atlas/internal/migrate/ent/schema/revision.go`` and
``cmdapi/migrate.go`` are the contract: the table is always
``atlas_schema_revisions``; its schema is ``--revisions-schema``, else the
schema a URL is bound to (``?search_path=``), else ``atlas_schema_revisions``.
Every write is an upsert on ``version`` that keeps ``description`` and
``executed_at``; every read skips Atlas's ``.atlas_cloud_identifier`` row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import MigrationError
from ..quoting import quote_ident
from ..quoting import quote_literal_any as quote_literal
from .go_format import go_time

if TYPE_CHECKING:  # psycopg is imported lazily by callers
    import psycopg

    from ..settings import ConnSpec

TABLE = "atlas_schema_revisions"
DEFAULT_SCHEMA = "atlas_schema_revisions"
CLOUD_ID = ".atlas_cloud_identifier"

TYPE_BASELINE = 1
TYPE_EXECUTE = 2
TYPE_RESOLVED = 4

# (name, type as format_type() prints it, NOT NULL, default) — ent's DDL for Atlas's table.
COLUMNS: tuple[tuple[str, str, bool, str | None], ...] = (
    ("version", "character varying", True, None),
    ("description", "character varying", True, None),
    ("type", "bigint", True, "2"),
    ("applied", "bigint", True, "0"),
    ("total", "bigint", True, "0"),
    ("executed_at", "timestamp with time zone", True, None),
    ("execution_time", "bigint", True, None),
    ("error", "text", False, None),
    ("error_stmt", "text", False, None),
    ("hash", "character varying", True, None),
    ("partial_hashes", "jsonb", False, None),
    ("operator_version", "character varying", True, None),
)

# Atlas (ent) writes exactly this; the spelling of each column is kept.
_DDL = (
    'CREATE TABLE {table} ("version" character varying NOT NULL, '
    '"description" character varying NOT NULL, "type" bigint NOT NULL DEFAULT 2, '
    '"applied" bigint NOT NULL DEFAULT 0, "total" bigint NOT NULL DEFAULT 0, '
    '"executed_at" timestamptz NOT NULL, "execution_time" bigint NOT NULL, '
    '"error" text NULL, "error_stmt" text NULL, "hash" character varying NOT NULL, '
    '"partial_hashes" jsonb NULL, "operator_version" character varying NOT NULL, '
    'PRIMARY KEY ("version"))'
)

# How a column is (re)added when an older table lacks it (ent adds missing columns).
_ADD_COLUMN = {
    "version": '"version" character varying NOT NULL',
    "description": "\"description\" character varying NOT NULL DEFAULT ''",
    "type": '"type" bigint NOT NULL DEFAULT 2',
    "applied": '"applied" bigint NOT NULL DEFAULT 0',
    "total": '"total" bigint NOT NULL DEFAULT 0',
    "executed_at": '"executed_at" timestamptz NOT NULL DEFAULT now()',
    "execution_time": '"execution_time" bigint NOT NULL DEFAULT 0',
    "error": '"error" text NULL',
    "error_stmt": '"error_stmt" text NULL',
    "hash": "\"hash\" character varying NOT NULL DEFAULT ''",
    "partial_hashes": '"partial_hashes" jsonb NULL',
    "operator_version": "\"operator_version\" character varying NOT NULL DEFAULT ''",
}

_SELECT = (
    'SELECT "version", "description", "type", "applied", "total", "executed_at", '
    '"execution_time", "error", "error_stmt", "hash", "partial_hashes", "operator_version" FROM {table}'
)


def resolve_schema(flag: str | None, conn: ConnSpec) -> str:
    """Atlas's revisionSchemaName: the flag, else the URL's search_path, else atlas_schema_revisions."""
    if flag:
        return flag
    return conn.search_path or DEFAULT_SCHEMA


def type_text(t: int) -> str:
    """Atlas's RevisionType.String()."""
    names = {1: "baseline", 2: "applied", 4: "manually set", 6: "applied + manually set"}
    return names.get(t, f"unknown ({t:04b})")


def parse_partial_hashes(value: Any) -> list[str] | None:
    """Accept what Atlas versions left behind: SQL NULL, JSON null, [], a full array."""
    if value is None:
        return None
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except ValueError:
            return None
        if value is None:
            return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return None


@dataclass
class Revision:
    """One row of the revisions table (Atlas's migrate.Revision)."""

    version: str
    description: str = ""
    type: int = TYPE_EXECUTE
    applied: int = 0
    total: int = 0
    executed_at: datetime | None = None
    execution_time: int = 0  # nanoseconds (Go time.Duration)
    error: str = ""
    error_stmt: str = ""
    hash: str = ""
    partial_hashes: list[str] | None = None
    operator_version: str = ""

    @property
    def partial(self) -> bool:
        return self.applied != self.total

    def has(self, flag: int) -> bool:
        return bool(self.type & flag)

    def copy(self, **changes: Any) -> Revision:
        ph = changes.pop("partial_hashes", None if self.partial_hashes is None else list(self.partial_hashes))
        return replace(self, partial_hashes=ph, **changes)

    def to_json(self) -> dict:
        """Atlas's Revision JSON (Hash and PartialHashes are not part of it)."""

        out: dict[str, Any] = {
            "Version": self.version,
            "Description": self.description,
            "Type": type_text(self.type),
            "Applied": self.applied,
            "Total": self.total,
            "ExecutedAt": go_time(self.executed_at),
            "ExecutionTime": self.execution_time,
        }
        if self.error:
            out["Error"] = self.error
        if self.error_stmt:
            out["ErrorStmt"] = self.error_stmt
        out["OperatorVersion"] = self.operator_version
        return out


@dataclass
class RevisionTable:
    """The table in one schema; methods take an open psycopg connection."""

    schema: str = DEFAULT_SCHEMA
    _cols: set[str] = field(default_factory=set, repr=False)

    @property
    def qualified(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(TABLE)}"

    def ddl(self) -> str:
        return _DDL.format(table=self.qualified)

    # -- existence and creation -----------------------------------------------------
    def exists(self, conn: psycopg.Connection) -> bool:
        row = conn.execute(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
            (self.schema, TABLE),
        ).fetchone()
        return row is not None

    def columns(self, conn: psycopg.Connection) -> list[tuple[str, str, bool, str | None]]:
        """(name, type, not null, default) of the existing table, in column order."""
        rows = conn.execute(
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "pg_catalog.pg_get_expr(d.adbin, d.adrelid) "
            "FROM pg_catalog.pg_attribute a "
            "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (self.schema, TABLE),
        ).fetchall()
        return [(r[0], r[1], bool(r[2]), r[3]) for r in rows]

    def ensure(self, conn: psycopg.Connection) -> None:
        """Create the schema and table as Atlas does; add columns an older Atlas did not have."""
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
        if not self.exists(conn):
            conn.execute(self.ddl())
            return
        have = {c[0] for c in self.columns(conn)}
        for name, *_ in COLUMNS:
            if name not in have:
                conn.execute(f"ALTER TABLE {self.qualified} ADD COLUMN {_ADD_COLUMN[name]}")

    # -- reads ----------------------------------------------------------------------
    def read_all(self, conn: psycopg.Connection) -> list[Revision]:
        """Every revision except Atlas's cloud identifier row, by version (database collation, as Atlas)."""
        rows = conn.execute(
            _SELECT.format(table=self.qualified) + ' WHERE "version" <> %s ORDER BY "version" ASC', (CLOUD_ID,)
        ).fetchall()
        return [_row_to_revision(r) for r in rows]

    def read(self, conn: psycopg.Connection, version: str) -> Revision | None:
        if version == CLOUD_ID:
            raise MigrationError("cannot read revision-table identifier as revision")
        row = conn.execute(_SELECT.format(table=self.qualified) + ' WHERE "version" = %s', (version,)).fetchone()
        return _row_to_revision(row) if row else None

    # -- writes ---------------------------------------------------------------------
    def upsert_sql(self, rev: Revision, *, started: str | None = None, returning: str = "") -> str:
        """The upsert as one self-contained statement (literals inlined, no parameters).

        With ``started`` (an SQL expression for when the file started) the
        row's executed_at and execution_time are taken by the server: that
        lets a whole file and its revision travel in one message.
        """
        if rev.version == CLOUD_ID:
            raise MigrationError("writing the revision-table identifier is not allowed")
        if started:
            executed_at = started
            execution_time = f"(extract(epoch from (clock_timestamp() - {started})) * 1000000000)::bigint"
        else:
            ts = rev.executed_at or datetime.now(UTC)
            executed_at = quote_literal(ts.isoformat()) + "::timestamptz"
            execution_time = str(int(rev.execution_time))
        ph = (
            "'null'::jsonb"
            if rev.partial_hashes is None
            else quote_literal(json.dumps(rev.partial_hashes, separators=(",", ":"))) + "::jsonb"
        )
        values = ", ".join(
            [
                quote_literal(rev.version),
                quote_literal(rev.description),
                str(int(rev.type)),
                str(int(rev.applied)),
                str(int(rev.total)),
                executed_at,
                execution_time,
                quote_literal(rev.error),
                quote_literal(rev.error_stmt),
                quote_literal(rev.hash),
                ph,
                quote_literal(rev.operator_version),
            ]
        )
        sql = (
            f'INSERT INTO {self.qualified} ("version", "description", "type", "applied", "total", '
            '"executed_at", "execution_time", "error", "error_stmt", "hash", "partial_hashes", '
            f'"operator_version") VALUES ({values}) ON CONFLICT ("version") DO UPDATE SET '
            '"type" = EXCLUDED."type", "applied" = EXCLUDED."applied", "total" = EXCLUDED."total", '
            '"execution_time" = EXCLUDED."execution_time", "error" = EXCLUDED."error", '
            '"error_stmt" = EXCLUDED."error_stmt", "hash" = EXCLUDED."hash", '
            '"partial_hashes" = EXCLUDED."partial_hashes", "operator_version" = EXCLUDED."operator_version"'
        )
        if returning:
            sql += " RETURNING " + returning
        return sql

    def write(self, conn: psycopg.Connection, rev: Revision) -> None:
        conn.execute(self.upsert_sql(rev))


def _row_to_revision(r: Sequence[Any]) -> Revision:
    return Revision(
        version=r[0],
        description=r[1] or "",
        type=int(r[2]),
        applied=int(r[3]),
        total=int(r[4]),
        executed_at=r[5],
        execution_time=int(r[6] or 0),
        error=r[7] or "",
        error_stmt=r[8] or "",
        hash=r[9] or "",
        partial_hashes=parse_partial_hashes(r[10]),
        operator_version=r[11] or "",
    )


# --------------------------------------------------------------------------- ambiguity guard

AMBIGUOUS_TEXT = (
    "We couldn't find a revision table in the connected schema but found one in \n"
    "the schema 'atlas_schema_revisions' and cannot determine the desired behavior.\n"
    "\n"
    "As a safety guard, we require you to specify whether to use the existing\n"
    "table in 'atlas_schema_revisions' or create a new one in the connected schema\n"
    "by providing the '--revisions-schema' flag or deleting the 'atlas_schema_revisions'\n"
    "schema if it is unused.\n"
    "\n"
)


def check_clarity(conn: psycopg.Connection, spec: ConnSpec, flag: str | None) -> None:
    """Atlas's checkRevisionSchemaClarity: refuse to guess between two possible tables."""
    bound = spec.search_path
    if not bound or flag:
        return
    if RevisionTable(bound).exists(conn):
        return
    if RevisionTable(DEFAULT_SCHEMA).exists(conn):
        raise MigrationError(
            "ambiguous revision table",
            f"the URL is bound to schema {bound!r}, which has no revisions table, but schema "
            f"'{DEFAULT_SCHEMA}' has one: pass --revisions-schema {DEFAULT_SCHEMA} to keep using it "
            f"(or set revisions_schema for the database in invoke.yaml), or --revisions-schema {bound} "
            "to start a new one",
            output=AMBIGUOUS_TEXT,
        )
