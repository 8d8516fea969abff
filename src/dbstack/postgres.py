"""Talking to a PostgreSQL server: connect (one error wording), create and drop databases, helper names.

Every module that opens a connection goes through :func:`connect`, so a
server that is down, a wrong password or a missing database reads the same
wherever it happens: the masked URL, libpq's reason, and a hint that says
what to do. Every statement quotes the database name as an identifier
(psycopg.sql), so names with quotes, spaces or capitals work, and real
errors reach the user: only "already exists" on create and "does not exist"
on drop are expected outcomes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .errors import DatabaseError, UsageError
from .settings import mask_secrets

if TYPE_CHECKING:
    import psycopg

    from .settings import ConnSpec

MAX_NAME_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL silently truncates longer names
MAINTENANCE_DB = "postgres"

# What a server that is down or unreachable looks like in libpq's message.
_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "no such file or directory",
    "timeout expired",
    "could not translate host name",
    "no route to host",
    "network is unreachable",
)


# --------------------------------------------------------------------------- connecting


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def connect_error(spec: ConnSpec, exc: BaseException) -> DatabaseError:
    """The DatabaseError for a connection to spec that failed with exc (the one wording)."""
    reason = mask_secrets(_first_line(str(exc))) or type(exc).__name__
    low = reason.lower()
    if "does not exist" in low and "database" in low:
        # migrate's standalone_hint rewords this sentence: keep the two in step.
        hint = (
            "create the database first (e.g. `inv db-up` / `inv reset-db` for the local one) or pick another with --db"
        )
    elif "password" in low:
        hint = "check the password (it comes from settings or the environment, never the command line)"
    elif any(k in str(exc).lower() for k in _UNREACHABLE):
        # The message names the database; this names the server that did not answer.
        hint = f"cannot connect to {spec.host}:{spec.port} at all: check that the server is running and reachable there"
    else:
        hint = "check that the server is running and reachable, and the user, password and database name"
    return DatabaseError(f"cannot connect to {spec.url(masked=True)}: {reason}", hint)


def connect(spec: ConnSpec, *, autocommit: bool = True, **kwargs: Any) -> psycopg.Connection:
    """An open psycopg connection to spec, or the DatabaseError of :func:`connect_error`."""
    import psycopg

    try:
        return psycopg.connect(**{**spec.connect_kwargs(), **kwargs}, autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise connect_error(spec, exc) from None


@contextmanager
def session(spec: ConnSpec, *, autocommit: bool = True) -> Iterator[psycopg.Connection]:
    """:func:`connect`, closed on the way out (no commit: what is not committed is dropped)."""
    conn = connect(spec, autocommit=autocommit)
    try:
        yield conn
    finally:
        conn.close()


def server_version(spec: ConnSpec) -> int:
    """The server's version number (e.g. 170002), as libpq reports it."""
    with session(spec) as conn:
        return conn.info.server_version


# --------------------------------------------------------------------------- names


def check_name(name: str) -> str:
    """A database name PostgreSQL will store exactly as given."""
    if not name:
        raise UsageError("the database name is empty", "pass --db NAME or set dbstack.database")
    if "\x00" in name:
        raise UsageError(f"database name {name!r} contains a NUL character", "choose another name")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise UsageError(
            f"database name {name!r} is longer than {MAX_NAME_BYTES} bytes; PostgreSQL would silently truncate it",
            "choose a shorter name",
        )
    return name


def scratch_name(base: str = "dbstack_scratch", tag: str | None = None) -> str:
    """The name of a helper database.

    With a tag: the deterministic companion of database ``base``
    (``<base, cut to 30 bytes>_dbstack_<tag>_<sha1 8>``, e.g. the new database
    db-reset builds), found again by a later run to clean up after an
    interrupted one. Without: a throwaway name unique to this process,
    ``<base>_<pid>_<8 hex>`` (the form :func:`dbstack.inspect.scratch.leftovers`
    recognises).
    """
    if tag is None:
        return f"{base}_{os.getpid()}_{secrets.token_hex(4)}"
    digest = hashlib.sha1(base.encode("utf-8")).hexdigest()[:8]
    short = base
    while len(short.encode("utf-8")) > 30:
        short = short[:-1]
    return f"{short}_dbstack_{tag}_{digest}"


# --------------------------------------------------------------------------- databases


def statement_error(action: str, name: str, exc: Exception) -> DatabaseError:
    """The DatabaseError for a failed CREATE/DROP/ALTER DATABASE: the server's words and hint."""
    diag = getattr(exc, "diag", None)
    msg = (getattr(diag, "message_primary", None) or str(exc)).strip()
    hint = getattr(diag, "message_hint", None) or ""
    if getattr(exc, "sqlstate", None) == "42501":
        hint = hint or "connect as a role that may create databases (CREATEDB) or own this one"
    return DatabaseError(f"cannot {action} database {name!r}: {msg}", hint)


def _admin(server: ConnSpec, admin_db: str | None) -> ConnSpec:
    return server.with_db(admin_db) if admin_db else server


def exists(admin: ConnSpec, name: str) -> bool:
    """Whether database name exists on admin's server."""
    with session(admin) as conn:
        return _exists(conn, name)


def _exists(conn: Any, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def create_database(server: ConnSpec, name: str, *, admin_db: str | None = None) -> bool:
    """CREATE DATABASE name unless it exists; True when created.

    The statement runs over a connection to server's database, or to admin_db
    on the same server when given (e.g. the maintenance database ``postgres``).
    """
    import psycopg
    from psycopg import sql

    check_name(name)
    with session(_admin(server, admin_db)) as conn:
        if _exists(conn, name):
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # created concurrently: the outcome we wanted
        except psycopg.Error as exc:
            raise statement_error("create", name, exc) from None
    return True


def terminate_sessions(conn: Any, name: str) -> int:
    """End every other session connected to database `name`; how many were ended."""
    rows = conn.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    ).fetchall()
    return len(rows)


def drop_database(server: ConnSpec, name: str, *, admin_db: str | None = None) -> bool:
    """DROP DATABASE name (ending its sessions first) if it exists; True when dropped.

    Connects like :func:`create_database`; the database connected to cannot be the one dropped.
    """
    import psycopg
    from psycopg import sql

    check_name(name)
    admin = _admin(server, admin_db)
    with session(admin) as conn:
        if not _exists(conn, name):
            return False
        if admin.dbname == name:
            raise UsageError(
                f"cannot drop database {name!r} while connected to it",
                "connect to another database (dbstack.local.admin_db)",
            )
        try:
            terminate_sessions(conn, name)
            # FORCE also ends sessions that connect between the two statements (PostgreSQL 13+).
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise statement_error("drop", name, exc) from None
    return True
