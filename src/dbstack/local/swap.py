"""Swapping a rebuilt database in under its name (db-reset), identifiers always quoted.

Creating, dropping and naming databases, and connecting with one error
wording, live in :mod:`dbstack.postgres`.
"""

from __future__ import annotations

import time

from ..errors import DatabaseError
from ..postgres import check_name, drop_database, scratch_name, session, statement_error, terminate_sessions
from ..settings import ConnSpec


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
        with session(admin, autocommit=False) as conn:
            try:
                with conn.transaction():
                    terminate_sessions(conn, name)
                    terminate_sessions(conn, new)
                    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                        conn.execute(
                            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(name), sql.Identifier(old))
                        )
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(new), sql.Identifier(name))
                    )
                break
            except psycopg.errors.ObjectInUse as exc:
                last = exc  # a client reconnected between terminate and rename
                time.sleep(0.2)
            except psycopg.Error as exc:
                raise statement_error("rename", new, exc) from None
    else:
        raise DatabaseError(
            f"cannot swap the new database in as {name!r}: clients keep reconnecting ({last})",
            f"stop the applications using {name!r} and run the command again; the previous database is unchanged",
        )
    drop_database(admin, old)
