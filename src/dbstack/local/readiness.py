"""Wait until a PostgreSQL server accepts real connections: a poll with a deadline.

No sleeps of fixed length: we try a real psycopg connection every few
milliseconds, so the wait ends right after the server accepts connections.
A port that accepts TCP is not enough (Docker's port proxy accepts before the
server listens), and a server that answers "starting up" (57P03) or "database
does not exist yet" (3D000, while an image's init script still creates it) is
not ready either. Between attempts we ask the backend whether the server
process is still alive, so a crashed server fails fast with its last log
lines instead of running into the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import BackendError, DatabaseError
from ..settings import ConnSpec

# Wrong credentials will not fix themselves by waiting. Every other failure means
# "not ready yet" and is tried again: a refused connection, cannot_connect_now
# (57P03: starting up, shutting down, recovering), invalid_catalog_name (3D000:
# the init script has not created the database yet).
AUTH_STATES = frozenset({"28P01", "28000"})

POLL_INTERVAL = 0.01  # seconds between attempts
ALIVE_INTERVAL = 0.25  # seconds between "is the process still there?" checks


@dataclass(frozen=True)
class Readiness:
    elapsed: float  # seconds spent waiting
    attempts: int  # connection attempts made
    ready_at: float  # time.monotonic() when the first connection succeeded


def _sqlstate(exc: Exception) -> str | None:
    state = getattr(exc, "sqlstate", None)
    if state:
        return state
    # Connection-time errors carry the server's message but often no
    # sqlstate attribute; the texts below are PostgreSQL's own.
    text = str(exc)
    if (
        "the database system is starting up" in text
        or "the database system is shutting down" in text
        or "the database system is not yet accepting connections" in text
        or "the database system is in recovery mode" in text
    ):
        return "57P03"
    if "password authentication failed" in text:
        return "28P01"
    if "does not exist" in text and "database" in text:
        return "3D000"
    return None


def wait_ready(
    conn: ConnSpec,
    *,
    timeout: float,
    what: str = "PostgreSQL",
    alive: Callable[[], str | None] | None = None,
    logs: Callable[[int], str] | None = None,
    interval: float = POLL_INTERVAL,
) -> Readiness:
    """Return once `SELECT 1` succeeds on conn; raise BackendError on death or deadline.

    alive() returns None while the server process runs, else why it is gone.
    logs(n) returns the server's last n log lines for the error message.
    """
    import psycopg

    start = time.monotonic()
    deadline = start + timeout
    next_alive = start + ALIVE_INTERVAL
    attempts = 0
    last_error = ""
    kwargs = conn.connect_kwargs()
    while True:
        attempts += 1
        now = time.monotonic()
        # libpq rounds connect_timeout below 2 up to 2 seconds; a hung attempt
        # must not keep us from checking whether the server is still alive.
        kwargs["connect_timeout"] = max(2, min(10, int(deadline - now) + 1))
        try:
            with psycopg.connect(**kwargs, autocommit=True) as c:
                c.execute("SELECT 1")
            done = time.monotonic()
            return Readiness(elapsed=done - start, attempts=attempts, ready_at=done)
        except psycopg.Error as exc:
            state = _sqlstate(exc)
            last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if state in AUTH_STATES:
                raise DatabaseError(
                    f"{what} on {conn.host}:{conn.port} rejected the password of user {conn.user!r}",
                    "the server's data was initialized with other credentials: restore them in "
                    "dbstack.local (or docker-compose.yml), or run `inv reset-db` to start over "
                    "(this deletes the local database)",
                ) from None
        now = time.monotonic()
        if alive is not None and now >= next_alive:
            next_alive = now + ALIVE_INTERVAL
            gone = alive()
            if gone:
                tail = logs(20) if logs else ""
                raise BackendError(
                    f"{what} stopped before accepting connections ({gone})"
                    + (f"; last log lines:\n{_indent(tail)}" if tail else ""),
                    "fix the cause shown in the log, then run the command again",
                )
        if now >= deadline:
            tail = logs(20) if logs else ""
            raise BackendError(
                f"{what} did not accept connections on {conn.host}:{conn.port} within {timeout:g}s "
                f"(last error: {last_error})" + (f"; last log lines:\n{_indent(tail)}" if tail else ""),
                "see the log above; raise dbstack.ready_timeout if the machine is just slow",
            )
        time.sleep(min(interval, max(0.0, deadline - now)))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
