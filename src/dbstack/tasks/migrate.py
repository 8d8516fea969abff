"""Tasks that apply migrations: migrate, migrate-dry, migrate-status (Atlas-compatible output)."""

from __future__ import annotations

import sys

from ._task import DB_HELP, DIR_FORMAT_HELP, DIR_HELP, TARGET_HELP, settings, task

_APPLY_HELP = {
    "db": DB_HELP,
    "target": TARGET_HELP,
    "dir": DIR_HELP,
    "dir_format": DIR_FORMAT_HELP,
    "baseline": "on a database without revisions: record VERSION as applied (baseline) and start after it",
    "allow_dirty": "on a database without revisions: apply even though it already has tables",
    "exec_order": "files added out of order: linear (refuse, default), linear-skip (ignore), non-linear (apply)",
    "tx_mode": "transaction per file (file, default), one for the whole run (all) or none; "
    "a file's `-- atlas:txmode none` directive overrides file",
    "lock_timeout": "how long to wait for another migration's lock, e.g. 10s (default: dbstack.lock_timeout)",
    "revisions_schema": "schema of the atlas_schema_revisions table (default: the database's setting, "
    "else atlas_schema_revisions)",
    "json": "print the report as JSON (Atlas's `--format '{{ json . }}'` fields) instead of text",
    "amount": "apply at most this many pending files (Atlas's AMOUNT argument)",
    "interrupted": "after a run killed inside a txmode-none statement whose effect is unknown: skip (it took "
    "effect) or rerun (it did not); without it such a statement is never run twice",
}


class _Progress:
    """One rewritten line on a terminal; plain lines otherwise. Always on stderr."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.shown = False

    def __call__(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
            self.shown = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _apply(
    c,
    dry_run,
    db,
    target,
    dir,
    dir_format,
    baseline,
    allow_dirty,
    exec_order,
    tx_mode,
    lock_timeout,
    revisions_schema,
    json,
    amount,
    interrupted=None,
) -> None:
    import json as jsonlib

    from ..errors import DbstackError, MigrationError
    from ..migrations import commands
    from ..migrations.engine import ApplyOptions, parse_amount, parse_duration

    s = settings(c)
    n = parse_amount(amount)  # Atlas checks AMOUNT before anything else
    opts = ApplyOptions(
        dry_run=dry_run,
        baseline=baseline or None,
        allow_dirty=bool(allow_dirty),
        exec_order=exec_order or "linear",
        tx_mode=tx_mode or "file",
        lock_timeout=s.lock_timeout if lock_timeout in (None, "") else parse_duration(lock_timeout),
        revisions_schema=revisions_schema or None,
        amount=n,
        interrupted=interrupted or "",
    )
    progress = _Progress()
    color = sys.stdout.isatty() and not json
    try:
        report = commands.migrate(s, db=db, target=target, dir=dir, dir_format=dir_format, opts=opts, out=progress)
    except DbstackError as exc:
        progress.close()
        rep = exc.report
        if json:
            # One JSON document on stdout whatever failed, Error set (Atlas prints its
            # report for failures once the run started; we do it for every failure).
            if rep is None:
                rep = _empty_report(s, db, target, dir, dir_format, dry_run)
            if not rep.error:
                rep.error = exc.message
            exc.output = jsonlib.dumps(rep.to_json(), ensure_ascii=False) + "\n"
        elif rep is not None and rep.pending_files and isinstance(exc, MigrationError):
            exc.output = rep.render_text(color=color)
        raise
    progress.close()
    if json:
        print(jsonlib.dumps(report.to_json(), ensure_ascii=False))
    else:
        sys.stdout.write(report.render_text(color=color))


def _empty_report(s, db, target, dir, dir_format, dry_run):
    """A report for a failure before the run started: Env as far as it is known."""
    from datetime import datetime

    from ..errors import DbstackError
    from ..migrations import commands
    from ..migrations.report import ApplyReport, Env

    now = datetime.now().astimezone()
    try:
        conn, layers, _ = commands.resolve(s, db=db, target=target, dir=dir, dir_format=dir_format)
        env = Env(url=conn.url(masked=True), dirs=tuple(str(d.path) for d in layers.dirs))
    except DbstackError:
        env = Env()
    return ApplyReport(env=env, start=now, dry_run=dry_run)


@task(help=_APPLY_HELP)
def migrate(
    c,
    db=None,
    target=None,
    dir=None,
    dir_format=None,
    baseline=None,
    allow_dirty=False,
    exec_order="linear",
    tx_mode="file",
    lock_timeout=None,
    revisions_schema=None,
    json=False,
    amount=None,
    interrupted=None,
):
    """Apply pending migrations (like `atlas migrate apply`; same output and revisions table)."""
    _apply(
        c,
        False,
        db,
        target,
        dir,
        dir_format,
        baseline,
        allow_dirty,
        exec_order,
        tx_mode,
        lock_timeout,
        revisions_schema,
        json,
        amount,
        interrupted,
    )


@task(help=_APPLY_HELP)
def migrate_dry(
    c,
    db=None,
    target=None,
    dir=None,
    dir_format=None,
    baseline=None,
    allow_dirty=False,
    exec_order="linear",
    tx_mode="file",
    lock_timeout=None,
    revisions_schema=None,
    json=False,
    amount=None,
    interrupted=None,
):
    """Show what `inv migrate` would apply; changes nothing (no table, no baseline row, no lock left)."""
    _apply(
        c,
        True,
        db,
        target,
        dir,
        dir_format,
        baseline,
        allow_dirty,
        exec_order,
        tx_mode,
        lock_timeout,
        revisions_schema,
        json,
        amount,
        interrupted,
    )


@task(
    help={
        "db": DB_HELP,
        "target": TARGET_HELP,
        "dir": DIR_HELP,
        "dir_format": DIR_FORMAT_HELP,
        "revisions_schema": _APPLY_HELP["revisions_schema"],
        "json": "print the status as JSON (Atlas's `--format '{{ json . }}'` fields)",
    }
)
def migrate_status(c, db=None, target=None, dir=None, dir_format=None, revisions_schema=None, json=False):
    """Show applied and pending migrations (like `atlas migrate status`); exit 2 when files are pending."""
    import json as jsonlib

    from ..errors import PendingMigrations
    from ..migrations import commands

    rep = commands.migration_status(
        settings(c), db=db, target=target, dir=dir, dir_format=dir_format, revisions_schema=revisions_schema or None
    )
    if json:
        print(jsonlib.dumps(rep.to_json(), ensure_ascii=False))
    else:
        sys.stdout.write(rep.render_text(color=sys.stdout.isatty()))
    if rep.is_pending:
        n = len(rep.pending)
        raise PendingMigrations(
            f"{n} migration file{'s are' if n != 1 else ' is'} pending",
            "run `inv migrate` to apply them (`inv migrate-dry` shows what would run)",
        )
