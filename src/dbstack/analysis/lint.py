"""`migrate-lint`: Atlas's PostgreSQL analyzers, offline, on a scratch database.

Like Atlas's dev-database loader, the directory is replayed up to the files
being linted (our engine, on a scratch database of the target's server);
then each statement of the linted files runs on its own and the schema is
inspected before and after it. The catalog difference is the statement's
change set; the analyzers classify it, with a small recogniser of the
statement text for what a schema cannot show (CONCURRENTLY, USING INDEX,
renames, earlier UPDATE backfills).

Codes and texts follow Atlas (``sql/sqlcheck/*``, docs@741579aa
``lint/analyzers.mdx``): DS101–DS103 (``destructive``), MF101–MF104
(``data_depend``), BC101–BC102 (``incompatible``), CD101 (``condrop``),
PG101–PG105 (``concurrent_index``) and PG301–PG306 (``blocking``; the
Atlas Cloud checks, with our own wording). Our own integrity checks use
IN101–IN105. ``-- atlas:nolint`` suppresses as Atlas's ``nolintRules``.

Severity: destructive changes and integrity failures are errors; the rest
are warnings, errors too with ``strict``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ChecksumError, DbstackError, ScanError, UsageError
from ..migrations.directory import version_problems

if TYPE_CHECKING:
    from ..inspect.catalog import Catalog, Table
    from ..inspect.diff import Change
    from ..migrations.directory import MigrationFile
    from ..migrations.layers import Layers
    from ..migrations.scanner import Statement
    from ..settings import ConnSpec, Settings

ANALYZERS = {
    "DS": "destructive",
    "MF": "data_depend",
    "BC": "incompatible",
    "CD": "condrop",
    "PG1": "concurrent_index",
    "PG3": "blocking",
    "IN": "integrity",
}
ERROR_PREFIXES = ("DS", "IN")

HINTS = {
    "DS101": "back up the schema's data first; if the drop is intended, add `-- atlas:nolint DS101` above it",
    "DS102": "add a pre-migration check that the table is empty, or back it up; "
    "if intended, add `-- atlas:nolint DS102`",
    "DS103": "add a pre-migration check that the column is NULL everywhere, or back it up; if intended, "
    "add `-- atlas:nolint DS103`",
    "MF101": "look for duplicates first (SELECT cols, count(*) ... GROUP BY cols HAVING count(*) > 1)",
    "MF102": "look for duplicates first (SELECT cols, count(*) ... GROUP BY cols HAVING count(*) > 1)",
    "MF103": "give the column a DEFAULT, or add it nullable, backfill it, then SET NOT NULL",
    "MF104": "backfill the NULLs in an earlier statement (UPDATE t SET c = ... WHERE c IS NULL)",
    "BC101": "keep the old name readable with `CREATE VIEW <old> AS SELECT * FROM <new>` in the same file, "
    "or move the application to the new name first",
    "BC102": "keep the old column (e.g. as a generated column) until no application reads it",
    "CD101": "make sure nothing relies on the constraint any more; if intended, add `-- atlas:nolint CD101`",
    "PG101": "use CREATE INDEX CONCURRENTLY in a file that starts with `-- atlas:txmode none`",
    "PG102": "use DROP INDEX CONCURRENTLY in a file that starts with `-- atlas:txmode none`",
    "PG103": "make `-- atlas:txmode none` the file's first line, followed by a blank line",
    "PG104": "create a unique index CONCURRENTLY first, then ALTER TABLE ... ADD PRIMARY KEY USING INDEX ...",
    "PG105": "create a unique index CONCURRENTLY first, then ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX ...",
    "PG301": "add a new column, backfill it in batches and switch over, or plan the downtime",
    "PG302": "add the column without a default (or a constant one), then backfill it in batches",
    "PG303": "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it, then SET NOT NULL (no scan)",
    "PG304": "SET NOT NULL on the columns first (see PG303), then ADD PRIMARY KEY USING INDEX",
    "PG305": "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a later statement",
    "PG306": "add the foreign key NOT VALID, then VALIDATE CONSTRAINT in a later statement",
    "IN101": "run `inv migrate-hash` if the change is intended, otherwise restore the file from version control",
    "IN102": "name every file VERSION_description.sql with a version no other file uses "
    "(`inv migrate-new` picks the next one), not starting with '.', and re-hash",
    "IN103": "rename the file to a version after the latest existing one and re-hash",
    "IN104": "move the statement to its own file whose first line is `-- atlas:txmode none`",
    "IN105": "fix the statement so it runs on a database built by the earlier migrations",
}


def analyzer_of(code: str) -> str:
    for prefix in ("PG1", "PG3", "DS", "MF", "BC", "CD", "IN"):
        if code.startswith(prefix):
            return ANALYZERS[prefix]
    return ""


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    code: str
    message: str
    hint: str
    severity: str  # error | warning

    @property
    def analyzer(self) -> str:
        return analyzer_of(self.code)

    def render(self) -> str:
        return f"{self.file}:{self.line}: {self.code} {self.severity}: {self.message} (fix: {self.hint})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "code": self.code,
            "analyzer": self.analyzer,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
        }


@dataclass
class LintReport:
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # linted files
    strict: bool = False

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    def render_text(self) -> str:
        lines = [f.render() for f in self.findings]
        n = len(self.files)
        what = f"{n} migration file{'s' if n != 1 else ''}"
        if not self.findings:
            lines.append(f"No findings in {what}.")
        else:
            e, w = len(self.errors), len(self.warnings)
            lines.append(f"{e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''} in {what}.")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "strict": self.strict,
            "failed": self.failed,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.to_dict() for f in self.findings],
        }


# --------------------------------------------------------------------------- statement recogniser

_COMMENT_OR_QUOTE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$(\w*)\$.*?\$\1\$", re.S)


def normalize(text: str) -> str:
    """Statement text with comments removed, whitespace collapsed, no trailing ';' (quotes kept)."""

    def repl(m: re.Match) -> str:
        s = m.group(0)
        return " " if s.startswith("--") or s.startswith("/*") else s

    out = _COMMENT_OR_QUOTE.sub(repl, text)
    return " ".join(out.split()).rstrip(";").strip()


def _upper_outside_quotes(text: str) -> str:
    parts = re.split(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")", text)
    return "".join(p if p.startswith(("'", '"')) else p.upper() for p in parts)


@dataclass(frozen=True)
class Parsed:
    text: str  # normalized
    upper: str  # normalized, keywords upper-cased

    def matches(self, pattern: str) -> re.Match | None:
        return re.match(pattern, self.upper)

    @property
    def create_index(self) -> re.Match | None:
        return self.matches(r"CREATE (UNIQUE )?INDEX (CONCURRENTLY )?")

    @property
    def drop_index(self) -> re.Match | None:
        return self.matches(r"DROP INDEX (CONCURRENTLY )?")

    @property
    def concurrently(self) -> bool:
        m = self.create_index or self.drop_index
        return bool(m and "CONCURRENTLY" in m.group(0))

    @property
    def rename_table(self) -> bool:
        return bool(self.matches(r"ALTER TABLE (IF EXISTS )?(ONLY )?\S+ RENAME TO "))

    @property
    def rename_column(self) -> bool:
        return bool(self.matches(r"ALTER TABLE (IF EXISTS )?(ONLY )?\S+ RENAME (COLUMN )?(?!CONSTRAINT\b)\S+ TO "))

    @property
    def is_rename(self) -> bool:
        return bool(self.matches(r"ALTER (TABLE|INDEX|VIEW|MATERIALIZED VIEW|SEQUENCE) .* RENAME "))

    @property
    def using_index(self) -> bool:
        return " USING INDEX " in f" {self.upper} "

    @property
    def dml(self) -> bool:
        # Statements that never change the schema: no inspection needed after them.
        return bool(
            self.matches(
                r"(INSERT|UPDATE|DELETE|SELECT|COPY|MERGE|TRUNCATE|VALUES|EXPLAIN|ANALYZE|LOCK|"
                r"NOTIFY|SET|RESET|VACUUM|GRANT|REVOKE|REFRESH|SHOW|CHECKPOINT|DISCARD)\b"
            )
        )

    def non_transactional(self, server_version: int) -> str | None:
        """Why the statement cannot run inside a transaction block, if it cannot."""
        u = self.upper
        rules = [
            (r"VACUUM\b", "VACUUM"),
            (r"(CREATE|DROP) DATABASE\b", "CREATE/DROP DATABASE"),
            (r"(CREATE|DROP) TABLESPACE\b", "CREATE/DROP TABLESPACE"),
            (r"ALTER SYSTEM\b", "ALTER SYSTEM"),
            (r"REINDEX .*\bCONCURRENTLY\b", "REINDEX CONCURRENTLY"),
            (r"CLUSTER$", "CLUSTER without a table"),
            (r"ALTER DATABASE \S+ SET TABLESPACE\b", "ALTER DATABASE ... SET TABLESPACE"),
            (r"(BEGIN|START TRANSACTION|COMMIT|END|ROLLBACK|ABORT)\b", "a transaction control statement"),
            (r"CREATE SUBSCRIPTION\b", "CREATE SUBSCRIPTION"),
        ]
        if server_version < 120000:
            rules.append((r"ALTER TYPE .* ADD VALUE\b", "ALTER TYPE ... ADD VALUE (before PostgreSQL 12)"))
        for pattern, what in rules:
            if re.match(pattern, u):
                return what
        return None

    @property
    def server_global(self) -> bool:
        """Statements we do not run on the scratch database: they would change the whole server."""
        return bool(self.matches(r"((CREATE|DROP) (DATABASE|TABLESPACE)|ALTER SYSTEM)\b"))

    def updates_column(self, table: str, column: str) -> bool:
        m = re.match(r"UPDATE (ONLY )?(\S+)(?: (?:AS )?\S+)? SET (.*)$", self.upper)
        if not m:
            return False
        target = m.group(2).split(".")[-1].strip('"').lower()
        if target != table.lower():
            return False
        return re.search(rf'(^|[\s,(])"?{re.escape(column.upper())}"?\s*=', m.group(3)) is not None


def parse(text: str) -> Parsed:
    n = normalize(text)
    return Parsed(n, _upper_outside_quotes(n))


# --------------------------------------------------------------------------- per-statement change sets


@dataclass
class StmtChange:
    stmt: Statement
    parsed: Parsed
    before: Catalog
    after: Catalog
    changes: list[Change]

    def of(self, kind: str, object_type: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind and c.object_type == object_type]


@dataclass
class FileRun:
    file: MigrationFile
    label: str
    content: str
    start: Catalog
    steps: list[StmtChange]
    txmode: str
    server_version: int

    # spans: was the object created in this file (before the statement)?
    def table_added(self, key: tuple[str, str]) -> bool:
        return self.start.table(*key) is None

    def schema_added(self, name: str) -> bool:
        return all(s.name != name for s in self.start.schemas)

    def column_added(self, key: tuple[str, str], column: str) -> bool:
        t = self.start.table(*key)
        return t is None or t.column(column) is None

    def index_added(self, key: tuple[str, str], name: str) -> bool:
        t = self.start.table(*key)
        return t is None or t.index(name) is None


def _q(name: str) -> str:
    """Go's %q of a name (Atlas quotes names that way in its texts)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


