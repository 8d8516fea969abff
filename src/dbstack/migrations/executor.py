"""Applying migration files the way Atlas's executor does.

(ariga/atlas sql/migrate/migrate.go: Executor.Pending, ExecuteN.)

Order of work in an apply: options and ``atlas.sum`` are checked before the
database is touched; then the advisory lock (Atlas's key), the revision
schema ambiguity guard, the revisions table, the pending files (clean check,
baseline, exec order), and the files themselves in their transaction mode.

Speed: in ``file`` mode the row Atlas leaves after a successful file does
not depend on running the file statement by statement, so consecutive
``file``-mode files travel to the server together — each in its own
``BEGIN … COMMIT`` with its revision upsert — in one simple-query message.
Only when a message fails are its files run again one statement at a time,
to name the failing statement exactly as Atlas would. ``txmode none`` files
always run statement by statement in autocommit, recording progress after
every statement so that a re-run resumes where the last one stopped. Each
statement travels with that record in one message, so a kill cannot commit
one without the other (Atlas has a window there); one that cannot run in a
transaction block is noted in the row first, and the next run checks its
effect instead of silently running it again (``Runner._settle_interrupted``).
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError, DbstackError, MigrationError, UsageError
from .go_format import go_quote
from .revisions import TYPE_BASELINE, TYPE_EXECUTE, Revision, RevisionTable, check_clarity, resolve_schema

if TYPE_CHECKING:
    import psycopg

    from ..settings import ConnSpec
    from .directory import MigrationFile
    from .layers import Layers
    from .report import ApplyReport

# Go's hash/fnv.New32 (FNV-1, not FNV-1a) of Atlas's lock name "atlas_migrate_execute".
LOCK_KEY = 2686470616
LOCK_HELD = "acquiring database lock: sql/schema: lock is held by other session"

EXEC_ORDERS = ("linear", "linear-skip", "non-linear")
INTERRUPTED = ("", "rerun", "skip")

# txmode none: a statement that cannot share a transaction with its revision update
# (CREATE INDEX CONCURRENTLY, VACUUM, …) is announced in the row's error column
# before it is sent: a kill leaves that note, and the next run knows the statement
# may have taken effect. Atlas reads the row as a partial revision with an error
# (its own resume point), so the table stays Atlas's.
IN_FLIGHT = "dbstack: interrupted while running statement"
# Raised when a statement refuses to run inside the implicit transaction of a
# multi-statement message: active_sql_transaction, invalid_transaction_termination.
_NOT_IN_BLOCK = ("25001", "2D000")
_CIC = re.compile(
    r"(?is)^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"((?:\"(?:[^\"]|\"\")+\"|[\w$]+)(?:\s*\.\s*(?:\"(?:[^\"]|\"\")+\"|[\w$]+))?)\s+ON\s+"
    r"(?:ONLY\s+)?((?:\"(?:[^\"]|\"\")+\"|[\w$]+)(?:\s*\.\s*(?:\"(?:[^\"]|\"\")+\"|[\w$]+))?)"
)
_DIC = re.compile(
    r"(?is)^\s*DROP\s+INDEX\s+CONCURRENTLY\s+(?:IF\s+EXISTS\s+)?"
    r"((?:\"(?:[^\"]|\"\")+\"|[\w$]+)(?:\s*\.\s*(?:\"(?:[^\"]|\"\")+\"|[\w$]+))?)\s*;?\s*$"
)
# Statements whose second run does no harm.
_IDEMPOTENT = re.compile(
    r"(?is)^\s*(VACUUM|ANALYZE|ANALYSE|REINDEX|CLUSTER|CHECKPOINT|REFRESH\s+MATERIALIZED|"
    r"CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS|"
    r"DROP\s+\w+(\s+\w+)?\s+(CONCURRENTLY\s+)?IF\s+EXISTS)\b"
)
TX_MODES = ("file", "all", "none")
NON_LINEAR_URL = "https://atlasgo.io/versioned/apply#non-linear-error"

# How much SQL one message may carry in file mode (files are never split).
BATCH_MAX_FILES = 200
BATCH_MAX_BYTES = 2 << 20

_SAVEPOINT = "dbstack_migration_file"
_TX_CONTROL = re.compile(
    r"(?is)\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|PREPARE\s+TRANSACTION)"
    r"\s*(;|\s+(WORK|TRANSACTION|AND\s+(NO\s+)?CHAIN|ISOLATION|READ|DEFERRABLE|NOT)\b|$)"
)
_FILE_STARTED = "current_setting('dbstack.file_started')::timestamptz"


def fnv1_32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


def exec_order_of(value: str) -> str:
    """--exec-order / HCL exec_order (LINEAR, LINEAR_SKIP, NON_LINEAR accepted too)."""
    v = (value or "linear").strip()
    v = {"LINEAR": "linear", "LINEAR_SKIP": "linear-skip", "NON_LINEAR": "non-linear"}.get(v, v)
    if v not in EXEC_ORDERS:
        raise UsageError(
            f"unknown execution order: {value!r}".replace("'", '"'),
            "use --exec-order linear, linear-skip or non-linear",
        )
    return v


def statement_sums(texts: Sequence[str]) -> list[str]:
    """Atlas's per-statement hashes: one running SHA-256 over the statement texts."""
    h = hashlib.sha256()
    out = []
    for t in texts:
        h.update(t.encode("utf-8", "surrogateescape"))
        out.append(base64.b64encode(h.digest()).decode("ascii"))
    return out


