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
import signal
import threading
from collections.abc import Iterator

from ..postgres import MAINTENANCE_DB, create_database, drop_database, scratch_name, session
from ..settings import ConnSpec

__all__ = [
    "MAINTENANCE_DB",
    "SCRATCH_PREFIXES",
    "Terminated",
    "drop_leftovers",
    "leftovers",
    "scratch_database",
    "signals_held",
]


class Terminated(SystemExit):
    """SIGTERM arrived while a scratch database existed: unwind (running every ``finally``), exit 143."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the block (main thread only): cleanup that must finish."""
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
def scratch_database(
    server: ConnSpec, prefix: str = "dbstack_scratch", *, admin_db: str = MAINTENANCE_DB
) -> Iterator[ConnSpec]:
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
        held = signals_held()
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
                with signals_held():
                    try:
                        drop_database(server, name, admin_db=admin_db)
                    except Exception as exc:  # noqa: BLE001 - report, but do not hide the original error
                        import sys

                        print(
                            f"warning: could not drop scratch database {name!r}: {_first_line(exc)}; "
                            f'drop it by hand: DROP DATABASE "{name}"',
                            file=sys.stderr,
                        )


SCRATCH_PREFIXES = ("dbstack_scratch", "dbstack_lint", "genmigrate_desired", "genmigrate_replay", "genmigrate_dev")


def leftovers(
    server: ConnSpec, prefixes: tuple[str, ...] = SCRATCH_PREFIXES, *, admin_db: str = MAINTENANCE_DB
) -> list[str]:
    """Scratch databases on the server whose creating process is gone (on this machine).

    Names are ``<prefix>_<pid>_<8 hex>``; one whose pid is still alive here may be
    another run's working copy and is left alone.
    """
    import re

    pattern = re.compile(rf"^({'|'.join(re.escape(p) for p in prefixes)})_(\d+)_[0-9a-f]{{8}}$")
    with session(server.with_db(admin_db)) as pg:
        # A database someone is connected to is in use, whatever its name says.
        names = [
            r[0]
            for r in pg.execute(
                "SELECT d.datname FROM pg_catalog.pg_database d WHERE NOT EXISTS "
                "(SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.datname = d.datname)"
            ).fetchall()
        ]
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


def drop_leftovers(
    server: ConnSpec, prefixes: tuple[str, ...] = SCRATCH_PREFIXES, *, admin_db: str = MAINTENANCE_DB
) -> list[str]:
    """Drop the scratch databases an interrupted earlier run left behind; their names."""
    gone = leftovers(server, prefixes, admin_db=admin_db)
    for n in gone:
        drop_database(server, n, admin_db=admin_db)
    return gone


def _drop_leftovers_quietly(server: ConnSpec, prefix: str, admin_db: str) -> None:
    import sys

    try:
        for n in drop_leftovers(server, (prefix,), admin_db=admin_db):
            print(f"note: dropped scratch database {n!r} left behind by an interrupted earlier run", file=sys.stderr)
    except Exception:  # noqa: BLE001 — cleaning up after others must never stop this run
        pass
