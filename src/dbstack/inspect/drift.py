"""Drift: does the live schema match what the migrations build?

The migration directory (all layers) is replayed by our engine into a
scratch database on the live database's server; both are inspected and
compared object by object. The live database is only read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DbstackError, DriftDetected
from .catalog import read_catalog
from .diff import Change, diff, render_changes
from .scratch import MAINTENANCE_DB, scratch_database

if TYPE_CHECKING:
    from ..migrations.layers import Layers
    from ..settings import ConnSpec, Settings


@dataclass
class DriftReport:
    url: str                           # the live database, password masked
    dirs: tuple[str, ...]
    files: int                         # migration files replayed
    changes: list[Change] = field(default_factory=list)
    schemas: tuple[str, ...] | None = None

    @property
    def in_sync(self) -> bool:
        return not self.changes

    def render_text(self) -> str:
        if self.in_sync:
            return (f"No schema drift: {self.url} matches its migrations "
                    f"({self.files_text()} replayed on a scratch database).\n")
        count = len(self.changes)
        head = (f"Schema drift: {self.url} differs from its migrations "
                f"({count} difference{'s' if count != 1 else ''}; {self.files_text()} replayed):\n")
        return head + render_changes(self.changes)

    def files_text(self) -> str:
        return f"{self.files} migration file{'s' if self.files != 1 else ''}"

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "dirs": list(self.dirs), "files": self.files, "in_sync": self.in_sync,
                "schemas": list(self.schemas) if self.schemas else None,
                "changes": [c.to_dict() for c in self.changes]}

    def check(self, *, output: str | None = None) -> None:
        """Raise DriftDetected (exit 2) when the schema drifted; output is printed before the error line."""
        if not self.in_sync:
            count = len(self.changes)
            raise DriftDetected(
                f"schema drift: {count} difference{'s' if count != 1 else ''} between the migrations and {self.url}",
                "write a migration for intended changes (`inv migrate-new`), or revert the manual change "
                "in the database",
                output=self.render_text() if output is None else output)


def replay(scratch: "ConnSpec", layers: "Layers", *, revisions_schema: str | None = None,
           amount: int | None = None) -> int:
    """Apply the layers (or their first `amount` files) to a scratch database; returns the files applied."""
    from ..migrations.engine import ApplyOptions, apply

    try:
        report = apply(scratch, layers, ApplyOptions(revisions_schema=revisions_schema or None, amount=amount,
                                                     lock_timeout=0))
    except DbstackError as exc:
        raise type(exc)(f"replaying the migrations on a scratch database failed: {exc.message}",
                        exc.hint or "fix the migration so it applies to an empty database") from None
    return len(report.applied)


def drift(live: "ConnSpec", layers: "Layers", *, revisions_schema: str | None = None,
          server: "ConnSpec | None" = None, admin_db: str = MAINTENANCE_DB) -> DriftReport:
    """Compare live with what layers build on a scratch database of server (default: live's server)."""
    from concurrent.futures import ThreadPoolExecutor

    layers.validate()
    only = [live.search_path] if live.search_path else None
    # The live database is read while the replay runs: the server does both at once.
    with ThreadPoolExecutor(max_workers=1) as pool:
        live_catalog = pool.submit(read_catalog, live, schemas=only)
        try:
            with scratch_database(server or live, admin_db=admin_db) as scratch:
                files = replay(scratch, layers, revisions_schema=revisions_schema)
                desired = read_catalog(scratch, schemas=only)
        except BaseException:
            live_catalog.cancel()
            raise
        actual = live_catalog.result()
    return DriftReport(url=live.url(masked=True), dirs=tuple(str(d.path) for d in layers.dirs), files=files,
                       changes=diff(desired, actual), schemas=tuple(only) if only else None)


def check_drift(settings: "Settings", *, db: str | None = None, target: str | None = None,
                dir: str | None = None, dir_format: str | None = None) -> DriftReport:
    """Drift of a configured database (or --dir) on a target."""
    from ..migrations.commands import resolve

    live, layers, rev_schema = resolve(settings, db=db, target=target, dir=dir, dir_format=dir_format)
    admin = settings.local.admin_db if settings.target_settings(target).kind == "local" else MAINTENANCE_DB
    return drift(live, layers, revisions_schema=rev_schema or None, admin_db=admin)