# --------------------------------------------------------------------------- connection


def connect(spec: ConnSpec, *, autocommit: bool = True) -> psycopg.Connection:
    """A connection named "dbstack" in pg_stat_activity.

    Failing, a DatabaseError naming the (masked) server and what to check.
    """
    from ..postgres import connect as connect_to

    kw = {} if "application_name" in spec.connect_kwargs() else {"application_name": "dbstack"}
    return connect_to(spec, autocommit=autocommit, **kw)


def _first_line(s: str) -> str:
    for line in s.splitlines():
        if line.strip():
            return line.strip()
    return ""


# --------------------------------------------------------------------------- lock


def acquire_lock(
    conn: psycopg.Connection,
    timeout: float,
    *,
    key: int = LOCK_KEY,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """pg_try_advisory_lock with Atlas's backoff (25ms doubling, capped at 1s, jitter) until timeout."""
    deadline = clock() + max(timeout, 0.0)
    delay = 0.025
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if row is not None and row[0]:
            return
        left = deadline - clock()
        if left <= 0:
            raise MigrationError(
                LOCK_HELD,
                f"another migration holds the lock on this database (advisory lock {key}); wait for it to "
                f"finish or raise --lock-timeout (it was {timeout:g}s)",
            )
        sleep(min(delay + random.uniform(0, delay / 2), left))
        delay = min(delay * 2, 1.0)


def release_lock(conn: psycopg.Connection, key: int = LOCK_KEY) -> None:
    import psycopg

    try:
        if conn.closed:
            return
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    except psycopg.Error:
        pass  # the session ends right after; that releases it too


# --------------------------------------------------------------------------- clean check

_SCHEMAS_SQL = """
SELECT n.nspname,
       count(c.oid) FILTER (WHERE c.relkind IN ('r', 'p')),
       min(c.relname COLLATE "C") FILTER (WHERE c.relkind IN ('r', 'p'))
FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
WHERE n.nspname NOT IN ('information_schema', 'pg_catalog', 'pg_toast', 'crdb_internal', 'pg_extension')
  AND n.nspname NOT LIKE 'pg\\_%temp\\_%'
GROUP BY n.nspname
ORDER BY n.nspname COLLATE "C"
"""


def dirty_reason(conn: psycopg.Connection, spec: ConnSpec, rev_schema: str) -> str | None:
    """Atlas's CheckClean for PostgreSQL: None when clean, else its reason text."""
    from .revisions import TABLE

    rows = conn.execute(_SCHEMAS_SQL).fetchall()
    bound = spec.search_path
    if bound:
        for name, ntables, first in rows:
            if name != bound:
                continue
            if ntables == 0 or (name == rev_schema and ntables == 1 and first == TABLE):
                return None
            return f"found table {first!r} in schema {name!r}".replace("'", '"')
        return None
    for name, ntables, first in rows:
        if ntables == 0 and name == "public":
            continue
        if ntables == 0 or name != rev_schema:
            return f'found schema "{name}"'
        if ntables > 1:
            return f'found {ntables} tables in schema "{name}"'
        if first != TABLE:
            return f'found table "{first}" in schema "{name}"'
    return None


# --------------------------------------------------------------------------- pending files


class NonLinearError(MigrationError):
    """Files were added out of order (Atlas's HistoryNonLinearError)."""

    def __init__(self, out_of_order: list[MigrationFile], pending: list[MigrationFile]) -> None:
        names = [f.name for f in out_of_order]
        what = f"file {names[0]} was" if len(names) == 1 else f"files {', '.join(names)} were"
        super().__init__(
            f"migration {what} added out of order. See: {NON_LINEAR_URL}",
            "rename the file(s) to a version after the last applied one (and re-hash), or apply them with "
            "--exec-order non-linear (or skip them with --exec-order linear-skip)",
        )
        self.out_of_order = out_of_order
        self.pending = pending


def last_index(files: Sequence[MigrationFile], pred: Callable[[MigrationFile], bool]) -> int:
    for i in range(len(files) - 1, -1, -1):
        if pred(files[i]):
            return i
    return -1


def pending_after(
    files: Sequence[MigrationFile], revs: Sequence[Revision], order: str = "linear"
) -> list[MigrationFile]:
    """Atlas's Executor.Pending when revisions exist (versions compared as strings)."""
    if not files:
        return []
    last = revs[-1]
    partially = last.applied != last.total
    if partially:
        idx = last_index(files, lambda f: f.version == last.version)
        if idx == -1:
            raise MigrationError(
                f'sql/migrate: missing migration: revision "{last.version}_{last.description}.sql" is partially '
                "applied but migration file was not found",
                "restore the file (it was partially applied, see `inv migrate-status`), or resolve the revision "
                "with `atlas migrate set`",
            )
    else:
        idx = last_index(files, lambda f: f.version <= last.version)
        if idx == -1:
            return list(files)
        idx += 1
    pending = list(files[idx:])
    if order != "linear-skip":
        first = next((i for i, f in enumerate(files[:idx]) if f.version >= revs[0].version), -1)
        if first != -1 and first < idx:
            known = {r.version for r in revs}
            skipped = [f for f in files[first:idx] if f.version not in known]
            if skipped:
                if order == "non-linear":
                    pending = skipped + pending
                else:
                    raise NonLinearError(skipped, pending)
    return pending


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class ApplyOptions:
    """What `inv migrate` / `migrate-dry` can ask for (Atlas's migrate apply flags)."""

    dry_run: bool = False
    baseline: str | None = None
    allow_dirty: bool = False
    exec_order: str = "linear"  # linear | linear-skip | non-linear
    tx_mode: str = "file"  # file | all | none
    lock_timeout: float = 10.0
    revisions_schema: str | None = None
    amount: int | None = None  # apply at most N pending files
    interrupted: str = ""  # "" | rerun | skip: a txmode-none statement cut off by a kill

    def checked(self) -> ApplyOptions:
        """The options validated (Atlas's texts), exec order normalised."""
        from dataclasses import replace

        if self.amount is not None and self.amount < 1:
            raise UsageError(
                f"cannot apply '{self.amount}' migration files",
                "omit the amount to apply every pending file, or pass a positive number",
            )
        if self.tx_mode not in TX_MODES:
            raise UsageError(f'unknown tx-mode "{self.tx_mode}"', "use --tx-mode file, all or none")
        order = exec_order_of(self.exec_order)
        if self.baseline and self.allow_dirty:
            raise UsageError(
                "sql/migrate: baseline and allow-dirty are mutually exclusive",
                "pass either --baseline VERSION or --allow-dirty, not both",
            )
        if self.interrupted not in INTERRUPTED:
            raise UsageError(
                f"unknown --interrupted {self.interrupted!r}",
                "use --interrupted rerun (it did not take effect) or skip (it did)",
            )
        if self.lock_timeout < 0:
            raise UsageError(f"invalid lock timeout {self.lock_timeout:g}s", "pass a duration of 0 or more, e.g. 10s")
        return replace(self, exec_order=order)


def parse_amount(value: object) -> int | None:
    """The optional AMOUNT argument, with Atlas's error texts."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    else:
        s = str(value).strip()
        try:
            n = int(s, 10)
        except ValueError:
            raise UsageError(
                f'invalid amount argument "{value}" (invalid syntax). Omit the argument or pass a '
                "valid integer instead",
                "e.g. --amount 1 applies the next pending file only",
            ) from None
        if not -(2**63) <= n < 2**63:
            raise UsageError(
                f'invalid amount argument "{value}" (value out of range). Omit the argument or pass '
                "a valid integer instead",
                "e.g. --amount 1 applies the next pending file only",
            )
    if n < 1:
        raise UsageError(
            f"cannot apply '{n}' migration files",
            "omit the amount to apply every pending file, or pass a positive number",
        )
    return n


def parse_duration(value: object, what: str = "lock timeout") -> float:
    """Seconds from 10, 10s, 1.5s, 500ms, 2m or 1h (Go duration style)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    import re

    s = str(value).strip()
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)?", s)
    if not s or "".join(n + u for n, u in parts) != s or (len(parts) > 1 and any(not u for _, u in parts)):
        raise UsageError(f"invalid {what} {value!r}", "pass seconds or a duration such as 10s, 500ms or 2m")
    return sum(float(n) * units[u or "s"] for n, u in parts)


