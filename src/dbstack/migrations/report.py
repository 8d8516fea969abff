"""Atlas's `migrate apply` and `migrate status` output: text templates and JSON.

The text is what Atlas's default templates (``cmd/atlas/internal/cmdlog``)
print — same lines, indentation, plural rules and Go duration formatting —
so that people and scripts reading Atlas output read ours the same way
(ariga/atlas cmd/atlas/internal/cmdlog/cmdlog.go templates). ``to_json()`` gives the fields of
Atlas's ``MigrateApply`` / ``MigrateStatus`` structs as ``{{ json . }}``
prints them; the database URL in ``Env`` is always masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .go_format import go_duration, go_time
from .revisions import Revision

NO_PENDING = "No migration files to execute"


def plural(n: int) -> str:
    return "s" if n > 1 else ""


class Colors:
    """Atlas colours its output only on a terminal (fatih/color)."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, s: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if self.enabled else s

    def cyan(self, s: str) -> str:
        return self._wrap("36", s)

    def yellow(self, s: str) -> str:
        return self._wrap("33", s)

    def green(self, s: str) -> str:
        return self._wrap("92", s)

    def red(self, s: str) -> str:
        return self._wrap("91", s)

    def alert(self, s: str) -> str:
        return self._wrap("97;101", s)


# --------------------------------------------------------------------------- shared parts


@dataclass(frozen=True)
class FileRef:
    """A migration file as Atlas's JSON shows it."""

    name: str
    version: str
    description: str

    @classmethod
    def of(cls, f: Any) -> FileRef:
        return cls(f.name, f.version, f.description)

    def to_json(self) -> dict:
        return _omit_empty({"Name": self.name, "Version": self.version, "Description": self.description})


@dataclass(frozen=True)
class Env:
    driver: str = "postgres"
    url: str = ""  # always masked
    dirs: tuple[str, ...] = ()

    def to_json(self) -> dict:
        out = _omit_empty({"Driver": self.driver, "URL": self.url, "Dir": self.dirs[0] if len(self.dirs) == 1 else ""})
        if len(self.dirs) > 1:
            out["Dirs"] = list(self.dirs)
        return out


def _omit_empty(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in ("", None, [], 0)}


# --------------------------------------------------------------------------- apply


@dataclass
class StmtError:
    stmt: str
    text: str

    def to_json(self) -> dict:
        return _omit_empty({"Stmt": self.stmt, "Text": self.text})


