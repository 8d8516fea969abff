"""Drift: does the live schema match what the migrations build?

The migration directory (all layers) is replayed by our engine into a
scratch database on the live database's server; both are inspected and
compared object by object. The live database is only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DbstackError, DriftDetected
from ..files import atomic_write
from ..inspect.catalog import read_catalog
from ..inspect.diff import Change, diff, render_changes
from ..inspect.scratch import MAINTENANCE_DB, scratch_database, signals_held

if TYPE_CHECKING:
    from pathlib import Path

    from ..inspect.catalog import Catalog
    from ..migrations.layers import Layers
    from ..settings import ConnSpec, Settings


@dataclass
class DriftReport:
    url: str  # the live database, password masked
    dirs: tuple[str, ...]
    files: int  # migration files replayed
    changes: list[Change] = field(default_factory=list)
    schemas: tuple[str, ...] | None = None
    cached: bool = False  # the desired schema came from the replay cache
    # The two catalogs compared (for planning repair SQL; not part of the JSON report).
    desired: Catalog | None = field(default=None, repr=False)
    actual: Catalog | None = field(default=None, repr=False)

    @property
    def in_sync(self) -> bool:
        return not self.changes

    def render_text(self) -> str:
        if self.in_sync:
            return f"No schema drift: {self.url} matches its migrations ({self.source_text()}).\n"
        count = len(self.changes)
        head = (
            f"Schema drift: {self.url} differs from its migrations "
            f"({count} difference{'s' if count != 1 else ''}; {self.source_text()}):\n"
        )
        return head + render_changes(self.changes)

    def files_text(self) -> str:
        return f"{self.files} migration file{'s' if self.files != 1 else ''}"

    def source_text(self) -> str:
        if self.cached:
            return f"{self.files_text()}, replayed earlier on this server version; --no-cache replays again"
        return f"{self.files_text()} replayed on a scratch database"

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "dirs": list(self.dirs),
            "files": self.files,
            "in_sync": self.in_sync,
            "cached": self.cached,
            "schemas": list(self.schemas) if self.schemas else None,
            "changes": [c.to_dict() for c in self.changes],
        }

    def check(self, *, output: str | None = None) -> None:
        """Raise DriftDetected (exit 2) when the schema drifted; output is printed before the error line."""
        if not self.in_sync:
            count = len(self.changes)
            raise DriftDetected(
                f"schema drift: {count} difference{'s' if count != 1 else ''} between the migrations and {self.url}",
                "write a migration for intended changes (`inv migrate-new`), or revert the manual change "
                "in the database",
                output=self.render_text() if output is None else output,
            )


def replay(scratch: ConnSpec, layers: Layers, *, revisions_schema: str | None = None, amount: int | None = None) -> int:
    """Apply the layers (or their first `amount` files) to a scratch database; returns the files applied."""
    from ..migrations.engine import ApplyOptions, apply

    try:
        report = apply(
            scratch, layers, ApplyOptions(revisions_schema=revisions_schema or None, amount=amount, lock_timeout=0)
        )
    except DbstackError as exc:
        raise type(exc)(
            f"replaying the migrations on a scratch database failed: {exc.message}",
            exc.hint or "fix the migration so it applies to an empty database",
        ) from None
    return len(report.applied)


def cache_key(
    layers: Layers, server_version: int, revisions_schema: str | None, schemas: list[str] | None, owners: bool = False
) -> str:
    """What the desired schema depends on: every file's name and bytes, the server version, the options."""
    import hashlib

    h = hashlib.sha256(
        f"dbstack-drift-v{CACHE_FORMAT}\0{server_version}\0{revisions_schema or ''}\0"
        f"{','.join(schemas or [])}\0{'owners' if owners else ''}".encode()
    )
    for f in layers.files():
        h.update(f.name.encode("utf-8", "surrogateescape") + b"\0")
        data = f.read()
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:32]


def cache_file(
    cache_dir: Path,
    live: ConnSpec,
    layers: Layers,
    revisions_schema: str | None,
    schemas: list[str] | None,
    owners: bool = False,
) -> Path:
    """Where the desired schema of layers replayed on live's server version is cached."""
    from ..postgres import server_version

    key = cache_key(layers, server_version(live), revisions_schema, schemas, owners)
    return cache_dir / f"drift-{key}.json"


