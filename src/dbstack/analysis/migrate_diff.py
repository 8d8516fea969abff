"""Hand-made changes become migrations (`migrate-diff`), and drift becomes repair SQL (`db-drift --sql`).

``migrate_diff``: the desired schema is the live (dev) database; the current
one is the migration directory replayed on a scratch database (the drift
replay, served from its cache when the directory is unchanged). The
difference is planned as DDL (the genmigrate planner), then verified before
anything is written: the directory plus the new file are copied to a
temporary directory and re-hashed; on one scratch database the directory is
replayed and the new file's statements run one by one through the linter
(so the findings come from the same run), and the result is compared with
the live catalog. Only an exact match writes the file (``force`` writes it
anyway) into the real directory, with the layer's atlas.sum re-hashed.

``repair_sql``: the same planner in the other direction — the statements
that bring the live database back to what its migrations build.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DiffUnverified, MigrationError
from ..inspect.diff import Change, diff, render_changes

if TYPE_CHECKING:
    from ..inspect.catalog import Catalog
    from ..migrations.layers import Layers
    from ..settings import ConnSpec, Settings
    from .drift import DriftReport
    from .lint import LintReport

LIVE = "database"
MIGRATIONS = "migrations"


# --------------------------------------------------------------------------- db-drift --sql


def repair_sql(report: DriftReport) -> tuple[list[str], list[str]]:
    """(statements with their comment lines, changes the planner cannot write) that undo the drift."""
    from ..inspect.planner import plan_partial

    if report.in_sync or report.desired is None or report.actual is None:
        return [], []
    steps, unsupported = plan_partial(report.desired, report.actual, report.changes, recreate_enums=True)
    return [f"-- {s.comment}\n{s.sql}" for s in steps], unsupported


def render_repair(report: DriftReport) -> str:
    statements, unsupported = repair_sql(report)
    if report.in_sync:
        return ""
    out = [
        "",
        f"-- SQL that brings {report.url} back to its migrations.",
        "-- NOT APPLIED: review it, then run it yourself (e.g. psql -v ON_ERROR_STOP=1 -1 -f FILE).",
    ]
    out += statements
    if unsupported:
        out.append("-- Not written (no safe statement; change these by hand):")
        out += [f"--   {u}" for u in unsupported]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- migrate-diff


@dataclass
class DiffResult:
    url: str
    changes: list[Change] = field(default_factory=list)
    file: Path | None = None  # the new migration (None: nothing written)
    content: str = ""
    statements: int = 0
    unsupported: list[str] = field(default_factory=list)
    remaining: list[Change] = field(default_factory=list)  # live vs directory + new file, after verification
    lint: LintReport | None = None
    cached: bool = False
    forced: bool = False

    @property
    def verified(self) -> bool:
        return not self.remaining and not self.unsupported

    def render_text(self, root: Path | None = None) -> str:
        if not self.changes:
            return f"No changes: {self.url} matches its migrations; nothing written.\n"
        n = len(self.changes)
        lines = [
            f"{n} change{'s' if n != 1 else ''} in {self.url} that the migrations do not have:",
            render_changes(self.changes, desired_label=LIVE, actual_label=MIGRATIONS).rstrip("\n"),
        ]
        if self.file is not None:
            from .lint import display_path

            shown = display_path(self.file, root)
            lines.append(
                f"created {shown} ({self.statements} statement{'s' if self.statements != 1 else ''}) "
                "and re-hashed atlas.sum"
            )
            if self.verified:
                lines.append("verified: the directory plus the new file replay to exactly the live schema")
            else:
                lines.append("NOT verified (--force): the new file does not reproduce the live schema:")
                lines += [f"  - {u}" for u in self.unsupported]
                lines.append(
                    render_changes(self.remaining, desired_label=LIVE, actual_label="migrations + new file").rstrip(
                        "\n"
                    )
                )
        if self.lint is not None:
            lines.append("lint of the new file:" if self.file is not None else "lint of the planned file:")
            lines.append(self.lint.render_text().rstrip("\n"))
        return "\n".join(x for x in lines if x) + "\n"


def current_catalog(
    live: ConnSpec,
    layers: Layers,
    *,
    revisions_schema: str | None,
    admin_db: str,
    cache_dir: Path | None,
    schemas: list[str] | None,
) -> tuple[Catalog, bool]:
    """The schema the migrations build: the drift cache, else a replay on a scratch database."""
    from ..inspect.catalog import read_catalog
    from ..inspect.scratch import scratch_database
    from .drift import cache_file, load_cached, replay, store_cached

    cache_path = None
    if cache_dir is not None:
        cache_path = cache_file(cache_dir, live, layers, revisions_schema, schemas)
        hit = load_cached(cache_path)
        if hit is not None:
            return hit[0], True
    with scratch_database(live, admin_db=admin_db) as scratch:
        files = replay(scratch, layers, revisions_schema=revisions_schema)
        cat = read_catalog(scratch, schemas=schemas)
    if cache_path is not None:
        store_cached(cache_path, cat, files)
    return cat, False


def _verify(
    live_catalog: Catalog,
    layers: Layers,
    layer: str | None,
    file_name: str,
    content: bytes,
    server: ConnSpec,
    *,
    revisions_schema: str | None,
    admin_db: str,
    schemas: list[str] | None,
    root: Path | None,
    current: Catalog | None = None,
) -> tuple[list[Change], LintReport]:
    """Replay a copy of the directory plus the new file; (live vs result, lint findings of the new file)."""
    from ..inspect.catalog import read_catalog
    from ..inspect.scratch import scratch_database
    from ..migrations.layers import Layers
    from .lint import Linter, LintReport, display_path

    target = layers.layer(layer)
    with tempfile.TemporaryDirectory(prefix="dbstack-diff-") as tmp:
        copies = []
        for i, d in enumerate(layers.dirs):
            dst = Path(tmp) / str(i) / d.path.name
            shutil.copytree(d.path, dst)
            copies.append(dst)
        new_dir = copies[layers.dirs.index(target)]
        (new_dir / file_name).write_bytes(content)
        copy = Layers.of(copies, layers.dirs[0].format)
        new_layer = copy.dirs[layers.dirs.index(target)]
        new_layer.refresh()
        new_layer.write_sum()
        linter = Linter(copy, strict=False, root=root)
        linter.integrity()
        linted = [f for f in copy.files() if f.path.resolve() == (new_dir / file_name).resolve()]
        with scratch_database(server, prefix="dbstack_diff", admin_db=admin_db) as scratch:
            if copy.files()[-1:] == linted and schemas is None:
                # The linter's inspections (all schemas) double as the verification: its last one is the result.
                linter.analyze(scratch, linted, revisions_schema=revisions_schema, replayed=current)
                last = linter.last_catalog
                result = last if last is not None and not linter.stale else read_catalog(scratch, schemas=schemas)
            else:
                if copy.files()[-1:] == linted:
                    linter.analyze(scratch, linted, revisions_schema=revisions_schema)
                else:  # the new file does not sort last (cannot happen with next_version); replay all
                    from .drift import replay

                    replay(scratch, copy, revisions_schema=revisions_schema)
                result = read_catalog(scratch, schemas=schemas)
        real = display_path(target.path / file_name, root)
        findings = [replace(f, file=real) if f.file.endswith(file_name) else f for f in linter.findings]
    return diff(live_catalog, result), LintReport(findings=findings, files=[real])


def _require_applied(live: ConnSpec, layers: Layers, revisions_schema: str | None) -> None:
    """Refuse while files are pending: their objects would look like hand-made drops and be undone."""
    from ..migrations.engine import status

    pending = status(live, layers, revisions_schema=revisions_schema).pending
    if pending:
        n = len(pending)
        shown = ", ".join(pending[:5]) + (", …" if n > 5 else "")
        them = "them" if n != 1 else "it"
        raise MigrationError(
            f"{n} migration file{'s are' if n != 1 else ' is'} not applied to {live.url(masked=True)} ({shown}): "
            f"migrate-diff would write a file undoing {them}",
            f"apply {them} first (`inv migrate`), then run migrate-diff again; nothing was written",
        )


def migrate_diff(
    settings: Settings,
    name: str,
    *,
    db: str | None = None,
    target: str | None = None,
    layer: str | None = None,
    dir: str | None = None,
    force: bool = False,
    cache: bool = True,
    now: datetime | None = None,
) -> DiffResult:
    """Write the live database's hand-made changes as the next migration (dev targets only)."""
    from concurrent.futures import ThreadPoolExecutor

    from ..inspect.catalog import read_catalog
    from ..inspect.planner import plan_partial, render
    from ..inspect.scratch import MAINTENANCE_DB
    from ..migrations.commands import resolve
    from ..migrations.layers import check_migration_name

    check_migration_name(name)
    # No --force here: that flag writes an unverified file, it does not widen the targets.
    t = settings.require_dev(target, False, "migrate-diff")
    live, layers, rev_schema = resolve(settings, db=db, target=target, dir=dir)
    layers.validate()
    layers.layer(layer)  # an unknown or missing --layer fails before any work
    _require_applied(live, layers, rev_schema or None)
    only = [live.search_path] if live.search_path else None
    admin = settings.local.admin_db if t.kind == "local" else MAINTENANCE_DB
    cache_dir = settings.root / ".dbstack" / "cache" if cache else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        live_future = pool.submit(read_catalog, live, schemas=only)
        try:
            current, cached = current_catalog(
                live, layers, revisions_schema=rev_schema or None, admin_db=admin, cache_dir=cache_dir, schemas=only
            )
        except BaseException:
            live_future.cancel()
            raise
        live_catalog = live_future.result()
    result = DiffResult(url=live.url(masked=True), cached=cached)
    result.changes = diff(live_catalog, current)
    if not result.changes:
        return result
    steps, result.unsupported = plan_partial(live_catalog, current, result.changes)
    if not steps:
        raise DiffUnverified(
            "migrate-diff cannot write any of the changes:\n" + "\n".join(f"  - {u}" for u in result.unsupported),
            "write this migration by hand (`inv migrate-new NAME`, then `inv migrate-hash`)",
            output=result.render_text(settings.root),
        )
    now = now or datetime.now(UTC)
    version = layers.next_version(now)
    file_name = f"{version}_{name}.sql"
    header = f"-- Generated by `inv migrate-diff {name}` from the changes made by hand in {live.url(masked=True)}.\n"
    result.content = header + render(steps)
    result.statements = len(steps)
    result.remaining, result.lint = _verify(
        live_catalog,
        layers,
        layer,
        file_name,
        result.content.encode("utf-8"),
        live,
        revisions_schema=rev_schema or None,
        admin_db=admin,
        schemas=only,
        root=settings.root,
        current=current,
    )
    if not result.verified and not force:
        lines = [f"  - {u}" for u in result.unsupported]
        lines += [f"  {c.describe(desired_label=LIVE, actual_label='migrations + new file')}" for c in result.remaining]
        raise DiffUnverified(
            "migrate-diff: the planned file would not reproduce the live schema; nothing written. "
            "What the planner cannot express yet:\n" + "\n".join(lines),
            "write that part by hand (`inv migrate-new NAME`), or pass --force to write the planned file anyway",
            output=result.render_text(settings.root),
        )
    result.forced = not result.verified
    result.file = layers.new_file(name, layer, now=now, content=result.content.encode("utf-8"))
    if result.file.name != file_name:  # the directory changed meanwhile: findings name the old file
        result.lint = None
    return result