Diag = tuple[int, str, str]  # (line, code, message)


def _table_of(c: Change) -> tuple[str, str]:
    if c.table is not None:
        return c.table
    schema, _, name = c.name.partition(".")
    return schema, name


def _child_name(c: Change) -> str:
    """The column / constraint name of a change to a table's child (names may contain dots)."""
    if c.table is not None:
        prefix = f"{c.table[0]}.{c.table[1]}."
        if c.name.startswith(prefix):
            return c.name[len(prefix) :]
    return c.name.rsplit(".", 1)[-1]


def _not_null_checked(table: Table | None, column: str) -> bool:
    """A valid CHECK proves the column is never NULL (PostgreSQL then skips the SET NOT NULL scan)."""
    if table is None:
        return False
    pat = re.compile(
        rf'(^|[\s(]){re.escape(column)}\)?\s+IS\s+NOT\s+NULL\b|"{re.escape(column)}"\s+IS\s+NOT\s+NULL\b', re.I
    )
    for c in table.checks:
        if c.valid and pat.search(c.expr) and " OR " not in c.expr.upper():
            return True
    return False


# -- the analyzers: each returns (line, code, message) diagnostics ---------------


def _destructive(run: FileRun) -> list[Diag]:
    out: list[Diag] = []
    for step in run.steps:
        line = step.stmt.line
        dropped_schemas = {c.name for c in step.of("extra", "schema")}
        renamed_tables = _renamed_tables(step)
        renamed_cols = _renamed_columns(step)
        for c in step.of("extra", "schema"):
            if run.schema_added(c.name):
                continue
            n = sum(1 for t in step.before.tables if t.schema == c.name)
            if n == 0:
                text = f"Dropping schema {_q(c.name)}"
            elif n == 1:
                text = f"Dropping non-empty schema {_q(c.name)} with 1 table"
            else:
                text = f"Dropping non-empty schema {_q(c.name)} with {n} tables"
            out.append((line, "DS101", text))
        for c in step.of("extra", "table"):
            key = (c.actual.schema, c.actual.name)
            if key[0] in dropped_schemas or key in renamed_tables or run.table_added(key):
                continue
            out.append((line, "DS102", f"Dropping table {_q(key[1])}"))
        by_table: dict[tuple[str, str], list[str]] = {}
        for c in step.of("extra", "column"):
            key = _table_of(c)
            if step.after.table(*key) is None or run.column_added(key, c.actual.name):
                continue
            if (key, c.actual.name) in renamed_cols or c.actual.generated_kind == "VIRTUAL":
                continue
            by_table.setdefault(key, []).append(_q(c.actual.name))
        for names in by_table.values():
            if len(names) == 1:
                out.append((line, "DS103", f"Dropping non-virtual column {names[0]}"))
            else:
                out.append((line, "DS103", f"Dropping non-virtual columns {', '.join(names[:-1])} and {names[-1]}"))
    return out