# --------------------------------------------------------------------------- planning


@dataclass
class Planned:
    """A pending file, scanned and ready to run."""

    file: MigrationFile
    hash: str
    statements: list  # scanner Statements
    mode: str  # file | all | none
    existing: Revision | None = None
    ref: Any = None  # report.FileRef, made once

    def __post_init__(self) -> None:
        if self.ref is None:
            from .report import FileRef

            self.ref = FileRef.of(self.file)

    @property
    def version(self) -> str:
        return self.ref.version

    @property
    def skip(self) -> int:
        return self.existing.applied if self.existing else 0

    def texts(self) -> list[str]:
        return [s.text for s in self.statements]

    @property
    def own_transactions(self) -> bool:
        """The file runs BEGIN/COMMIT/ROLLBACK itself (golang-migrate style)."""
        return any(_TX_CONTROL.match(s.text) for s in self.statements)


def txmode_for(file: MigrationFile, content: str, global_mode: str) -> str:
    """The file's transaction mode: its `atlas:txmode` directive, else the global one."""
    from . import scanner

    m = scanner.txmode_of(content, file.name)
    if not m or m == global_mode:
        return global_mode
    if global_mode == "all":
        raise MigrationError(
            f'cannot set txmode directive to "{m}" in "{file.name}" when txmode "all" is set globally',
            "run with --tx-mode file (the default), or remove the directive from the file",
        )
    return m


