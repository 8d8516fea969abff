"""The migration engine's public API: apply and status (Atlas-compatible).

    report = apply(conn, layers, ApplyOptions(dry_run=True))
    print(report.render_text())            # Atlas's `migrate apply` text
    status(conn, layers).to_json()         # Atlas's `migrate status` facts

Errors are :class:`~dbstack.errors.DbstackError` subclasses: ``ChecksumError``
(before anything touches the database), ``DatabaseError`` (cannot connect),
``MigrationError`` (lock, dirty database, out of order, failed statement …;
when files ran, ``exc.report`` holds the ApplyReport and ``exc.output`` its
text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import __version__
from .executor import ApplyOptions, parse_amount, parse_duration  # noqa: F401  (public)
from .report import ApplyReport, StatusReport

if TYPE_CHECKING:
    from ..settings import ConnSpec
    from .layers import Layers

OPERATOR_VERSION = f"dbstack v{__version__}"

_DEFAULT = ApplyOptions()


def apply(
    conn: ConnSpec, layers: Layers, opts: ApplyOptions = _DEFAULT, *, out: Callable[[str], None] | None = None
) -> ApplyReport:
    """Apply the pending files of every layer, in one version order, into one revisions table.

    ``out`` receives one plain progress line per file (or group of files)
    as it starts; the report comes back at the end.
    """
    from .executor import run_apply

    return run_apply(conn, layers, opts, operator=OPERATOR_VERSION, out=out)


def status(conn: ConnSpec, layers: Layers, *, revisions_schema: str | None = None) -> StatusReport:
    """Atlas's `migrate status`: read-only, never creates the revisions table."""
    import psycopg

    from ..errors import MigrationError
    from . import scanner
    from .executor import NonLinearError, connect, dirty_reason, last_index, pending_after, pq_text
    from .report import Env, FileRef
    from .revisions import RevisionTable, check_clarity, resolve_schema

    for d in layers.dirs:  # Atlas's Validate (atlas.sum) only: naming checks are validate/lint/apply's
        d.validate()
    files = layers.files()
    rep = StatusReport(
        env=Env(url=conn.url(masked=True), dirs=tuple(str(d.path) for d in layers.dirs)),
        available=[FileRef.of(f) for f in files],
    )
    pending = list(files)
    with connect(conn) as db:
        try:
            check_clarity(db, conn, revisions_schema)
            table = RevisionTable(resolve_schema(revisions_schema, conn))
            if table.exists(db):
                revs = table.read_all(db)
                rep.revisions = revs
                if not revs:
                    reason = dirty_reason(db, conn, table.schema)
                    if reason:
                        raise MigrationError(
                            f"sql/migrate: connected database is not clean: {reason}. baseline version or "
                            "allow-dirty is required",
                            "apply with --baseline VERSION or --allow-dirty first",
                        )
                else:
                    try:
                        pending = pending_after(files, revs, "linear")
                    except NonLinearError as exc:
                        pending = exc.pending
                        rep.out_of_order = [FileRef.of(f) for f in exc.out_of_order]
                        rep.error = exc.message
        except psycopg.Error as exc:
            raise MigrationError(f"database error: {pq_text(exc)}", "check the user's privileges") from None
    rep.pending_files = [FileRef.of(f) for f in pending]
    if len(pending) == len(files):
        rep.current = "No migration applied yet"
    else:
        rep.current = rep.revisions[-1].version if rep.revisions else "No migration applied yet"
    if not pending and not rep.out_of_order:
        rep.status, rep.next = "OK", "Already at latest version"
    else:
        rep.status = "PENDING"
        rep.next = pending[0].version if pending and not rep.out_of_order else ""
    if rep.revisions:
        last = rep.revisions[-1]
        if not last.has(4) and last.applied < last.total:
            rep.sql = last.error_stmt.replace("\n", " ")
            rep.error = last.error.replace("\n", " ")
            rep.count = last.applied
            idx = last_index(files, lambda f: f.version == last.version)
            if idx == -1:
                raise MigrationError(
                    f'migration file with version "{last.version}" not found',
                    "the last revision is partially applied and its file is missing; restore it",
                )
            rep.total = len(scanner.scan(files[idx].text(), source=files[idx].name))
    return rep
