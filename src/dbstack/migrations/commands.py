"""Settings-level commands: what tasks and tools call (alembic-style command layer).

They turn settings (database, target, directories) into a connection and
layers, then call the engine. No printing here: callers render the report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import ConnSpec, Settings
    from .engine import ApplyOptions, ApplyReport, StatusReport
    from .layers import Layers


def choose_layers(
    settings: Settings, *, db: str | None = None, dir: str | os.PathLike | None = None, dir_format: str | None = None
) -> Layers:
    """The layers of --db/--dir/--dir-format: --dir wins over --db; a --dir is atlas unless --dir-format says."""
    from .layers import Layers

    fmt = dir_format or ("atlas" if dir else settings.db(db).format)
    return Layers.of(settings.migration_dirs(db, dir), fmt)


def resolve(
    settings: Settings,
    *,
    db: str | None = None,
    target: str | None = None,
    dir: str | None = None,
    dir_format: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[ConnSpec, Layers, str]:
    """(connection, layers, configured revisions schema) for a database on a target.

    env replaces os.environ for the target's password/URL variables, so a caller
    holding a password in memory never has to put it in the process environment.
    """
    configured = settings.databases.get(db or settings.database)
    layers = choose_layers(settings, db=db, dir=dir, dir_format=dir_format)
    conn = settings.connection(target, db, env)
    return conn, layers, (configured.revisions_schema if configured else "")


def migrate(
    settings: Settings,
    *,
    db: str | None = None,
    target: str | None = None,
    dir: str | None = None,
    opts: ApplyOptions | None = None,
    out: Callable[[str], None] | None = None,
    dir_format: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ApplyReport:
    """Apply pending migrations of a configured database (or --dir) on a target."""
    from .engine import ApplyOptions, apply

    conn, layers, rev_schema = resolve(settings, db=db, target=target, dir=dir, dir_format=dir_format, env=env)
    if opts is None:
        opts = ApplyOptions(lock_timeout=settings.lock_timeout)
    if not opts.revisions_schema and rev_schema:
        opts = replace(opts, revisions_schema=rev_schema)
    with _local_server_hint(settings, target):
        return apply(conn, layers, opts, out=out)


# What a refused or absent local server looks like in libpq's message.
_DOWN = ("connection refused", "could not connect", "no such file or directory", "timeout expired")


@contextmanager
def _local_server_hint(settings: Settings, target: str | None) -> Iterator[None]:
    """The local target's server is down: say what db-inspect and db-create say (run `inv db-up`)."""
    from ..errors import DatabaseError

    try:
        yield
    except DatabaseError as exc:
        if (
            exc.message.startswith("cannot connect")
            and any(k in exc.message.lower() for k in _DOWN)
            and settings.target_settings(target).kind == "local"
        ):
            exc.hint = (
                "is the local server running? start it with `inv db-up` "
                "(or `inv reset-db` to create and migrate the database)"
            )
        raise


def migration_status(
    settings: Settings,
    *,
    db: str | None = None,
    target: str | None = None,
    dir: str | None = None,
    dir_format: str | None = None,
    revisions_schema: str | None = None,
) -> StatusReport:
    """Atlas's `migrate status` for a configured database (or --dir) on a target."""
    from .engine import status

    conn, layers, rev_schema = resolve(settings, db=db, target=target, dir=dir, dir_format=dir_format)
    with _local_server_hint(settings, target):
        return status(conn, layers, revisions_schema=revisions_schema or rev_schema or None)
