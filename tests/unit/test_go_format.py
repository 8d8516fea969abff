"""Go's %q (strconv.Quote) is the one quoting of statements and names in Atlas-style messages."""

from __future__ import annotations

import json

from dbstack.migrations.go_format import go_quote


def test_control_characters_are_quoted_as_go_does_not_as_json():
    # JSON would write \u0001 and \u007f; Go writes \x01 and \x7f (strconv.Quote, strconv/quote.go).
    text = 'a\x01b\x7f"c\\\t\u00e9'
    assert go_quote(text) == '"a\\x01b\\x7f\\"c\\\\\\t\u00e9"'
    assert go_quote(text) != json.dumps(text, ensure_ascii=False)


def test_bytes_kept_by_surrogateescape_are_shown_as_bytes():
    assert go_quote(b"x\xff".decode("utf-8", "surrogateescape")) == '"x\\xff"'