def _renamed_tables(step: StmtChange) -> set[tuple[str, str]]:
    if not step.parsed.rename_table:
        return set()
    return {(c.actual.schema, c.actual.name) for c in step.of("extra", "table")}


def _renamed_columns(step: StmtChange) -> set[tuple[tuple[str, str], str]]:
    if not step.parsed.rename_column:
        return set()
    return {(_table_of(c), c.actual.name) for c in step.of("extra", "column")}


def _data_depend(run: FileRun) -> list[Diag]:
    out: list[Diag] = []
    for i, step in enumerate(run.steps):
        line = step.stmt.line
        if step.parsed.is_rename:
            continue
        pk_cols = _pk_added_columns(step)
        # MF101 / MF102: uniqueness added over existing columns.
        uniques: list[tuple[tuple[str, str], str, tuple[str, ...]]] = []
        for c in step.of("missing", "index"):
            if c.desired.unique:
                uniques.append((_table_of(c), c.desired.name, tuple(p.column for p in c.desired.parts if p.column)))
        if not step.parsed.using_index:
            for c in step.of("missing", "unique"):
                uniques.append((_table_of(c), c.desired.name, c.desired.columns))
        for key, name, cols in uniques:
            old = run.start.table(*key)
            old_index = old.index(name) if old is not None else None
            if old_index is not None and not old_index.unique and not run.table_added(key):
                out.append(
                    (
                        line,
                        "MF102",
                        f"Modifying an index {_q(name)} on table {_q(key[1])} might fail in case of duplicate entries",
                    )
                )
                continue
            existing = [_q(col) for col in cols if not run.column_added(key, col)]
            if existing:
                s = f"column {existing[0]} contains" if len(existing) == 1 else f"columns {', '.join(existing)} contain"
                out.append(
                    (
                        line,
                        "MF101",
                        f"Adding a unique index {_q(name)} on table {_q(key[1])} might fail in "
                        f"case {s} duplicate entries",
                    )
                )
        # MF103: a NOT NULL column without default added to an existing table.
        for c in step.of("missing", "column"):
            key, col = _table_of(c), c.desired
            if run.table_added(key) or col.nullable or col.default is not None or col.identity or col.generated:
                continue
            out.append(
                (
                    line,
                    "MF103",
                    f"Adding a non-nullable {_q(col.type)} column {_q(col.name)} will fail in "
                    f"case table {_q(key[1])} is not empty",
                )
            )
        # MF104: nullable -> NOT NULL on an existing column, not backfilled before.
        for c in step.of("changed", "column"):
            key, cname = _table_of(c), _child_name(c)
            if c.attribute != "nullable" or not (c.actual is True and c.desired is False):
                continue
            if run.table_added(key) or run.column_added(key, cname) or (key, cname) in pk_cols:
                continue
            if any(prev.parsed.updates_column(key[1], cname) for prev in run.steps[:i]):
                continue
            out.append(
                (
                    line,
                    "MF104",
                    f"Modifying nullable column {_q(cname)} to non-nullable might fail in case it contains NULL values",
                )
            )
    return out


