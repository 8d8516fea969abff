"""One error hierarchy for dbstack.

Every failure a user can cause is a :class:`DbstackError`. Each error carries
the message (what happened), a hint (what to do) and the process exit code.
The library raises them; exactly one place (``dbstack.cli.exit_on_error``)
turns them into a printed message and an exit code.
"""

from __future__ import annotations

from typing import Any


class DbstackError(Exception):
    """Base of every error dbstack reports to a user."""

    exit_code = 1
    default_hint = ""

    def __init__(self, message: str, hint: str | None = None, *, output: str = "", report: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint
        # Text that must reach stdout before the one-line error (Atlas prints
        # its checksum report on stdout, the error line on stderr).
        self.output = output
        # The report (dbstack.migrations.report.ApplyReport) of the migration run this error
        # ended, once the run had started: callers print it (or its JSON) with the error.
        # Typed loosely because errors.py sits below every other module.
        self.report = report

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        """The one-line message shown to the user, hint appended."""
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(DbstackError):
    """Settings, targets or config files are missing or invalid."""


class UsageError(DbstackError):
    """A task was called with arguments that cannot work together."""


class MigrationDirError(DbstackError):
    """The migration directory cannot be read or has invalid file names."""


class ChecksumError(DbstackError):
    """atlas.sum is missing, malformed or does not match the files."""

    default_hint = "if the change is intended, run `inv migrate-hash`; otherwise restore the file from version control"


class ScanError(DbstackError):
    """A migration file cannot be split into statements."""


class DatabaseError(DbstackError):
    """The database refused a connection or a statement."""


class MigrationError(DbstackError):
    """Applying migrations failed (lock, dirty database, failed statement, ...)."""

    def __init__(
        self, message: str, hint: str | None = None, *, output: str = "", report: Any = None, version: str | None = None
    ) -> None:
        super().__init__(message, hint, output=output, report=report)
        # The version of the migration file whose statement failed, when one did
        # (the standalone `migrate` names that file's layer in its hint).
        self.version = version


class DiffUnverified(MigrationError):
    """migrate-diff: the planned file does not reproduce the live schema; nothing was written."""


class PendingMigrations(DbstackError):
    """Not an error in the usual sense: status found pending files (CI gate)."""

    exit_code = 2


class DriftDetected(DbstackError):
    """The live schema differs from the migrations."""

    exit_code = 2


class LintFailed(DbstackError):
    """Lint found errors."""


class ToolMissing(DbstackError):
    """An external program (docker, kubectl, kind, helm, atlas, pg_ctl) is missing."""


class BackendError(DbstackError):
    """The local server backend (Docker or embedded) failed."""


class KubernetesError(DbstackError):
    """Rendering or deploying to Kubernetes failed."""


class Refused(DbstackError):
    """A guarded command refused to run (non-dev target, no terminal, ...)."""