CACHE_FORMAT = 2  # 2: the catalog holds security (RLS, policies, privileges), composite/range types, inheritance
CACHE_KEEP = 20


def load_cached(path: Path) -> tuple[Catalog, int] | None:
    """(desired catalog, files replayed) from a cache file, or None when it is missing or unreadable."""
    import json

    from ..inspect.catalog import catalog_from_dict

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return catalog_from_dict(data["catalog"]), int(data["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable: replay


def store_cached(path: Path, cat: Catalog, files: int) -> None:
    """Write a cache file (best effort) and keep only the newest CACHE_KEEP beside it."""
    import json

    try:
        atomic_write(path, json.dumps({"files": files, "catalog": cat.to_dict()}))
        # Keep the newest few: one per directory state worth returning to.
        old = sorted(path.parent.glob("drift-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[CACHE_KEEP:]
        for p in old:
            p.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written only costs time


def drift(
    live: ConnSpec,
    layers: Layers,
    *,
    revisions_schema: str | None = None,
    server: ConnSpec | None = None,
    admin_db: str = MAINTENANCE_DB,
    cache_dir: Path | None = None,
    owners: bool = False,
) -> DriftReport:
    """Compare live with what layers build on a scratch database of server (default: live's server).

    With cache_dir, the desired schema of an identical directory on the same
    server version is read from there instead of replaying it again.
    """
    from concurrent.futures import ThreadPoolExecutor

    layers.validate()
    only = [live.search_path] if live.search_path else None
    cache_path = None
    if cache_dir is not None:
        cache_path = cache_file(cache_dir, live, layers, revisions_schema, only, owners)
        hit = load_cached(cache_path)
        if hit is not None:
            desired, files = hit
            actual = read_catalog(live, schemas=only, owners=owners)
            return DriftReport(
                url=live.url(masked=True),
                dirs=tuple(str(d.path) for d in layers.dirs),
                files=files,
                changes=diff(desired, actual),
                schemas=tuple(only) if only else None,
                cached=True,
                desired=desired,
                actual=actual,
            )
    # The live database is read while the replay runs: the server does both at once.
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The worker thread inherits the mask it is started with: with SIGINT/SIGTERM
        # blocked there, they reach only this thread, whose scratch_database drops
        # what it created (a worker taking them would bypass that window).
        with signals_held():
            live_catalog = pool.submit(read_catalog, live, schemas=only, owners=owners)
        try:
            with scratch_database(server or live, admin_db=admin_db) as scratch:
                files = replay(scratch, layers, revisions_schema=revisions_schema)
                desired = read_catalog(scratch, schemas=only, owners=owners)
        except BaseException:
            live_catalog.cancel()
            raise
        actual = live_catalog.result()
    if cache_path is not None:
        store_cached(cache_path, desired, files)
    return DriftReport(
        url=live.url(masked=True),
        dirs=tuple(str(d.path) for d in layers.dirs),
        files=files,
        changes=diff(desired, actual),
        schemas=tuple(only) if only else None,
        desired=desired,
        actual=actual,
    )


def check_drift(
    settings: Settings,
    *,
    db: str | None = None,
    target: str | None = None,
    dir: str | None = None,
    dir_format: str | None = None,
    cache: bool = True,
    owners: bool = False,
) -> DriftReport:
    """Drift of a configured database (or --dir) on a target.

    The desired schema of a directory already replayed on the same server
    version is cached under ``.dbstack/cache`` (git-ignored); ``cache=False``
    replays anyway.
    """
    from ..migrations.commands import resolve

    live, layers, rev_schema = resolve(settings, db=db, target=target, dir=dir, dir_format=dir_format)
    admin = settings.local.admin_db if settings.target_settings(target).kind == "local" else MAINTENANCE_DB
    cache_dir = settings.root / ".dbstack" / "cache" if cache else None
    return drift(live, layers, revisions_schema=rev_schema or None, admin_db=admin, cache_dir=cache_dir, owners=owners)
