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
    """Yield the ConnSpec of a new empty database on server's server; always drop it.

    The window is airtight: the signals are blocked from before CREATE DATABASE
    until the ``try`` whose ``finally`` drops it is entered, so a Ctrl-C or
    SIGTERM arriving right after the CREATE is delivered inside that ``try``.
    Leftovers of a SIGKILL or a power cut carry ``prefix`` and the pid that
    made them: :func:`drop_leftovers` (run before each new one) removes them.
    """
    name = scratch_name(prefix)
    with _sigterm_raises():
        created = False
        held = _signals_held()
        held.__enter__()
        try:
            try:
                _drop_leftovers_quietly(server, prefix, admin_db)
                create_database(server, name, admin_db=admin_db)
                created = True
            finally:
                # Pending signals are delivered here, inside the outer try: the drop below runs.
                held.__exit__(None, None, None)
            yield server.with_db(name)
        finally:
            if created:
                with _signals_held():
                    try:
                        drop_database(server, name, admin_db=admin_db)
                    except Exception as exc:  # report, but do not hide the original error
                        import sys
                        print(f"warning: could not drop scratch database {name!r}: {_first_line(exc)}; "
                              f"drop it by hand: DROP DATABASE \"{name}\"", file=sys.stderr)


SCRATCH_PREFIXES = ("dbstack_scratch", "dbstack_lint", "genmigrate_desired", "genmigrate_replay", "genmigrate_dev")


def leftovers(server: ConnSpec, prefixes: tuple[str, ...] = SCRATCH_PREFIXES, *,
              admin_db: str = MAINTENANCE_DB) -> list[str]:
    """Scratch databases on the server whose creating process is gone (on this machine).

    Names are ``<prefix>_<pid>_<8 hex>``; one whose pid is still alive here may be
    another run's working copy and is left alone.
    """
    import re

    import psycopg

    pattern = re.compile(r"^(%s)_(\d+)_[0-9a-f]{8}$" % "|".join(re.escape(p) for p in prefixes))
    with psycopg.connect(**_admin(server, admin_db), autocommit=True) as pg:
        # A database someone is connected to is in use, whatever its name says.
        names = [r[0] for r in pg.execute(
            "SELECT d.datname FROM pg_catalog.pg_database d WHERE NOT EXISTS "
            "(SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.datname = d.datname)").fetchall()]
    out = []
    for n in names:
        m = pattern.match(n)
        if m and not _pid_alive(int(m.group(2))):
            out.append(n)
    return sorted(out)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_leftovers(server: ConnSpec, prefixes: tuple[str, ...] = SCRATCH_PREFIXES, *,
                   admin_db: str = MAINTENANCE_DB) -> list[str]:
    """Drop the scratch databases an interrupted earlier run left behind; their names."""
    gone = leftovers(server, prefixes, admin_db=admin_db)
    for n in gone:
        drop_database(server, n, admin_db=admin_db)
    return gone


def _drop_leftovers_quietly(server: ConnSpec, prefix: str, admin_db: str) -> None:
    import sys

    try:
        for n in drop_leftovers(server, (prefix,), admin_db=admin_db):
            print(f"note: dropped scratch database {n!r} left behind by an interrupted earlier run",
                  file=sys.stderr)
    except Exception:  # noqa: BLE001 — cleaning up after others must never stop this run
        pass