def plan_files(files: Sequence[MigrationFile], hashes: dict, revs: dict[str, Revision], tx_mode: str) -> list[Planned]:
    """Scan every pending file and settle its mode before anything runs."""
    from . import scanner

    out = []
    for f in files:
        content = f.text()
        mode = txmode_for(f, content, tx_mode)
        stmts = scanner.scan(content, source=f.name)
        h = hashes.get((str(f.dir), f.name))
        if h is None:
            # Atlas's Executor.Execute (sql/migrate/migrate.go) reads the file's hash with
            # HashFile.SumByName, which fails for an `atlas:sum ignore` file.
            raise MigrationError(
                f"sql/migrate: scanning checksum from {go_quote(f.name)}: checksum not found",
                f"{f.name} starts with `atlas:sum ignore`, so atlas.sum has no line for it and neither Atlas "
                "nor dbstack applies it; remove that first line and re-hash, or move the file out",
            )
        existing = revs.get(f.version)
        p = Planned(f, h, list(stmts), mode, existing)
        if existing is not None and existing.applied > 0:
            check_history(p)
        out.append(p)
    return out


def check_history(p: Planned) -> None:
    """Resuming a file: the statements already applied must not have changed."""
    rev = p.existing
    assert rev is not None
    sums = statement_sums(p.texts())
    stored = rev.partial_hashes or []
    for i in range(rev.applied):
        if i >= len(sums) or i >= len(stored) or sums[i] != stored[i].removeprefix("h1:"):
            raise MigrationError(
                f'sql/migrate: history changed: statement {i + 1} from file "{p.file.name}" changed',
                f"statements 1..{rev.applied} of {p.file.name} were already applied and must stay as they were; "
                "restore them (only the failed statement and what follows may change), then re-hash",
            )


# --------------------------------------------------------------------------- execution


class StatementFailed(MigrationError):
    """A migration statement failed on the server."""