def _pk_added_columns(step: StmtChange) -> set[tuple[tuple[str, str], str]]:
    return {(_table_of(c), col) for c in step.of("missing", "primary key") for col in c.desired.columns}


def _incompatible(run: FileRun) -> list[Diag]:
    out: list[Diag] = []
    for i, step in enumerate(run.steps):
        line = step.stmt.line
        if step.parsed.rename_table:
            olds = step.of("extra", "table")
            news = step.of("missing", "table")
            if len(olds) == 1 and len(news) == 1:
                old, new = olds[0].actual, news[0].desired
                if not run.schema_added(old.schema) and not run.table_added((old.schema, old.name)):
                    view_back = any(
                        c.desired.name == old.name and c.desired.schema == old.schema
                        for later in run.steps[i + 1 :]
                        for c in later.of("missing", "view")
                    )
                    if not view_back:
                        out.append((line, "BC101", f"Renaming table {_q(old.name)} to {_q(new.name)}"))
        if step.parsed.rename_column:
            olds = step.of("extra", "column")
            news = step.of("missing", "column")
            if len(olds) == 1 and len(news) == 1:
                key = _table_of(olds[0])
                old, new = olds[0].actual.name, news[0].desired.name
                added_back = any(
                    _table_of(c) == key and c.desired.name == old
                    for later in run.steps[i + 1 :]
                    for c in later.of("missing", "column")
                )
                if not run.table_added(key) and not added_back:
                    out.append((line, "BC102", f"Renaming column {_q(old)} to {_q(new)}"))
    return out


