"""The workflows of the seed's justfile, as library functions the tasks call.

dev (local server, refused elsewhere unless forced):
    reset_db             this project's server removed and recreated, database created, migrated
    db_reset             new database built and migrated under a temporary name, then swapped in
    dev_migrate_refresh  re-hash the directories and apply (--fresh: drop the database first)
anywhere:
    db_create            CREATE DATABASE unless it exists
production (guarded):
    prod_migrate_preview lint → status → dry run; changes nothing
    prod_migrate         the same, then confirmation, then apply; lint errors stop it
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, LintFailed, Refused, UsageError
from .files import atomic_write
from .migrations.commands import choose_layers
from .settings import ConnSpec, Settings, TargetSettings

Out = Callable[[str], None]


# --------------------------------------------------------------------------- targets


def local_target(settings: Settings) -> TargetSettings:
    """The target that means "this project's local server"."""
    current = settings.targets.get(settings.target)
    if current is not None and current.kind == "local":
        return current
    named = settings.targets.get("local")
    if named is not None and named.kind == "local":
        return named
    for t in settings.targets.values():
        if t.kind == "local":
            return t
    raise ConfigError(
        "no target of kind `local` is configured",
        "add `local: {kind: local, dev: true}` under dbstack.targets in invoke.yaml",
    )


def admin_connection(settings: Settings, target: str | None = None) -> ConnSpec:
    """A connection to the target's server for CREATE/DROP DATABASE (not to the database itself)."""
    t = settings.target_settings(target)
    if t.kind == "local":
        return settings.local_server()
    return settings.connection(t.name).with_db("postgres")


def ensure_server(settings: Settings, target: str | None, out: Out, backend: str | None = None):
    """Start the local server when the target is the local one (idempotent); None elsewhere."""
    t = settings.target_settings(target)
    if t.kind != "local":
        return None
    from .local.backend import get_backend

    b = get_backend(settings, backend, out=out)
    b.up()
    return b


# --------------------------------------------------------------------------- databases


def db_create(
    settings: Settings, *, db: str | None = None, target: str | None = None, out: Out = print, start: bool = True
) -> bool:
    """Create the database unless it exists (identifiers quoted); True when created."""
    from .postgres import check_name, create_database

    name = check_name(settings.database_name(target, db))
    if start:
        ensure_server(settings, target, out)
    admin = admin_connection(settings, target)
    created = create_database(admin, name)
    out(
        f"created database {name!r} on {admin.host}:{admin.port}"
        if created
        else f"database {name!r} already exists on {admin.host}:{admin.port}"
    )
    return created


def _apply_opts(settings: Settings, db: str | None, dir: str | None, **kw):
    from .migrations.engine import ApplyOptions

    conf = settings.databases.get(db or settings.database)
    rev = conf.revisions_schema if conf else ""
    return ApplyOptions(lock_timeout=settings.lock_timeout, revisions_schema=rev or None, **kw)


def _render(report) -> str:
    text = report.render_text()
    return text if text.endswith("\n") or not text else text + "\n"


def _migrate(settings: Settings, *, db, target, dir, out: Out, progress: Out | None, opts=None):
    """commands.migrate, with the report (also of a failed run) printed."""
    from .errors import MigrationError
    from .migrations import commands

    try:
        report = commands.migrate(
            settings, db=db, target=target, dir=dir, opts=opts or _apply_opts(settings, db, dir), out=progress
        )
    except MigrationError as exc:
        rep = exc.report
        if rep is not None and not exc.output:
            exc.output = _render(rep)
        raise
    out(_render(report).rstrip("\n"))
    return report


@dataclass
class ResetTimings:
    """Where `reset-db` spent its time (seconds)."""

    backend: str = ""
    remove: float = 0.0
    server_start: float = 0.0  # container/server start, without the readiness wait
    readiness: float = 0.0  # our readiness wait
    create: float = 0.0
    migration: float = 0.0
    total: float = 0.0
    ready_at: float = 0.0  # time.monotonic() when the readiness wait returned
    applied: list[str] = field(default_factory=list)


def reset_db(
    settings: Settings,
    *,
    backend: str | None = None,
    db: str | None = None,
    force: bool = False,
    out: Out = print,
    progress: Out | None = None,
) -> ResetTimings:
    """This project's server removed and recreated (data lost), then database created and migrated."""
    from .local.backend import get_backend
    from .postgres import check_name

    t = local_target(settings)
    settings.require_dev(t.name, force, "reset-db")
    name = check_name(db or settings.database)
    choose_layers(settings, db=db).validate()  # a checksum error stops us before anything is deleted
    timings = ResetTimings()
    t0 = time.monotonic()
    b = get_backend(settings, backend, out=out)
    timings.backend = b.name
    b.down(volumes=True)
    t1 = time.monotonic()
    timings.remove = t1 - t0
    b.up()
    t2 = time.monotonic()
    ready = b.last_readiness
    timings.readiness = ready.elapsed if ready else 0.0
    timings.ready_at = ready.ready_at if ready else t2
    timings.server_start = (t2 - t1) - timings.readiness
    db_create(settings, db=name, target=t.name, out=out, start=False)
    t3 = time.monotonic()
    timings.create = t3 - t2
    report = _migrate(settings, db=db, target=t.name, dir=None, out=out, progress=progress)
    t4 = time.monotonic()
    timings.migration = t4 - t3
    timings.total = t4 - t0
    timings.applied = list(report.applied)
    return timings