def pq_text(exc: BaseException) -> str:
    """The error as Atlas (lib/pq) shows and stores it: "pq: <server message>"."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return "pq: " + (primary or _first_line(str(exc)) or type(exc).__name__)


def _error_line(stmt, exc: BaseException) -> int:
    diag = getattr(exc, "diag", None)
    pos = getattr(diag, "statement_position", None) if diag is not None else None
    try:
        offset = int(pos) - 1 if pos else -1
    except ValueError:
        offset = -1
    if 0 <= offset <= len(stmt.text):
        return stmt.line + stmt.text.count("\n", 0, offset)
    return stmt.line


@dataclass
class Runner:
    """Runs planned files on one connection, filling the apply report."""

    conn: psycopg.Connection
    table: RevisionTable
    report: ApplyReport
    operator: str
    tx_mode: str
    out: Callable[[str], None] | None = None
    dry_run: bool = False
    interrupted: str = ""
    total_files: int = 0
    done_files: int = 0
    _in_all_tx: bool = field(default=False, repr=False)
    _shown: str = field(default="", repr=False)
    _committed: int = field(default=0, repr=False)

    # -- helpers -----------------------------------------------------------------------
    def _progress(self, batch: Sequence[Planned]) -> None:
        if not self.out:
            return
        i = self.done_files + 1
        if len(batch) == 1:
            line = f"migrating version {batch[0].version} ({i}/{self.total_files})"
        else:
            line = (
                f"migrating versions {batch[0].version}..{batch[-1].version} "
                f"({i}-{i + len(batch) - 1}/{self.total_files})"
            )
        if line != self._shown:  # a failed file is re-run statement by statement: one line for it
            self._shown = line
            self.out(line)

    def _new_revision(self, p: Planned) -> Revision:
        if p.existing is not None:
            # Resume: keep Atlas's row, but let total and hash describe the file as it is now
            # (Atlas keeps the first attempt's, which can leave a row that never completes).
            return p.existing.copy(total=len(p.statements), hash=p.hash, operator_version=self.operator)
        return Revision(
            version=p.version,
            description=p.file.description,
            type=TYPE_EXECUTE,
            total=len(p.statements),
            hash=p.hash,
            operator_version=self.operator,
        )

    def _final_revision(self, p: Planned) -> Revision:
        rev = self._new_revision(p)
        rev.applied = rev.total
        rev.error = rev.error_stmt = ""
        rev.partial_hashes = None  # Atlas ≥ v0.31 resets it when a file completes
        return rev

    def _record(
        self, p: Planned, started: datetime, elapsed_ns: int, applied: list[str], error: tuple[str, str] | None = None
    ) -> None:
        from .report import AppliedFile, StmtError

        af = AppliedFile(p.ref, start=started, elapsed_ns=elapsed_ns, skipped=p.skip, applied=applied)
        if error is not None:
            af.error = StmtError(*error)
        self.report.files.append(af)
        if error is None:
            self.done_files += 1

    def _fail(self, p: Planned, stmt, exc: BaseException, applied_before: int) -> StatementFailed:
        sqlstate = getattr(exc, "sqlstate", None) or "?????"
        text = pq_text(exc)
        line = _error_line(stmt, exc)
        msg = (
            f"sql/migrate: executing statement {go_quote(stmt.text)} from version {go_quote(p.version)}: "
            f"{text} (SQLSTATE {sqlstate}; {p.file.name} line {line})"
        )
        diag = getattr(exc, "diag", None)
        extra = [getattr(diag, "message_detail", None), getattr(diag, "message_hint", None)]
        n = len(p.statements)
        if p.mode == "none":
            hint = (
                f"{applied_before} of {n} statements of {p.file.name} are applied and recorded (txmode none); "
                f"fix statement {applied_before + 1} (changing only it and what follows is safe), run "
                "`inv migrate-hash`, and migrate again to resume there"
            )
        elif p.mode == "all":
            hint = (
                "the whole run was rolled back (tx-mode all): nothing of it stays; fix the statement, run "
                "`inv migrate-hash`, and migrate again"
            )
        elif self._committed:
            k = self._committed
            hint = (
                f"statements 1..{k} of {p.file.name} stay: the file's own COMMIT made them permanent and the "
                f"revisions table records {k} of {n} applied; what followed was rolled back. Fix statement "
                f"{applied_before + 1} (changing only what follows statement {k} is safe), run "
                "`inv migrate-hash`, and migrate again to resume after statement "
                f"{k}"
            )
        else:
            hint = (
                f"nothing of {p.file.name} stays (its transaction was rolled back); fix the statement, run "
                "`inv migrate-hash`, and migrate again"
            )
        for label, value in zip(("detail", "server hint"), extra, strict=True):
            if value:
                msg += f"\n  {label}: {value}"
        return StatementFailed(msg, hint, version=p.version)

    def _lost(self, p: Planned, exc: BaseException) -> MigrationError:
        return MigrationError(
            f"lost the connection while applying version {p.version} ({p.file.name}): {_first_line(str(exc))}",
            "check the server; then run `inv migrate-status` and migrate again (in tx-mode file the "
            "interrupted file was rolled back)",
        )

    # -- entry point -------------------------------------------------------------------
    def run(self, planned: Sequence[Planned]) -> None:
        self.total_files = len(planned)
        if self.dry_run:
            for p in planned:
                self._progress([p])
                now = datetime.now().astimezone()
                self._record(p, now, 0, p.texts()[p.skip :])
            return
        i = 0
        try:
            if self.tx_mode == "all":
                self.conn.execute("BEGIN")
                self._in_all_tx = True
            while i < len(planned):
                p = planned[i]
                if p.mode == "none" or p.own_transactions:
                    self._run_stepwise(p)
                    i += 1
                    continue
                batch = [p]
                size = sum(len(t) for t in p.texts())
                while (
                    i + len(batch) < len(planned)
                    and len(batch) < BATCH_MAX_FILES
                    and planned[i + len(batch)].mode == p.mode
                    and size < BATCH_MAX_BYTES
                    and not planned[i + len(batch)].own_transactions
                ):
                    nxt = planned[i + len(batch)]
                    size += sum(len(t) for t in nxt.texts())
                    batch.append(nxt)
                self._run_batch(batch)
                i += len(batch)
            if self._in_all_tx:
                self.conn.execute("COMMIT")
                self._in_all_tx = False
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        import psycopg

        self._in_all_tx = False
        try:
            if not self.conn.closed and self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.conn.rollback()
        except psycopg.Error:
            pass

    # -- file / all mode ------------------------------------------------------------------
    def _segment(self, p: Planned) -> str:
        """One file as part of a message: its statements and its revision, in a transaction."""
        # In one message every transaction starts "now" (when the server received it), so
        # each file notes its own start; the upsert and the timing marker read it back. The
        # setting is the session's, not the transaction's: files that COMMIT themselves
        # (golang-migrate style BEGIN; … COMMIT;) must still find it.
        clock = "SELECT set_config('dbstack.file_started', clock_timestamp()::text, false);\n"
        if p.mode == "file":
            begin, end = "BEGIN;\n" + clock, "COMMIT;\n"
        else:  # all: inside the run's transaction (and the batch's savepoint)
            begin, end = clock, ""
        started = _FILE_STARTED
        body = "".join(t + "\n;\n" for t in p.texts()[p.skip :])
        # The marker columns let us find this file's timing among the message's results.
        returning = (
            f"{started} AS dbstack_started, "
            f"(extract(epoch from (clock_timestamp() - {started})) * 1000000000)::bigint AS dbstack_elapsed"
        )
        upsert = self.table.upsert_sql(self._final_revision(p), started=started, returning=returning)
        return f"{begin}{body}{upsert};\n{end}"

    def _run_batch(self, batch: list[Planned]) -> None:
        import psycopg

        self._progress(batch)
        sent = datetime.now().astimezone()
        t0 = time.perf_counter_ns()
        message = "".join(self._segment(p) for p in batch)
        if batch[0].mode == "all":
            # A message that fails to parse aborts the run's transaction before anything in it
            # runs, so the point to return to must be set by a message of its own.
            self.conn.execute(f"SAVEPOINT {_SAVEPOINT}")
            message += f"RELEASE SAVEPOINT {_SAVEPOINT};\n"
        try:
            with self.conn.cursor() as cur:
                cur.execute(message)
                timings = _markers(cur)
        except psycopg.Error as exc:
            if self.conn.closed or self.conn.broken:
                raise self._lost(batch[0], exc) from None
            self._recover(batch, exc)
            return
        wall = time.perf_counter_ns() - t0
        if len(timings) != len(batch):  # not expected: time the batch as a whole
            timings = [(sent, wall // len(batch))] * len(batch)
        for p, (started, elapsed) in zip(batch, timings, strict=True):
            self._record(p, _local(started), int(elapsed), p.texts()[p.skip :])

    def _recover(self, batch: list[Planned], first_exc: BaseException) -> None:
        """A message failed: keep what committed, then run the rest one file at a time."""
        import psycopg

        try:
            if batch[0].mode == "all":
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            elif self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.conn.rollback()
        except psycopg.Error:
            self._abort()
            raise MigrationError(
                f"applying version {batch[0].version} failed: {pq_text(first_exc)}",
                "a statement in the file ended the surrounding transaction itself; "
                "check the file for COMMIT or ROLLBACK",
                version=batch[0].version,
            ) from None
        done = self._completed(batch) if batch[0].mode == "file" else {}
        for p in batch:
            if p.version in done:
                started, elapsed = done[p.version]
                self._record(p, _local(started), elapsed, p.texts()[p.skip :])
            elif len(batch) > 1:
                self._run_batch([p])
            else:
                self._run_stepwise(p)

    def _completed(self, batch: list[Planned]) -> dict[str, tuple[datetime, int]]:
        """Files of a failed message whose revision is complete: they committed (or stay in `all`)."""
        rows = self.conn.execute(
            f'SELECT "version", "applied", "total", "executed_at", "execution_time" FROM {self.table.qualified} '
            'WHERE "version" = ANY(%s)',
            ([p.version for p in batch],),
        ).fetchall()
        want = {p.version: len(p.statements) for p in batch}
        return {v: (at, int(t)) for v, applied, total, at, t in rows if applied == total == want.get(v)}

    # -- statement by statement (txmode none, failures, files with their own BEGIN/COMMIT) ----
    def _run_stepwise(self, p: Planned) -> None:
        """Atlas's Executor.Execute: write the row, then one statement and one row update at a time.

        In ``none`` mode every step commits on its own, so a failure leaves the
        partial row a re-run resumes from. In ``file`` mode it all happens in
        the file's transaction (rolled back on failure, unless the file ended
        it itself); in ``all`` mode inside the run's.
        """
        import psycopg

        self._progress([p])
        started = datetime.now().astimezone()
        t0 = time.perf_counter_ns()
        if p.mode == "file":
            self.conn.execute("BEGIN")
        rev = self._new_revision(p)
        rev.executed_at = started
        sums = statement_sums(p.texts())
        applied: list[str] = []
        if p.mode == "none" and rev.error.startswith(IN_FLIGHT):
            self._settle_interrupted(p, rev, sums, applied)
        else:
            self.table.write(self.conn, rev)  # marks the file as started
        self._committed = 0
        last_write = time.perf_counter_ns()
        for stmt in p.statements[rev.applied :]:
            applied.append(stmt.text)
            try:
                if p.mode == "none" and not _TX_CONTROL.match(stmt.text):
                    self._exec_none(p, stmt, rev, sums)
                else:
                    self.conn.execute(stmt.text)
            except psycopg.Error as exc:
                if self.conn.closed or self.conn.broken:
                    raise self._lost(p, exc) from None
                err = self._fail(p, stmt, exc, rev.applied)
                rev.error_stmt = stmt.text
                rev.error = pq_text(exc)
                rev.execution_time = time.perf_counter_ns() - last_write
                if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    self.table.write(self.conn, rev)  # no transaction (any more): the error row stays
                self._abort()
                self._record(p, started, time.perf_counter_ns() - t0, applied, (stmt.text, rev.error))
                raise err from None
            rev.partial_hashes = (rev.partial_hashes or []) + ["h1:" + sums[rev.applied]]
            rev.applied += 1
            rev.error = rev.error_stmt = ""
            if p.mode != "none" or _TX_CONTROL.match(stmt.text):
                self.table.write(self.conn, rev)
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                self._committed = rev.applied  # a COMMIT of the file's own made this much permanent
            last_write = time.perf_counter_ns()
        rev.partial_hashes = None  # Atlas >= v0.31 resets it when a file completes
        rev.execution_time = time.perf_counter_ns() - last_write
        self.table.write(self.conn, rev)
        if p.mode == "file":
            self.conn.execute("COMMIT")
        self._record(p, started, time.perf_counter_ns() - t0, applied)

    # -- txmode none: no statement may run twice after a kill ---------------------------
    def _exec_none(self, p: Planned, stmt, rev: Revision, sums: list[str]) -> None:
        """One statement in autocommit, so that a kill can never separate it from its revision update.

        Sent in one message with the row's update, the two share the implicit
        transaction of a multi-statement query: both commit or neither does. A
        statement that refuses to run in a transaction block (CREATE INDEX
        CONCURRENTLY, VACUUM, …) runs alone, announced first in the row (IN_FLIGHT).
        """
        import psycopg

        done = rev.copy(
            applied=rev.applied + 1,
            error="",
            error_stmt="",
            partial_hashes=(rev.partial_hashes or []) + ["h1:" + sums[rev.applied]],
        )
        try:
            self.conn.execute(f"{stmt.text}\n;\n{self.table.upsert_sql(done)}")
            return
        except psycopg.Error as exc:
            if self.conn.closed or self.conn.broken or getattr(exc, "sqlstate", None) not in _NOT_IN_BLOCK:
                raise
        announced = rev.copy(
            error=f"{IN_FLIGHT} {rev.applied + 1} of {p.file.name}; it may have taken effect", error_stmt=stmt.text
        )
        self.table.write(self.conn, announced)
        self.conn.execute(stmt.text)
        self.table.write(self.conn, done)

    def _settle_interrupted(self, p: Planned, rev: Revision, sums: list[str], applied: list[str]) -> None:
        """The last run was killed inside statement rev.applied+1: find out whether it took effect.

        Re-running is safe when the statement did nothing or does no harm twice;
        a finished CREATE INDEX CONCURRENTLY is recorded as applied; anything
        else stops here with what to check (never a silent second run).
        """
        idx = rev.applied
        if idx >= len(p.statements):
            return
        stmt = p.statements[idx]
        n = idx + 1
        what = f"statement {n} of {p.file.name} (version {p.version}): {go_quote(stmt.text)}"
        verdict = self.interrupted or self._probe(stmt)
        note = self.out or (lambda _line: None)
        if isinstance(verdict, MigrationError):
            raise verdict
        if verdict == "skip":
            note(f"note: the interrupted {what} had taken effect; recorded as applied")
            rev.partial_hashes = (rev.partial_hashes or []) + ["h1:" + sums[idx]]
            rev.applied += 1
            applied.append(stmt.text)
        elif verdict == "rerun":
            note(f"note: running the interrupted {what} again (it had not taken effect, or a second run is harmless)")
        else:
            raise MigrationError(
                f"the last run was interrupted (killed) while running {what}; it may or may not have taken "
                "effect, and running it twice may not be safe",
                "check the database for its effect, then run `inv migrate --interrupted skip` if it took effect "
                "or `inv migrate --interrupted rerun` if it did not",
            )
        rev.error = rev.error_stmt = ""
        self.table.write(self.conn, rev)

    def _probe(self, stmt) -> str | MigrationError:
        """rerun | skip | "" (unknown) | the error to report, for an interrupted statement."""
        m = _CIC.match(stmt.text)
        if m:
            found = self._index(m.group(1), m.group(2))
            if found is None:
                return "rerun"  # nothing was built
            name, valid = found
            if valid:
                return "skip"
            return MigrationError(
                f"the last run was interrupted while running {go_quote(stmt.text)}; it left the invalid index "
                f"{name} behind (PostgreSQL keeps a half-built index of CREATE INDEX CONCURRENTLY)",
                f"drop it with: DROP INDEX CONCURRENTLY IF EXISTS {name}; then run `inv migrate` again "
                "to build it anew",
            )
        m = _DIC.match(stmt.text)
        if m:
            found = self._index(m.group(1), None)
            return "skip" if found is None else "rerun"  # an invalid leftover is fixed by dropping again
        if _IDEMPOTENT.match(stmt.text):
            return "rerun"
        return ""

    def _index(self, name: str, table: str | None) -> tuple[str, bool] | None:
        """(qualified name, valid) of index `name` (as written in SQL; next to `table` if given), or None."""
        query = (
            "SELECT format('%%I.%%I', n.nspname, c.relname), i.indisvalid AND i.indisready "
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE "
        )
        if table:  # CREATE INDEX puts the index in its table's schema
            row = self.conn.execute(
                query + "c.relname = %s AND c.relnamespace = "
                "(SELECT t.relnamespace FROM pg_catalog.pg_class t WHERE t.oid = to_regclass(%s))",
                (_unquote_last(name), table),
            ).fetchone()
        else:
            row = self.conn.execute(query + "c.oid = to_regclass(%s)", (name,)).fetchone()
        return (row[0], bool(row[1])) if row else None


def _unquote_last(name: str) -> str:
    """The last part of a possibly qualified, possibly quoted SQL name, as stored in the catalog."""
    part = re.split(r'\.(?=(?:[^"]*"[^"]*")*[^"]*$)', name.strip())[-1].strip()
    if part.startswith('"') and part.endswith('"'):
        return part[1:-1].replace('""', '"')
    return part.lower()


def _markers(cur) -> list[tuple[datetime, int]]:
    """(started, elapsed ns) of each file, from the marker SELECTs among a message's results."""
    out = []
    while True:
        res = cur.pgresult
        if res is not None and res.nfields == 2 and res.fname(0) == b"dbstack_started":
            row = cur.fetchone()
            if row is not None:
                out.append((row[0], int(row[1])))
        if not cur.nextset():
            break
    return out


