"""Databases on a server: create, drop, rename, swap, end sessions — identifiers always quoted.

Every statement quotes the database name as an identifier (psycopg.sql), so
names with quotes, spaces or capitals work, and real errors reach the user
(no `|| true`): only "already exists" on create and "does not exist" on drop
are expected outcomes.
"""
from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from typing import Iterator

from ..errors import DatabaseError, UsageError
from ..settings import ConnSpec

MAX_NAME_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL silently truncates longer names


def check_name(name: str) -> str:
    """A database name PostgreSQL will store exactly as given."""
    if not name:
        raise UsageError("the database name is empty", "pass --db NAME or set dbstack.database")
    if "\x00" in name:
        raise UsageError(f"database name {name!r} contains a NUL character", "choose another name")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise UsageError(f"database name {name!r} is longer than {MAX_NAME_BYTES} bytes; "
                         "PostgreSQL would silently truncate it", "choose a shorter name")
    return name


def scratch_name(name: str, tag: str) -> str:
    """A deterministic helper name for `name` (e.g. the new database db-reset builds)."""
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    short = name
    while len(short.encode("utf-8")) > 30:
        short = short[:-1]
    return f"{short}_dbstack_{tag}_{digest}"


def describe_connect_error(spec: ConnSpec, exc: Exception) -> DatabaseError:
    text = str(exc).strip()
    first = text.splitlines()[-1].strip() if text else type(exc).__name__
    low = text.lower()
    if "password authentication failed" in low:
        hint = "check the password (dbstack.local, docker-compose.yml or the target's password variable)"
    elif "does not exist" in low and "database" in low:
        hint = "create it with `inv db-create` (or `inv reset-db` for the local server)"
    elif "connection refused" in low or "no such file" in low or "could not connect" in low:
        hint = "is the server running? for the local one run `inv db-up` (or `inv reset-db`)"
    else:
        hint = "check the server and the target settings"
    return DatabaseError(f"cannot connect to {spec.url(masked=True)}: {first}", hint)


@contextmanager
def connect(spec: ConnSpec, *, autocommit: bool = True) -> Iterator:
    """A psycopg connection whose connect failure is one clear DatabaseError."""
    import psycopg

    try:
        conn = psycopg.connect(**spec.connect_kwargs(), autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise describe_connect_error(spec, exc) from None
    try:
        yield conn
    finally:
        conn.close()


def _fail(action: str, name: str, exc: Exception) -> DatabaseError:
    diag = getattr(exc, "diag", None)
    msg = (getattr(diag, "message_primary", None) or str(exc)).strip()
    hint = getattr(diag, "message_hint", None) or ""
    if getattr(exc, "sqlstate", None) == "42501":
        hint = hint or "connect as a role that may create databases (CREATEDB) or own this one"
    return DatabaseError(f"cannot {action} database {name!r}: {msg}", hint)


def exists(admin: ConnSpec, name: str) -> bool:
    with connect(admin) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def create_database(admin: ConnSpec, name: str) -> bool:
    """CREATE DATABASE unless it exists; True when created."""
    import psycopg
    from psycopg import sql

    check_name(name)
    with connect(admin) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # created concurrently: the outcome we wanted
        except psycopg.Error as exc:
            raise _fail("create", name, exc) from None
    return True


def terminate_sessions(conn, name: str) -> int:
    """End every other session connected to database `name`; how many were ended."""
    rows = conn.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
    return len(rows)


def drop_database(admin: ConnSpec, name: str) -> bool:
    """DROP DATABASE (ending its sessions first) if it exists; True when dropped."""
    import psycopg
    from psycopg import sql

    check_name(name)
    with connect(admin) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        if admin.dbname == name:
            raise UsageError(f"cannot drop database {name!r} while connected to it",
                             "connect to another database (dbstack.local.admin_db)")
        try:
            terminate_sessions(conn, name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise _fail("drop", name, exc) from None
    return True


def swap_in(admin: ConnSpec, new: str, name: str) -> None:
    """Make database `new` become `name`; the old `name` (if any) is dropped afterwards.

    Both renames run in one transaction, so either the old database is still
    in place or the new one is; nobody sees a moment without `name`.
    """
    import psycopg
    from psycopg import sql

    check_name(new)
    check_name(name)
    old = scratch_name(name, "old")
    drop_database(admin, old)  # left over by an interrupted swap: held the replaced data
    last: Exception | None = None
    for _ in range(5):
        with connect(admin, autocommit=False) as conn:
            try:
                with conn.transaction():
                    terminate_sessions(conn, name)
                    terminate_sessions(conn, new)
                    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                            sql.Identifier(name), sql.Identifier(old)))
                    conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(new), sql.Identifier(name)))
                break
            except psycopg.errors.ObjectInUse as exc:
                last = exc  # a client reconnected between terminate and rename
                time.sleep(0.2)
            except psycopg.Error as exc:
                raise _fail("rename", new, exc) from None
    else:
        raise DatabaseError(f"cannot swap the new database in as {name!r}: clients keep reconnecting ({last})",
                            f"stop the applications using {name!r} and run the command again; "
                            f"the previous database is unchanged")
    drop_database(admin, old)
