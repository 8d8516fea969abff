"""A throwaway database on the same server, dropped whatever happens.

``scratch_database(server)`` creates ``<prefix>_<pid>_<random>`` through the
server's maintenance database and drops it on the way out: normal exit, an
exception, Ctrl-C (SIGINT) or SIGTERM (turned into an exception for the
duration, so the ``finally`` runs). While dropping, SIGINT and SIGTERM are
held back so a second Ctrl-C cannot leave the database behind.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import signal
import threading
from typing import Iterator

from ..errors import DatabaseError
from ..settings import ConnSpec

MAINTENANCE_DB = "postgres"


class Terminated(SystemExit):
    """SIGTERM arrived while a scratch database existed: unwind (running every ``finally``), exit 143."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


def _admin(server: ConnSpec, admin_db: str) -> dict:
    return server.with_db(admin_db).connect_kwargs()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def create_database(server: ConnSpec, name: str, *, admin_db: str = MAINTENANCE_DB) -> None:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(**_admin(server, admin_db), autocommit=True) as pg:
            pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        raise DatabaseError(f"cannot create a scratch database on {server.host}:{server.port}: "
                            f"role {server.user!r} lacks CREATEDB",
                            "grant CREATEDB to the role, or run against a dev server where it has it") from None
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to {server.host}:{server.port}/{admin_db} "
                            f"({server.with_db(admin_db)}): {_first_line(exc)}",
                            "check that the server is running and the target's credentials") from None


def drop_database(server: ConnSpec, name: str, *, admin_db: str = MAINTENANCE_DB) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(**_admin(server, admin_db), autocommit=True) as pg:
        # FORCE ends sessions a failed run may have left connected (PostgreSQL 13+).
        pg.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def scratch_name(prefix: str = "dbstack_scratch") -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, frame):  # noqa: ARG001
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def scratch_database(server: ConnSpec, prefix: str = "dbstack_scratch", *,
                     admin_db: str = MAINTENANCE_DB) -> Iterator[ConnSpec]:
    """Yield the ConnSpec of a new empty database on server's server; always drop it."""
    name = scratch_name(prefix)
    with _sigterm_raises():
        with _signals_held():
            create_database(server, name, admin_db=admin_db)
        try:
            yield server.with_db(name)
        finally:
            with _signals_held():
                try:
                    drop_database(server, name, admin_db=admin_db)
                except Exception as exc:  # report, but do not hide the original error
                    import sys
                    print(f"warning: could not drop scratch database {name!r}: {_first_line(exc)}; "
                          f"drop it by hand: DROP DATABASE \"{name}\"", file=sys.stderr)
