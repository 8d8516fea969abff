"""SQL identifier and literal quoting for the text we generate (DDL, revision upserts)."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """PostgreSQL identifier quoting, always quoted (safe for any name)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A standard string literal (the server's default standard_conforming_strings=on)."""
    return "'" + text.replace("'", "''") + "'"


def quote_literal_any(text: str) -> str:
    """A string literal that is safe whatever standard_conforming_strings says."""
    if "\\" in text:
        return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return quote_literal(text)