def _condrop(run: FileRun) -> list[Diag]:
    out: list[Diag] = []
    for step in run.steps:
        dropped_cols = {(_table_of(c), c.actual.name) for c in step.of("extra", "column")}
        for c in step.of("extra", "foreign key"):
            key = _table_of(c)
            if step.after.table(*key) is None:
                continue
            if any((key, col) in dropped_cols for col in c.actual.columns):
                continue
            out.append((step.stmt.line, "CD101", f"Dropping foreign-key constraint {_q(c.actual.name)}"))
    return out


def _concurrent_index(run: FileRun) -> list[Diag]:
    out: list[Diag] = []
    concurrent = 0
    for step in run.steps:
        line, p = step.stmt.line, step.parsed
        for wanted, kind, code, verb in (
            (p.create_index, "missing", "PG101", "Creating"),
            (p.drop_index, "extra", "PG102", "Dropping"),
        ):
            for c in step.of(kind, "index") if wanted else ():
                key = _table_of(c)
                if run.table_added(key):
                    continue
                if p.concurrently:
                    concurrent += 1
                else:
                    index = c.desired if kind == "missing" else c.actual
                    out.append(
                        (
                            line,
                            code,
                            f"{verb} index {_q(index.name)} non-concurrently causes write "
                            f"locks on the {_q(key[1])} table",
                        )
                    )
        if not p.using_index:
            for c in step.of("missing", "primary key"):
                key = _table_of(c)
                if not run.table_added(key):
                    out.append(
                        (
                            line,
                            "PG104",
                            f"Adding the PRIMARY KEY constraint {_q(c.desired.name)} acquires an "
                            f"ACCESS EXCLUSIVE lock on the {_q(key[1])} table, blocking all access "
                            f"while its index is built",
                        )
                    )
            for c in step.of("missing", "unique"):
                key = _table_of(c)
                if not run.table_added(key):
                    out.append(
                        (
                            line,
                            "PG105",
                            f"Adding the UNIQUE constraint {_q(c.desired.name)} acquires an ACCESS "
                            f"EXCLUSIVE lock on the {_q(key[1])} table, blocking all access while "
                            f"its index is built",
                        )
                    )
    if concurrent and run.txmode != "none":
        out.insert(
            0,
            (
                1,
                "PG103",
                "Indexes cannot be created or deleted concurrently within a transaction. Add the "
                "`atlas:txmode none` directive to the header to prevent this file from running in "
                "a transaction",
            ),
        )
    return out


_VARLEN = re.compile(r"^(character varying|bit varying|varchar)(?:\((\d+)\))?$")
_NUMERIC = re.compile(r"^numeric(?:\((\d+)(?:,(\d+))?\))?$")


def needs_rewrite(old: str, new: str) -> bool:
    """Does ALTER COLUMN TYPE old -> new rewrite the table? (PostgreSQL's binary-coercible cases are free.)"""
    if old == new:
        return False
    mo, mn = _VARLEN.match(old), _VARLEN.match(new)
    if mo and mn and mo.group(1) == mn.group(1):
        # Dropping or widening the length limit is free.
        if not mn.group(2):
            return False
        return not mo.group(2) or int(mn.group(2)) < int(mo.group(2))
    if (mo and mo.group(1) == "character varying" and new == "text") or (old == "text" and new == "character varying"):
        return False
    no, nn = _NUMERIC.match(old), _NUMERIC.match(new)
    if no and nn:
        if not nn.group(1):
            return False
        if not no.group(1):
            return True
        return (no.group(2) or "0") != (nn.group(2) or "0") or int(nn.group(1)) < int(no.group(1))
    return (old, new) != ("cidr", "inet")