def db_reset(
    settings: Settings,
    *,
    db: str | None = None,
    dir: str | None = None,
    target: str | None = None,
    force: bool = False,
    out: Out = print,
    progress: Out | None = None,
):
    """Rebuild the database from its migrations; the old one stays until the new one is complete."""
    from .errors import DbstackError
    from .local.swap import swap_in
    from .migrations.engine import apply
    from .postgres import check_name, create_database, drop_database, scratch_name

    t = settings.require_dev(target, force, "db-reset")
    name = check_name(settings.database_name(t.name, db))
    layers = choose_layers(settings, db=db, dir=dir)
    layers.validate()
    ensure_server(settings, t.name, out)
    admin = admin_connection(settings, t.name)
    if name == admin.dbname:
        # The swap renames databases from a session on admin.dbname: it cannot rename its own.
        raise UsageError(
            f"db-reset cannot replace {name!r}: it is the maintenance database this command connects through",
            "reset one of your own databases (--db NAME)",
        )
    new = scratch_name(name, "new")
    drop_database(admin, new)  # left over by an interrupted db-reset
    create_database(admin, new)
    out(f"building {name!r} from its migrations in the new database {new!r}")
    try:
        report = apply(admin.with_db(new), layers, _apply_opts(settings, db, dir), out=progress)
        out(_render(report).rstrip("\n"))
        swap_in(admin, new, name)
    except BaseException as exc:
        _drop_quietly(admin, new)  # gone already when the swap went through
        if isinstance(exc, DbstackError):
            rep = exc.report
            if rep is not None and not exc.output:
                exc.output = _render(rep)
            exc.message += f" (database {name!r} was left as it was)"
        raise
    out(f"database {name!r} replaced by the freshly migrated one")
    return report