def _local(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone()


# --------------------------------------------------------------------------- the whole run


def run_apply(
    spec: ConnSpec, layers: Layers, opts: ApplyOptions, *, operator: str, out: Callable[[str], None] | None = None
) -> ApplyReport:
    """Atlas's `migrate apply` (see the module docstring for the order of work)."""
    import psycopg

    from .report import ApplyReport, Env

    opts = opts.checked()
    sums = layers.validate()  # checksum errors before the database is touched
    hashes = {(path, e.name): e.hash for path, hf in sums.items() for e in hf.entries}
    files = layers.files()
    report = ApplyReport(
        env=Env(url=spec.url(masked=True), dirs=tuple(str(d.path) for d in layers.dirs)),
        start=datetime.now().astimezone(),
        dry_run=opts.dry_run,
    )
    t0 = time.perf_counter_ns()
    conn = connect(spec)
    try:
        try:
            acquire_lock(conn, opts.lock_timeout)
            check_clarity(conn, spec, opts.revisions_schema)
            schema = resolve_schema(opts.revisions_schema, spec)
            table = RevisionTable(schema)
            if opts.dry_run:
                revs = table.read_all(conn) if table.exists(conn) else []
            else:
                table.ensure(conn)
                revs = table.read_all(conn)
            pending_files, revs = _pending(conn, spec, table, files, revs, opts, operator)
            report.current = revs[-1].version if revs else ""
            if not pending_files:  # "No migration files to execute"
                report.elapsed_ns = time.perf_counter_ns() - t0
                return report
            if opts.amount is not None:
                pending_files = pending_files[: opts.amount]
            by_version = {r.version: r for r in revs}
            from .report import FileRef

            # Atlas logs the intro (Pending, Target) before a file's directive can fail.
            report.pending_files = [FileRef.of(f) for f in pending_files]
            report.target = pending_files[-1].version
            planned = plan_files(pending_files, hashes, by_version, opts.tx_mode)
            runner = Runner(
                conn, table, report, operator, opts.tx_mode, out=out, dry_run=opts.dry_run, interrupted=opts.interrupted
            )
            try:
                runner.run(planned)
            except MigrationError as exc:
                report.error = exc.message
                report.elapsed_ns = time.perf_counter_ns() - t0
                exc.report = report
                exc.output = report.render_text()
                raise
            report.elapsed_ns = time.perf_counter_ns() - t0
            return report
        except DbstackError as exc:
            # Every failure after the run started is also in the report (`--json` prints it
            # with Error set); exc.output stays the caller's choice.
            if exc.report is None:
                report.error = exc.message
                report.elapsed_ns = time.perf_counter_ns() - t0
                exc.report = report
            raise
        except psycopg.OperationalError as exc:
            if conn.closed or conn.broken:
                raise DatabaseError(
                    f"lost the connection to {spec}: {_first_line(str(exc))}",
                    "check the server, then run `inv migrate-status`",
                ) from None
            raise MigrationError(f"database error: {_first_line(str(exc))}", "") from None
        except psycopg.Error as exc:
            raise MigrationError(
                f"database error: {pq_text(exc)} (SQLSTATE {getattr(exc, 'sqlstate', '')})",
                "check the revisions table and the user's privileges",
            ) from None
    finally:
        release_lock(conn)
        conn.close()


def _pending(conn, spec, table: RevisionTable, files, revs: list[Revision], opts: ApplyOptions, operator: str):
    """(pending files, revisions including a new baseline row)."""
    if not revs:
        reason = dirty_reason(conn, spec, table.schema)
        if reason and not opts.allow_dirty and not opts.baseline:
            raise MigrationError(
                f"sql/migrate: connected database is not clean: {reason}. baseline version or allow-dirty is required",
                "this database already has objects but no revisions: pass --baseline VERSION (the last migration "
                "its schema already contains) or --allow-dirty to apply every file on top of it",
            )
        pending = list(files)
        if opts.baseline:
            idx = last_index(files, lambda f: f.version == opts.baseline)
            if idx == -1:
                raise MigrationError(
                    f'baseline version "{opts.baseline}" not found',
                    "pass the version of an existing migration file to --baseline",
                )
            f = files[idx]
            base = Revision(
                version=f.version,
                description=f.description,
                type=TYPE_BASELINE,
                executed_at=datetime.now(UTC),
                operator_version=operator,
            )
            if not opts.dry_run:
                table.write(conn, base)
            revs = [base]
            pending = list(files[idx + 1 :])
    else:
        pending = pending_after(files, revs, opts.exec_order)
    return pending, revs