def _blocking(run: FileRun, volatile: Callable[[str], bool]) -> list[Diag]:
    out: list[Diag] = []
    for step in run.steps:
        line = step.stmt.line
        pk_cols = _pk_added_columns(step)
        for c in step.of("changed", "column"):
            key, cname = _table_of(c), _child_name(c)
            if run.table_added(key) or run.column_added(key, cname):
                continue
            if c.attribute == "type" and needs_rewrite(c.actual, c.desired):
                out.append(
                    (
                        line,
                        "PG301",
                        f"Changing the type of column {_q(cname)} from {_q(c.actual)} to "
                        f"{_q(c.desired)} rewrites the {_q(key[1])} table and its indexes under an "
                        f"ACCESS EXCLUSIVE lock",
                    )
                )
            if (
                c.attribute == "nullable"
                and c.actual is True
                and c.desired is False
                and (key, cname) not in pk_cols
                and not _not_null_checked(step.before.table(*key), cname)
            ):
                out.append(
                    (
                        line,
                        "PG303",
                        f"Setting column {_q(cname)} NOT NULL scans the whole {_q(key[1])} table "
                        f"under an ACCESS EXCLUSIVE lock",
                    )
                )
        for c in step.of("missing", "column"):
            key, col = _table_of(c), c.desired
            if run.table_added(key):
                continue
            if col.default is not None and volatile(col.default):
                out.append(
                    (
                        line,
                        "PG302",
                        f"Adding column {_q(col.name)} with the volatile default "
                        f"{_q(col.default)} rewrites the {_q(key[1])} table under an ACCESS "
                        f"EXCLUSIVE lock",
                    )
                )
        for c in step.of("missing", "primary key"):
            key = _table_of(c)
            old = step.before.table(*key)
            if run.table_added(key) or old is None:
                continue
            nullable = [
                col
                for col in c.desired.columns
                if (oc := old.column(col)) is not None and oc.nullable and not _not_null_checked(old, col)
            ]
            if nullable:
                names = ", ".join(_q(x) for x in nullable)
                out.append(
                    (
                        line,
                        "PG304",
                        f"Adding the PRIMARY KEY {_q(c.desired.name)} sets nullable column"
                        f"{'s' if len(nullable) > 1 else ''} {names} NOT NULL, scanning the whole "
                        f"{_q(key[1])} table",
                    )
                )
        for c in step.of("missing", "check"):
            key = _table_of(c)
            if not run.table_added(key) and c.desired.valid:
                out.append(
                    (
                        line,
                        "PG305",
                        f"Adding the CHECK constraint {_q(c.desired.name)} without NOT VALID scans "
                        f"the whole {_q(key[1])} table under an ACCESS EXCLUSIVE lock",
                    )
                )
        for c in step.of("missing", "foreign key"):
            key = _table_of(c)
            if not run.table_added(key) and c.desired.valid:
                out.append(
                    (
                        line,
                        "PG306",
                        f"Adding the foreign key {_q(c.desired.name)} without NOT VALID scans the "
                        f"whole {_q(key[1])} table and blocks writes to it and to "
                        f"{_q(c.desired.ref_table)}",
                    )
                )
    return out


def _transaction(run: FileRun) -> list[Diag]:
    if run.txmode == "none":
        return []
    out: list[Diag] = []
    for step in run.steps:
        p = step.parsed
        if p.create_index or p.drop_index:
            continue  # CONCURRENTLY indexes are PG103's business
        why = p.non_transactional(run.server_version)
        if why:
            out.append(
                (
                    step.stmt.line,
                    "IN104",
                    f"{why} cannot run inside the transaction this file runs in (tx mode {run.txmode!r})",
                )
            )
    return out


# --------------------------------------------------------------------------- the run


def display_path(path: Path, root: Path | None) -> str:
    """`path` relative to `root` when it lies inside it (how findings and files are named), else as given."""
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