def _own_sums_path(settings: Settings, d) -> Path:
    import hashlib

    key = hashlib.sha256(str(d.path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return settings.root / ".dbstack" / "cache" / f"own-sums-{d.name}-{key}.json"


def _own_sums(d) -> dict[str, str]:
    """Each file's own content hash (atlas.sum's lines are cumulative: one edit moves every later line)."""
    import hashlib

    return {f.name: hashlib.sha256(f.read()).hexdigest() for f in d.files()}


def remember_own_sums(settings: Settings, d, total: str) -> None:
    """Note each file's own hash next to the atlas.sum total it was written with (.dbstack/cache)."""
    import json

    root = settings.root.resolve()
    if root not in d.path.resolve().parents:
        return  # a directory outside the project (e.g. --dir /tmp/x): leave no cache behind for it
    path = _own_sums_path(settings, d)
    try:
        atomic_write(path, json.dumps({"total": total, "files": _own_sums(d)}, sort_keys=True))
    except OSError:
        pass  # only a cache: without it the next refresh names fewer files


def _edited_files(settings: Settings, d, before, after) -> list[str]:
    """Files present before whose own content changed since atlas.sum was last written."""
    import json

    from .migrations.directory import first_divergence

    if before is None or before.total == after.total:
        return []
    old_names = {e.name for e in before.entries}
    try:
        record = json.loads(_own_sums_path(settings, d).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if isinstance(record, dict) and record.get("total") == before.total and isinstance(record.get("files"), dict):
        now = _own_sums(d)
        return [n for n, h in now.items() if n in old_names and record["files"].get(n) not in (None, h)]
    # No record of the old contents: only the first diverging line is certainly an edit.
    diff = first_divergence(before, after)
    return [diff.file] if diff is not None and diff.reason == "edited" else []


def _drop_quietly(admin: ConnSpec, name: str) -> None:
    """Drop a helper database while another error is on its way; a failure only warns."""
    import sys

    from .errors import DbstackError
    from .postgres import drop_database

    try:
        drop_database(admin, name)
    except DbstackError as exc:
        print(f"warning: could not drop {name!r}: {exc.message}; drop it by hand", file=sys.stderr)


def rehash(settings: Settings, *, db: str | None, dir: str | None, out: Out) -> list[str]:
    """Write atlas.sum for every layer (as `atlas migrate hash`); the existing files whose own content changed."""
    layers = choose_layers(settings, db=db, dir=dir)
    changed: list[str] = []
    for d in layers.dirs:
        before = d.read_sum() if d.sum_path.exists() else None
        after = d.write_sum()
        changed.extend(_edited_files(settings, d, before, after))
        remember_own_sums(settings, d, after.total)
        out(f"re-hashed {d.sum_path}: {len(after.entries)} files, h1:{after.total}")
    for w in layers.nul_warnings():
        out(w)
    return changed


def dev_migrate_refresh(
    settings: Settings,
    *,
    fresh: bool = False,
    db: str | None = None,
    dir: str | None = None,
    target: str | None = None,
    force: bool = False,
    out: Out = print,
    progress: Out | None = None,
):
    """Re-hash and apply (`fresh`: drop and recreate the database first)."""
    from .postgres import check_name, create_database, drop_database

    t = settings.require_dev(target, force, "dev-migrate-refresh")
    name = check_name(settings.database_name(t.name, db))
    changed = rehash(settings, db=db, dir=dir, out=out)
    ensure_server(settings, t.name, out)
    admin = admin_connection(settings, t.name)
    if fresh:
        if drop_database(admin, name):
            out(f"dropped database {name!r}")
    elif changed:
        out(
            f"note: changed files ({', '.join(changed)}) are not re-run where they were already applied; "
            "use --fresh to rebuild from scratch"
        )
    if create_database(admin, name):
        out(f"created database {name!r}")
    return _migrate(settings, db=db, target=t.name, dir=dir, out=out, progress=progress)


# --------------------------------------------------------------------------- production


@dataclass
class Preview:
    pending: list[str]
    lint: object | None
    status: object
    dry_run: object | None


def _lint(settings: Settings, *, db, target, dir, latest: int):
    from .analysis.lint import run_lint

    return run_lint(settings, db=db, target=target, dir=dir, latest=latest)


def prod_migrate_preview(
    settings: Settings,
    *,
    db: str | None = None,
    dir: str | None = None,
    target: str | None = None,
    out: Out = print,
    stop_on_lint: bool = False,
) -> Preview:
    """lint (the pending files) → status → dry run. Changes nothing; lint errors raise LintFailed."""
    from .migrations import commands

    status = commands.migration_status(settings, db=db, target=target, dir=dir)
    pending = list(status.pending)
    conn = settings.connection(target, db)
    out(f"== target {settings.target_settings(target).name}: {conn.url(masked=True)}")
    out(f"== lint ({len(pending)} pending file{'s' if len(pending) != 1 else ''})")
    lint = None
    if pending:
        lint = _lint(settings, db=db, target=target, dir=dir, latest=len(pending))
        out(lint.render_text().rstrip("\n") or "no findings")
    else:
        out("nothing pending to lint")
    failed = bool(lint is not None and lint.failed)
    n_errors = len(lint.errors) if lint is not None else 0
    if failed and stop_on_lint:
        raise LintFailed(
            f"lint found {n_errors} error(s) in the pending migrations; nothing was applied",
            "fix the migration, or if the change is intended mark the statement with "
            "`-- atlas:nolint <check>` and run again",
        )
    out("== status")
    out(status.render_text().rstrip("\n"))
    dry = None
    if pending:
        out("== dry run")
        dry = _migrate(
            settings,
            db=db,
            target=target,
            dir=dir,
            out=out,
            progress=None,
            opts=_apply_opts(settings, db, dir, dry_run=True),
        )
    if failed:
        raise LintFailed(
            f"lint found {n_errors} error(s) in the pending migrations",
            "fix them before `inv prod-migrate` (it refuses to apply while lint reports errors)",
        )
    return Preview(pending=pending, lint=lint, status=status, dry_run=dry)


def prod_migrate(
    settings: Settings,
    *,
    db: str | None = None,
    dir: str | None = None,
    target: str | None = None,
    yes: bool = False,
    confirm: Callable[[str], bool] | None = None,
    out: Out = print,
    progress: Out | None = None,
):
    """lint → status → dry run → confirmation → apply. Returns the ApplyReport, or None if nothing was pending."""
    preview = prod_migrate_preview(settings, db=db, dir=dir, target=target, out=out, stop_on_lint=True)
    if not preview.pending:
        out("nothing to apply: already at the latest version")
        return None
    conn = settings.connection(target, db)
    question = (
        f"Apply {len(preview.pending)} migration(s) to {conn.url(masked=True)} "
        f"(target {settings.target_settings(target).name})?"
    )
    if not yes:
        if confirm is None:
            raise Refused(
                "prod-migrate needs a confirmation and there is no terminal to ask; nothing was applied",
                "review `inv prod-migrate-preview`, then re-run with --yes",
            )
        if not confirm(question):
            raise Refused("not confirmed; nothing was applied", "")
    out("== apply")
    return _migrate(
        settings, db=db, target=target, dir=dir, out=out, progress=progress, opts=_apply_opts(settings, db, dir)
    )


__all__ = [
    "ResetTimings",
    "Preview",
    "local_target",
    "admin_connection",
    "ensure_server",
    "db_create",
    "reset_db",
    "db_reset",
    "rehash",
    "dev_migrate_refresh",
    "prod_migrate_preview",
    "prod_migrate",
]
