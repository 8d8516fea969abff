"""Atlas's statement scanner for PostgreSQL, and file/statement directives.

(Interface fixed by the lead; implementation owned by the scanner work.)
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Statement:
    """One statement as Atlas's scanner yields it."""

    text: str                  # trimmed; ends with ';' for the default delimiter
    line: int                  # 1-based line of the first character of text
    col: int                   # 1-based column of the first character of text
    comments: tuple[str, ...]  # comment lines/blocks attached before the statement

    def directive(self, name: str) -> list[str] | None:
        """Arguments of `-- atlas:<name> …` attached to this statement, or None."""
        raise NotImplementedError


def scan(text: str, *, source: str = "") -> list[Statement]:
    """Split a migration file into statements (raises ScanError with source:line:col)."""
    raise NotImplementedError


def file_directives(content: str, name: str) -> list[str]:
    """Arguments of each file-level `atlas:<name>` directive (Atlas's LocalFile.Directive)."""
    raise NotImplementedError