class Linter:
    """Lints files of layers: integrity, which files, then their statements replayed one by one.

    Used by :func:`lint_layers` and by migrate-diff (which lints its planned file
    and reuses the replay as its verification: ``last_catalog``, ``stale``).
    """

    def __init__(self, layers: Layers, *, strict: bool, root: Path | None) -> None:
        self.layers = layers
        self.strict = strict
        self.root = root
        self.findings: list[Finding] = []
        # After analyze(): the scratch database's catalog as last inspected, and whether statements
        # ran since (DML, GRANT ... are not followed by an inspection).
        self.last_catalog: Catalog | None = None
        self.stale = False

    def add(self, path: Path | str, line: int, code: str, message: str) -> None:
        sev = "error" if self.strict or code.startswith(ERROR_PREFIXES) else "warning"
        label = display_path(Path(path), self.root) if not isinstance(path, str) else path
        self.findings.append(Finding(label, line, code, message, HINTS.get(code, ""), sev))

    # -- integrity ---------------------------------------------------------------
    def integrity(self) -> bool:
        ok = True
        for d in self.layers.dirs:
            try:
                d.validate()
            except ChecksumError as exc:
                m = re.search(r"L(\d+): ", exc.message)
                self.add(d.sum_path, int(m.group(1)) if m else 1, "IN101", exc.message)
                ok = False
        for f, message, _hint in version_problems(self.layers.files()):
            self.add(f.path, 1, "IN102", message)
            ok = False
        return ok

    def select(self, latest: int | None, git_base: str | None) -> list[MigrationFile]:
        files = self.layers.files()
        if latest is not None and git_base:
            raise UsageError("--latest and --git-base cannot be used together", "pass one of them")
        if git_base:
            changed = git_changed_files(git_base, [d.path for d in self.layers.dirs])
            idx = [i for i, f in enumerate(files) if f.path.resolve() in changed]
            if not idx:
                return []
            first = idx[0]
            for i in range(first, len(files)):
                if i not in idx:
                    # An existing file after a new one: the new one was added out of order.
                    newer = files[i]
                    for j in idx:
                        if j < i:
                            self.add(
                                files[j].path,
                                1,
                                "IN103",
                                f"{files[j].name} was added out of order: it sorts before {newer.name}, which "
                                f"is already in {git_base}",
                            )
                    break
            return files[first:]
        if latest is None:
            latest = 1
        if latest < 1:
            raise UsageError(f"--latest must be 1 or more, got {latest}", "pass the number of newest files to lint")
        return files[-latest:] if latest < len(files) else files

    # -- replay and analysis -----------------------------------------------------------
    def analyze(
        self,
        scratch: ConnSpec,
        linted: list[MigrationFile],
        *,
        revisions_schema: str | None,
        replayed: Catalog | None = None,
    ) -> None:
        """Replay up to linted, then run and classify linted's statements one by one.

        replayed: the catalog the replay is known to give (migrate-diff has it cached): one
        inspection fewer.
        """
        import psycopg

        from ..inspect.catalog import read_catalog_from
        from ..inspect.diff import diff
        from ..migrations import scanner
        from ..postgres import session
        from .drift import replay

        files = self.layers.files()
        base = len(files) - len(linted)
        if base:
            replay(scratch, self.layers, revisions_schema=revisions_schema, amount=base)
        with session(scratch) as pg:
            version = pg.info.server_version
            cur = self.last_catalog = replayed if replayed is not None else read_catalog_from(pg)
            volatile_cache: dict[str, bool] = {}

            def volatile(expr: str) -> bool:
                if expr not in volatile_cache:
                    names = sorted(set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", expr)))
                    row = pg.execute(
                        "select exists (select 1 from pg_proc where proname = any(%s) and provolatile = 'v')", (names,)
                    ).fetchone()
                    volatile_cache[expr] = bool(row and row[0])
                return volatile_cache[expr]

            for f in linted:
                content = f.text()
                try:
                    stmts = scanner.scan(content, source=f.name)
                    txmode = scanner.effective_txmode(content, f.name, "file")
                except (ScanError, DbstackError) as exc:
                    self.add(f.path, 1, "IN105", exc.message)
                    return
                start = cur
                steps: list[StmtChange] = []
                for st in stmts:
                    p = parse(st.text)
                    before = cur
                    if not p.server_global:
                        try:
                            pg.execute(st.text)
                        except psycopg.Error as exc:
                            msg = (
                                exc.diag.message_primary
                                if exc.diag and exc.diag.message_primary
                                else str(exc).strip().splitlines()[0]
                            )
                            self.add(f.path, st.line, "IN105", f"executing statement failed: {msg}")
                            return
                    changes: list = []
                    if not p.dml and not p.server_global:
                        cur = self.last_catalog = read_catalog_from(pg)
                        self.stale = False
                        changes = diff(cur, before)
                    else:
                        self.stale = True
                    steps.append(StmtChange(st, p, before, cur, changes))
                run = FileRun(f, display_path(f.path, self.root), content, start, steps, txmode, version)
                self.report_file(run, volatile)

    def report_file(self, run: FileRun, volatile: Callable[[str], bool]) -> None:
        from ..migrations.scanner import nolint_of

        file_rules = nolint_of(None, run.content)
        if file_rules.skip_file:
            return
        by_line = {s.stmt.line: s.stmt for s in run.steps}
        diags = (
            _destructive(run)
            + _data_depend(run)
            + _incompatible(run)
            + _condrop(run)
            + _concurrent_index(run)
            + _blocking(run, volatile)
            + _transaction(run)
        )
        for line, code, message in sorted(diags, key=lambda d: (d[0], d[1])):
            stmt = by_line.get(line)
            rules = nolint_of(stmt, run.content) if stmt is not None else file_rules
            if rules.suppresses(analyzer_of(code), code):
                continue
            self.add(run.file.path, line, code, message)


_GIT_REF_BAD = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|^-|^/|/$|\.lock$|^$")


def _git(top: str, *args: str) -> subprocess.CompletedProcess:
    """git with an allow-listed environment (no DATABASE_URL or password reaches it)."""
    from ..childenv import GIT_ALLOW, child_env

    return subprocess.run(["git", "-C", top, *args], capture_output=True, text=True, env=child_env(GIT_ALLOW))


def git_changed_files(base: str, dirs: Iterable[Path]) -> set[Path]:
    """Files under dirs added or changed since base (committed on this branch, staged, unstaged or untracked)."""
    from ..childenv import GIT_ALLOW, child_env

    dirs = [Path(d).resolve() for d in dirs]
    if not dirs:
        return set()
    # A ref is never an option: "--output=…" would be read by git as one (argument injection).
    if _GIT_REF_BAD.search(base):
        raise UsageError(
            f"--git-base {base!r} is not a valid branch, tag or commit name",
            "pass a ref such as origin/main, a tag or a commit hash",
        )
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=dirs[0],
            capture_output=True,
            text=True,
            check=True,
            env=child_env(GIT_ALLOW),
        ).stdout.strip()
    except FileNotFoundError:
        raise UsageError("--git-base needs git, which is not installed", "install git or use --latest N") from None
    except subprocess.CalledProcessError:
        raise UsageError(f"--git-base: {dirs[0]} is not inside a git repository", "use --latest N instead") from None
    res = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}")
    sha = res.stdout.strip()
    if res.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40,64}", sha):
        raise UsageError(
            f"--git-base {base}: no such branch, tag or commit here",
            "pass a branch, tag or commit that exists here (e.g. origin/main; `git fetch` first)",
        )
    rels = [str(d.relative_to(top)) if d.is_relative_to(top) else str(d) for d in dirs]
    names: set[str] = set()
    for args in (
        ["diff", "--name-only", "-z", f"{sha}...HEAD", "--"],
        ["diff", "--name-only", "-z", "HEAD", "--"],
        ["ls-files", "-z", "--others", "--exclude-standard", "--"],
    ):
        res = _git(top, *args, *rels)
        if res.returncode != 0:
            err = (res.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise UsageError(
                f"--git-base {base}: git {args[0]} failed: {err}",
                "pass a branch, tag or commit that exists here (e.g. origin/main)",
            )
        names.update(x for x in res.stdout.split("\0") if x)
    return {(Path(top) / n).resolve() for n in names}


def lint_layers(
    layers: Layers,
    server: ConnSpec,
    *,
    latest: int | None = None,
    git_base: str | None = None,
    strict: bool = False,
    revisions_schema: str | None = None,
    root: Path | None = None,
    admin_db: str = "postgres",
) -> LintReport:
    """Lint the selected files of layers, replaying on a scratch database of server's server."""
    from ..inspect.scratch import scratch_database

    linter = Linter(layers, strict=strict, root=root)
    linted: list = []
    if linter.integrity():
        linted = linter.select(latest, git_base)
        if linted:
            with scratch_database(server, prefix="dbstack_lint", admin_db=admin_db) as scratch:
                linter.analyze(scratch, linted, revisions_schema=revisions_schema)
    return LintReport(findings=linter.findings, files=[display_path(f.path, root) for f in linted], strict=strict)


def run_lint(
    settings: Settings,
    *,
    db: str | None = None,
    target: str | None = None,
    dir: str | None = None,
    latest: int | None = None,
    git_base: str | None = None,
    strict: bool = False,
    dir_format: str | None = None,
) -> LintReport:
    """Lint a configured database's migrations (or --dir) using a scratch database on the target's server."""
    from ..migrations.commands import resolve

    conn, layers, rev_schema = resolve(settings, db=db, target=target, dir=dir, dir_format=dir_format)
    admin = settings.local.admin_db if settings.target_settings(target).kind == "local" else "postgres"
    return lint_layers(
        layers,
        conn,
        latest=latest,
        git_base=git_base,
        strict=strict,
        revisions_schema=rev_schema or None,
        root=settings.root,
        admin_db=admin,
    )