@dataclass
class AppliedFile:
    """One file of an apply run (Atlas's AppliedFile)."""

    file: FileRef
    start: datetime
    elapsed_ns: int = 0
    skipped: int = 0
    applied: list[str] = field(default_factory=list)  # statements run, the failing one last
    error: StmtError | None = None

    @property
    def end(self) -> datetime:
        return self.start + timedelta(microseconds=self.elapsed_ns // 1000)

    @property
    def version(self) -> str:
        return self.file.version

    def to_json(self) -> dict:
        out: dict[str, Any] = self.file.to_json()
        out["Start"] = go_time(self.start)
        out["End"] = go_time(self.end)
        if self.skipped:
            out["Skipped"] = self.skipped
        if self.applied:
            out["Applied"] = list(self.applied)
        if self.error is not None:
            out["Error"] = self.error.to_json()
        return out


@dataclass
class ApplyReport:
    """What an apply run did (Atlas's MigrateApply)."""

    env: Env = field(default_factory=Env)
    pending_files: list[FileRef] = field(default_factory=list)
    files: list[AppliedFile] = field(default_factory=list)
    current: str = ""
    target: str = ""
    start: datetime | None = None
    elapsed_ns: int = 0
    error: str = ""
    dry_run: bool = False

    # -- facts other code asks for -------------------------------------------------
    @property
    def pending(self) -> list[str]:
        """Versions this run set out to apply."""
        return [f.version for f in self.pending_files]

    @property
    def applied(self) -> list[str]:
        """Versions applied completely in this run (in a dry run: that would be)."""
        return [f.version for f in self.files if f.error is None]

    @property
    def end(self) -> datetime | None:
        if self.start is None:
            return None
        return self.start + timedelta(microseconds=self.elapsed_ns // 1000)

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(f.error is not None for f in self.files)

    def count_stmts(self) -> tuple[int, int]:
        """(statements ok, statements failed), as Atlas's Summary counts them."""
        ok = failed = 0
        for f in self.files:
            ok += len(f.applied)
            if f.error is not None and f.applied:
                ok -= 1
                failed += 1
        return ok, failed

    def summary_lines(self) -> list[str]:
        lines = [go_duration(self.elapsed_ns)]
        passed_f = sum(1 for f in self.files if f.error is None)
        failed_f = len(self.files) - passed_f
        if passed_f and failed_f:
            lines.append(f"{passed_f} migration{plural(passed_f)} ok, {failed_f} with errors")
        elif passed_f:
            lines.append(f"{passed_f} migration{plural(passed_f)}")
        elif failed_f:
            lines.append(f"{failed_f} migration{plural(failed_f)} with errors")
        ok, bad = self.count_stmts()
        if ok and bad:
            lines.append(f"{ok} sql statement{plural(ok)} ok, {bad} with errors")
        elif ok:
            lines.append(f"{ok} sql statement{plural(ok)}")
        elif bad:
            lines.append(f"{bad} sql statement{plural(bad)} with errors")
        return lines

    # -- output ----------------------------------------------------------------------
    def render_text(self, color: bool = False) -> str:
        """Atlas's default `migrate apply` template."""
        c = Colors(color)
        if not self.pending_files:
            return NO_PENDING + "\n"
        out = [f"Migrating to version {c.cyan(self.target)}"]
        if self.current:
            out.append(f" from {c.cyan(self.current)}")
        out.append(f" ({len(self.pending_files)} migrations in total):\n")
        for f in self.files:
            out.append("\n")
            out.append(f"  {c.yellow('--')} migrating version {c.cyan(f.version)}\n")
            for stmt in f.applied:
                out.append(f"    {c.cyan('->')} {stmt.replace(chr(10), chr(10) + ' ' * 7)}\n")
            if f.error is not None:
                out.append(f"    {c.alert(f.error.text)}\n")
            else:
                out.append(f"  {c.yellow('--')} ok ({c.yellow(go_duration(f.elapsed_ns))})\n")
        if not self.files:  # the template's `range … else`: the run failed before any file
            out.append("\n")
            if self.error:
                out.append(f"    {c.alert(self.error)}\n")
        out.append("\n")
        out.append(f"  {c.cyan('-------------------------')}\n")
        out.append("  " + "\n  ".join(f"{c.yellow('--')} {line}" for line in self.summary_lines()) + "\n")
        return "".join(out)

    def message(self) -> str:
        if self.error:
            return ""
        if not self.files:
            return NO_PENDING
        return f"Migrated to version {self.target} from {self.current} ({len(self.pending_files)} migrations in total)"

    def to_json(self) -> dict:
        out: dict[str, Any] = self.env.to_json()  # Atlas embeds Env: its fields sit at the top level
        if self.pending_files:
            out["Pending"] = [f.to_json() for f in self.pending_files]
        if self.files:
            out["Applied"] = [f.to_json() for f in self.files]
        if self.current:
            out["Current"] = self.current
        if self.target:
            out["Target"] = self.target
        out["Start"] = go_time(self.start)
        out["End"] = go_time(self.end)
        if self.error:
            out["Error"] = self.error
        msg = self.message()
        if msg:
            out["Message"] = msg
        if self.dry_run:
            out["DryRun"] = True
        return out


# --------------------------------------------------------------------------- status


@dataclass
class StatusReport:
    """The migration state of a database (Atlas's MigrateStatus)."""

    env: Env = field(default_factory=Env)
    available: list[FileRef] = field(default_factory=list)
    out_of_order: list[FileRef] = field(default_factory=list)
    pending_files: list[FileRef] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)
    current: str = ""
    next: str = ""
    count: int = 0  # statements applied of a partially applied last file
    total: int = 0  # its statement count (0 when nothing is partial)
    status: str = ""
    error: str = ""
    sql: str = ""

    @property
    def pending(self) -> list[str]:
        """Versions still to apply (out-of-order files included)."""
        return [f.version for f in self.out_of_order] + [f.version for f in self.pending_files]

    @property
    def is_pending(self) -> bool:
        return self.status == "PENDING"

    def render_text(self, color: bool = False) -> str:
        """Atlas's default `migrate status` template."""
        c = Colors(color)
        status = c.green(self.status) if self.status == "OK" else c.yellow(self.status)
        dash = c.yellow("--")
        lines = [f"Migration Status: {status}"]
        cur = f"  {dash} Current Version: {c.cyan(self.current)}"
        if self.total > 0:
            cur += f" ({c.yellow(str(self.count))} statements applied)"
        lines.append(cur)
        nxt = f"  {dash} Next Version:    {c.cyan(self.next) if self.next else 'UNKNOWN'}"
        if self.total > 0:
            nxt += f" ({c.yellow(str(self.total - self.count))} statements left)"
        lines.append(nxt)
        ex = f"  {dash} Executed Files:  {len(self.revisions)}"
        if self.total > 0:
            ex += " (last one partially)"
        lines.append(ex)
        pend = f"  {dash} Pending Files:   {len(self.pending_files) + len(self.out_of_order)}"
        if self.out_of_order:
            pend += f" ({str(len(self.out_of_order)) + ' ' if self.pending_files else ''}out of order)"
        lines.append(pend)
        if self.total > 0:
            lines += [
                "",
                "Last migration attempt had errors:",
                f"  {dash} SQL:   {self.sql}",
                f"  {dash} {c.red('ERROR:')} {self.error}",
            ]
        elif self.out_of_order and self.error:
            lines += ["", f"  {c.red('ERROR:')} {self.error}"]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict:
        out: dict[str, Any] = {"Env": self.env.to_json()}
        if self.available:
            out["Available"] = [f.to_json() for f in self.available]
        if self.out_of_order:
            out["OutOfOrder"] = [f.to_json() for f in self.out_of_order]
        if self.pending_files:
            out["Pending"] = [f.to_json() for f in self.pending_files]
        if self.revisions:
            out["Applied"] = [r.to_json() for r in self.revisions]
        for key, value in (
            ("Current", self.current),
            ("Next", self.next),
            ("Count", self.count),
            ("Total", self.total),
            ("Status", self.status),
            ("Error", self.error),
            ("SQL", self.sql),
        ):
            if value:
                out[key] = value
        return out
