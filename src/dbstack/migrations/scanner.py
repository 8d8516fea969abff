"""Atlas's statement scanner for PostgreSQL, and file/statement directives.

Behaviour follows Atlas's ``sql/migrate/lex.go`` with the options its PostgreSQL
driver turns on (``BEGIN … END`` and ``BEGIN ATOMIC … END`` blocks, dollar
quotes, ``E'…'`` escapes; no ``#`` comments, no backslash escapes elsewhere,
no ``GO``), and the directive rules of ``LocalFile.Directive`` and
``Stmt.Directive`` in ``sql/migrate/dir.go`` (ariga/atlas v1.2.3).

Atlas walks the file one rune at a time.  Here a compiled regex jumps over
every run of characters that cannot change the scanner's state (plain text,
quoted strings, lone ``-``/``/``/``$``, words starting with ``B``), and Python
only looks at the few positions where Atlas's rules decide something.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, cast

from ..errors import MigrationError, ScanError
from .go_format import go_quote

DEFAULT_DELIMITER = ";"
TXMODES = ("none", "file")

# Go's unicode.IsSpace (skipSpaces, strings.TrimSpace).  Python's own notion of
# whitespace also covers \x1c-\x1f, which Go keeps as statement text.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class _Total(Protocol):
    """A compiled `(...)*` pattern: it matches (perhaps nothing) at every position, so .match never gives None."""

    def match(self, string: str, pos: int = ..., endpos: int = ...) -> re.Match[str]: ...


_SKIP_SPACE = cast(_Total, re.compile("[" + re.escape(_GO_SPACE) + "]*"))
# RE2's \s (Atlas's BEGIN/END regexps): ASCII only, without \v.
_WS = "\t\n\f\r "
# Explicit letter pairs instead of IGNORECASE: Python would also let "i" match
# U+0131, Go's case folding does not.
_BEGIN = re.compile(f"[Bb][Ee][Gg][Ii][Nn][{_WS}]+")
_BEGIN_ATOMIC = re.compile(f"[Bb][Ee][Gg][Ii][Nn][{_WS}]+[Aa][Tt][Oo][Mm][Ii][Cc][{_WS}]+")
_END = re.compile(f"[Ee][Nn][Dd][{_WS}]*")
_LAST_END = re.compile("(?s:.*)[Ee][Nn][Dd]")  # no block can close after the last "END"
_DELIMITER_CMD = re.compile("[Dd][Ee][Ll][Ii][Mm][Ii][Tt][Ee][Rr]")
# Dollar-quote tag: Go's \w is ASCII, plus the Latin-1 letters È-ÿ.
_TAG = "[A-Za-z_\u00c8-\u00ff][0-9A-Za-z_\u00c8-\u00ff]*"
_DOLLAR = re.compile(rf"\$(?:{_TAG})?\$")
# Atlas's reDirective (v1.2.3): printable-ASCII prefix, a name, then one argument.
_DIRECTIVE = re.compile(r"([ -~]*)atlas:([0-9A-Za-z_]+)(?: +(.+))*")
_ESCAPE = re.compile(r"\\[nrt]")
_UNESCAPE = {"\\n": "\n", "\\r": "\r", "\\t": "\t"}
_ESCAPED_STOP = {q: re.compile("[" + re.escape(q) + r"\\]") for q in "'\"`"}
_RUNE_QUOTE = {"'": "'\\''", '"': "'\"'", "`": "'`'"}
_CODE = re.compile(r"[A-Z]+[0-9]+")


@dataclass(frozen=True)
class Statement:
    """One statement as Atlas's scanner yields it."""

    text: str  # trimmed; ends with ';' for the default delimiter
    line: int  # 1-based line of the first character of text
    col: int  # 1-based column (characters) of the first character of text
    comments: tuple[str, ...]  # comment lines/blocks attached before the statement

    def directive(self, name: str) -> list[str] | None:
        """Arguments of each ``atlas:<name>`` comment attached to this statement, or None.

        Accepted forms (Atlas's ``Stmt.Directive``): ``-- atlas:x``, ``--atlas:x``,
        ``#atlas:x`` and a single-line ``/*atlas:x args*/``.
        """
        found: list[str] = []
        for c in self.comments:
            if c.startswith("/*") and "\n" not in c:
                d = _directive(c.removesuffix("*/"), name, "/*")
                if d is not None:
                    found.append(d)
                continue
            for prefix in ("#", "--", "-- "):
                d = _directive(c, name, prefix)
                if d is not None:
                    found.append(d)
        return found or None


def _directive(content: str, name: str, prefix: str | None = None) -> str | None:
    m = _DIRECTIVE.match(content)
    if m is None or m.group(2) != name or (prefix is not None and m.group(1) != prefix):
        return None
    return m.group(3) or ""


# ----------------------------------------------------------------------------- scanning


class _LexError(Exception):
    """A scanning error at an absolute character offset (None: Atlas gives no position)."""

    def __init__(self, pos: int | None, msg: str) -> None:
        super().__init__(msg)
        self.pos = pos
        self.msg = msg


# Possessive quantifiers and atomic groups (new in 3.11) are not used: CPython
# before 3.11.5 / 3.12.0 matches them wrongly when the repeated part can
# backtrack (python/cpython gh-106052), and Debian 12 ships 3.11.2.  A
# lookahead is atomic in every CPython, so ``(?=(?P<n>X))(?P=n)`` matches what
# ``(?>X)`` does; each use needs a group name of its own.
_ATOMIC_IDS = itertools.count()


def _atomic(body: str) -> str:
    """``(?>body)`` spelled so that every supported CPython matches it the same way."""
    name = f"_a{next(_ATOMIC_IDS)}"
    return f"(?=(?P<{name}>{body}))(?P={name})"


# Atoms Atlas's rules leave inert once inside a statement: plain text, quoted
# strings (not after E/e, where backslashes escape), comments, and a lone
# -, / or $, or a B that does not start BEGIN<space>.  A greedy run of a class
# that excludes what follows it can only end in one place, so those need no
# atomic group; the block comment's inner loop and a group's body do.
_QUOTED = ("(?<![Ee])'[^']*'", '(?<![Ee])"[^"]*"', "(?<![Ee])`[^`]*`")
_LINE_COMMENT = r"--[^\n]*\n"


def _block_comment() -> str:
    return r"/\*" + _atomic(r"(?:[^*]+|\*(?!/))*") + r"\*/"


_LONE_DOLLAR = rf"\$(?!(?:{_TAG})?\$)"
_LONE_B = f"[Bb](?![Ee][Gg][Ii][Nn][{_WS}])"
_GROUP_DEPTH = 6


@lru_cache(maxsize=64)
def _run_pattern(delim: str) -> _Total:
    """A regex consuming a statement's text up to the next position where Atlas decides something.

    Used only after a statement's first character (comments there belong to
    the statement's comment group).  It stops at the delimiter's first
    character, at an unbalanced or too deeply nested parenthesis, at quotes
    it cannot skip blindly (unclosed, or after E/e), at dollar quotes, at
    unclosed comments and, for the default delimiter, at BEGIN<space>.
    Inside parentheses Atlas never looks for the delimiter, so a balanced
    group made of inert atoms is skipped whole.
    """
    begin = delim == DEFAULT_DELIMITER

    def inner() -> list[str]:
        # Built anew for each nesting level: every atomic group needs its own name.
        atoms = [
            f"[^()'\"`$\\-/{'Bb' if begin else ''}]+",
            *_QUOTED,
            _LINE_COMMENT,
            _block_comment(),
            "-(?!-)",
            r"/(?!\*)",
            _LONE_DOLLAR,
        ]
        return atoms + [_LONE_B] if begin else atoms

    group = r"\(" + _atomic("(?:" + "|".join(inner()) + ")*") + r"\)"
    for _ in range(_GROUP_DEPTH - 1):
        group = r"\(" + _atomic("(?:" + "|".join(inner() + [group]) + ")*") + r"\)"
    first = delim[0]
    specials = set("()'\"`$-/") | {first}
    if begin:
        specials |= {"B", "b"}
    outer = ["[^" + "".join(re.escape(c) for c in sorted(specials)) + "]+", *_QUOTED, group]
    # The delimiter is looked for before comments and dollar quotes: when it
    # starts with one of their characters, stop there and let the lexer decide.
    if first != "-":
        outer += [_LINE_COMMENT, "-(?!-)"]
    if first != "/":
        outer += [_block_comment(), r"/(?!\*)"]
    if first != "$":
        outer.append(_LONE_DOLLAR)
    if begin:
        outer.append(_LONE_B)
    # Nothing follows this loop, so the greedy loop never backtracks: it ends
    # where a possessive one would.
    return cast(_Total, re.compile("(?:" + "|".join(outer) + ")*"))


# A comment at a statement's head, the newlines that may detach it, and the
# spaces after it.  Only valid when the delimiter does not start with - or /
# (Atlas looks for the delimiter before comments).
_HEAD_COMMENT = re.compile(
    f"(?P<comment>{_LINE_COMMENT}|{_block_comment()})(?P<newlines>\n\n?)?[{re.escape(_GO_SPACE)}]*"
)


def _unescape(d: str) -> str:
    return _ESCAPE.sub(lambda m: _UNESCAPE[m.group()], d)


class _Lexer:
    """Atlas's Scanner over ``text[start:]``; offsets are absolute indexes into text."""

    __slots__ = ("text", "n", "base", "origin", "delim", "run", "comments", "blocks")

    def __init__(self, text: str, start: int, blocks: dict | None = None) -> None:
        self.text = text
        self.n = len(text)
        # Outcomes of BEGIN [ATOMIC] block attempts, shared by every lexer of one scan.
        self.blocks: dict = {} if blocks is None else blocks
        self.base = start  # where the current statement's input begins
        self.origin = start  # where Atlas starts counting consumed input
        self.comments: list[str] = []
        self.delim = DEFAULT_DELIMITER
        self.run = _run_pattern(DEFAULT_DELIMITER)
        if text.startswith("-- ", start):
            m = _DIRECTIVE.match(text, start)
            if m and m.group(2) == "delimiter" and m.group(1) == "-- ":
                d = m.group(3) or ""
                self._set_delim(d)
                nl = text.find("\n", start)
                if nl < 0:
                    raise _LexError(start, f"no input found after delimiter {go_quote(d)}")
                self.base = self.origin = nl + 1

    def _set_delim(self, d: str) -> None:
        if not d:
            raise _LexError(None, "empty delimiter")
        self.delim = _unescape(d)
        self.run = _run_pattern(self.delim)

    def _emit(self, end: int) -> tuple[int, str, tuple[str, ...]]:
        raw = self.text[self.base : end]
        if self.delim != DEFAULT_DELIMITER:
            raw = raw.removesuffix(self.delim)
        stmt = (self.base, raw.strip(_GO_SPACE), tuple(self.comments))
        self.base = end
        self.comments = []
        return stmt

    def stmt(self) -> tuple[int, str, tuple[str, ...]] | None:
        """The next statement as (start offset, text, comments), or None at the end."""
        text, n = self.text, self.n
        i = self.base = _SKIP_SPACE.match(text, self.base).end()
        depth = opening = 0
        while True:
            if i != self.base:
                i = self.run.match(text, i).end()
            elif i < n:
                c = text[i]
                if c in "Dd" and n - i > 9 and _DELIMITER_CMD.match(text, i):
                    i = self._delimiter_command(i)
                    continue
                if c not in "-/":
                    i = self.run.match(text, i).end()
                elif self.delim[0] not in "-/":
                    m = _HEAD_COMMENT.match(text, i)
                    if m:
                        comment, newlines = m.group("comment", "newlines")
                        # A blank line after the group detaches it from the statement.
                        if newlines and (len(newlines) == 2 or comment[0] == "-"):
                            self.comments = []
                        else:
                            self.comments.append(comment)
                        i = self.base = m.end()
                        continue
            if i >= n:
                if depth:
                    raise _LexError(opening, "unclosed '('")
                if n > self.base:
                    return self._emit(n)
                return None
            c = text[i]
            if c == "(":
                if not depth:
                    opening = i + 1
                depth += 1
                i += 1
                continue
            if c == ")":
                if not depth:
                    raise _LexError(i + 1, "unexpected ')'")
                depth -= 1
                i += 1
                continue
            if c in "'\"`":
                i = self._skip_quote(i)
                continue
            delim = self.delim
            if not depth and text.startswith(delim, i):
                return self._emit(i + len(delim))
            if c == "$":
                m = _DOLLAR.match(text, i)
                if m:
                    tag = m.group()
                    close = text.find(tag, i + len(tag))
                    # Unclosed: the quote runs to the end of the file, no error.
                    i = n if close < 0 else close + len(tag)
                    continue
            elif c == "-" and text.startswith("-", i + 1):
                i = self._comment(i, "\n")
                continue
            elif c == "/" and text.startswith("*", i + 1):
                i = self._comment(i, "*/")
                continue
            elif c in "Bb" and delim == DEFAULT_DELIMITER:
                # Atlas tests these at the whitespace before BEGIN too; the outcome
                # (where the block ends, or where scanning resumes) is the same.
                m = _BEGIN_ATOMIC.match(text, i)
                if m:
                    end = self._block(m.end(), atomic=True)
                    if end is not None:
                        return self._emit(end)
                    i = m.end()
                    continue
                if i == self.base or text[i - 1] in _WS:
                    m = _BEGIN.match(text, i)
                    if m:
                        end = self._block(m.end(), atomic=False)
                        if end is not None:
                            return self._emit(end)
                        i = m.end()
                        continue
            i += 1

    def _delimiter_command(self, i: int) -> int:
        """MySQL's ``DELIMITER x`` at the start of a statement; returns where to go on."""
        text = self.text
        p = i + 9
        if not text.startswith(" ", p):
            return p  # just a word; Atlas has already stepped over it
        nl = text.find("\n", p)
        end = self.n if nl < 0 else nl + 1
        d = text[p:end].strip(_GO_SPACE)
        if d.startswith("'") and d.endswith("'"):
            if len(d) == 1:  # Atlas itself crashes on this one
                raise _LexError(None, f"invalid delimiter {go_quote(d)}")
            d = d[1:-1].replace("''", "'")
        self._set_delim(d)
        self.comments = []
        self.base = _SKIP_SPACE.match(text, end).end()
        return self.base

    def _skip_quote(self, i: int) -> int:
        text, q = self.text, self.text[i]
        if i > self.base and text[i - 1] in "Ee":
            k = i + 1
            stop = _ESCAPED_STOP[q]
            while True:
                m = stop.search(text, k)
                if m is None:
                    break
                j = m.start()
                if text[j] == q:
                    return j + 1
                if j + 1 >= self.n:
                    break
                k = j + 2
        else:
            j = text.find(q, i + 1)
            if j >= 0:
                return j + 1
        raise _LexError(i + 1, f"unclosed quote {_RUNE_QUOTE[q]}")

    def _comment(self, i: int, right: str) -> int:
        text = self.text
        j = text.find(right, i + 2)
        if j < 0:
            return i + 2  # not a comment: Atlas goes on after the two characters
        end = j + len(right)
        if i != self.base:
            return end  # inside a statement: stays part of its text
        self.comments.append(text[i:end])
        if text.startswith("\n\n", end) or (right == "\n" and text.startswith("\n", end)):
            self.comments = []  # a blank line detaches the group
        self.base = _SKIP_SPACE.match(text, end).end()
        return self.base

    def _block(self, start: int, *, atomic: bool) -> int | None:
        """End offset of a BEGIN [ATOMIC] … END block whose body starts at start, or None.

        The outcome depends on nothing but start, so it is computed once per
        scan: Atlas retries every later BEGIN inside each failed attempt, which
        is exponential in the number of unmatched BEGINs.
        """
        key = (start, atomic)
        blocks = self.blocks
        if key in blocks:
            return blocks[key]
        last_end = blocks.get("last END")
        if last_end is None:
            m = _LAST_END.match(self.text)
            last_end = blocks["last END"] = m.end() - 3 if m else -1
        end = None if last_end < start else self._scan_block(start, atomic)
        blocks[key] = end
        return end

    def _scan_block(self, start: int, atomic: bool) -> int | None:
        try:
            body = _Lexer(self.text, start, self.blocks)
            while True:
                st = body.stmt()
                if st is None:
                    return None
                t = st[1]
                m = _END.match(t)
                if m and (atomic or m.end() == len(t) or t[m.end() :] == self.delim):
                    break
        except _LexError:
            return None
        # Atlas advances by the bytes the body consumed, not counting a
        # `-- atlas:delimiter` line at its very start.
        return start + (body.base - body.origin)


def scan(text: str, *, source: str = "") -> list[Statement]:
    """Split a migration file into statements, exactly as Atlas's PostgreSQL driver does.

    Raises ScanError ``"<source>: <line>:<col>: <msg>"`` (Atlas's message; its
    column counts bytes) for an unclosed quote or parenthesis or an
    unexpected ``)``.
    """
    out: list[Statement] = []
    try:
        lexer = _Lexer(text, 0)
        line, last = 1, 0
        while True:
            st = lexer.stmt()
            if st is None:
                return out
            start, body, comments = st
            line += text.count("\n", last, start)
            last = start
            out.append(Statement(body, line, start - text.rfind("\n", 0, start), comments))
    except _LexError as exc:
        raise _scan_error(text, source, exc) from None
    except RecursionError:
        # Hundreds of BEGINs each left open inside the previous one: Atlas never
        # finishes such a file either.
        raise ScanError(
            f"{source + ': ' if source else ''}too many nested BEGIN blocks",
            "end each BEGIN block with END; (a transaction is started with BEGIN; and ended with COMMIT;)",
        ) from None


_HINTS = {
    "unclosed quote": "close the string; inside a string write a quote twice (it''s), use E'...' for "
    "backslash escapes and $$...$$ for function bodies",
    "unclosed '('": "a '(' opened at that position is never closed before the end of the file",
    "unexpected ')'": "this ')' has no matching '(' in the statement",
    "empty delimiter": "give DELIMITER / `-- atlas:delimiter` a non-empty value",
    "invalid delimiter": "give DELIMITER a value other than a lone quote",
    "no input found after delimiter": "put the statements on the lines after the `-- atlas:delimiter` line",
}


def _scan_error(text: str, source: str, exc: _LexError) -> ScanError:
    if exc.pos is None:
        where = exc.msg
    else:
        p = exc.pos
        line = 1 + text.count("\n", 0, p)
        line_start = text.rfind("\n", 0, p) + 1
        col = len(text[line_start:p].encode("utf-8", "surrogateescape"))
        where = f"{line}:{col}: {exc.msg}"
    hint = next((h for k, h in _HINTS.items() if exc.msg.startswith(k)), "")
    hint = (hint + "; Atlas splits this file the same way, so it would fail too").lstrip("; ")
    return ScanError(f"{source}: {where}" if source else where, hint)


# ----------------------------------------------------------------------------- file directives


def _file_comments(content: str) -> list[str]:
    """The comment lines heading the file that Atlas treats as file directives.

    They must be separated from the rest by a blank line (spaces or tabs
    allowed on it); a CRLF file never qualifies because "\\r\\n" is not blank.
    A file holding nothing but comments qualifies too (Atlas's ``LocalFile.Directive``, sql/migrate/dir.go).
    """
    comments: list[str] = []
    i, n = 0, len(content)
    while content.startswith("#", i) or content.startswith("--", i):
        nl = content.find("\n", i)
        if nl < 0:
            comments.append(content[i:])
            return comments
        comments.append(content[i:nl].strip(_GO_SPACE))
        i = nl + 1
    if i == n:
        return comments
    while i < n and content[i] in " \t":
        i += 1
    return comments if content.startswith("\n", i) else []


def file_directives(content: str, name: str) -> list[str]:
    """Arguments of each file-level ``atlas:<name>`` directive (Atlas's LocalFile.Directive)."""
    found = []
    for c in _file_comments(content):
        d = _directive(c, name)
        if d is not None:
            found.append(d)
    return found


def txmode_of(content: str, filename: str) -> str | None:
    """The file's ``atlas:txmode`` directive: "none", "file" or None; MigrationError if invalid."""
    ds = file_directives(content, "txmode")
    if not ds:
        return None
    if len(ds) > 1:
        values = " ".join(go_quote(d) for d in ds)
        raise MigrationError(
            f"multiple txmode values found in file {go_quote(filename)}: [{values}]",
            "keep a single `-- atlas:txmode none` (or `file`) line in the file header, then run `inv migrate-hash`",
        )
    d = ds[0]
    if d == "all":
        raise MigrationError(
            f'txmode "all" is not allowed in file directive {go_quote(filename)}. Use "file" instead',
            '"all" only exists as the global tx mode; write `-- atlas:txmode file` and run `inv migrate-hash`',
        )
    if d in TXMODES:
        return d
    raise MigrationError(
        f"unknown txmode {go_quote(d)} found in file directive {go_quote(filename)}",
        'the file directive accepts "none" or "file" (exactly, lower case, '
        "no trailing spaces); fix it and run `inv migrate-hash`",
    )


def txmode_conflict_message(mode: str, filename: str) -> str:
    """Atlas's error when a file directive meets the global tx mode "all"."""
    return f'cannot set txmode directive to {go_quote(mode)} in {go_quote(filename)} when txmode "all" is set globally'


def effective_txmode(content: str, filename: str, global_mode: str) -> str:
    """The tx mode a file runs in under the global mode (Atlas's ``tx.modeFor``)."""
    m = txmode_of(content, filename)
    if m is None or m == global_mode:
        return global_mode
    if global_mode == "all":
        raise MigrationError(
            txmode_conflict_message(m, filename),
            "run with the default tx mode (file), or remove the directive from the file",
        )
    return m


# ----------------------------------------------------------------------------- nolint


@dataclass(frozen=True)
class NoLint:
    """What ``atlas:nolint`` directives suppress for one statement (Atlas's skipRules)."""

    rules: tuple[str, ...] = ()  # the directive arguments split on " ", file rules first
    skip_file: bool = False  # a bare file-level `atlas:nolint`: the file is not analysed

    @property
    def all(self) -> bool:
        """Every diagnostic of the statement is suppressed."""
        return self.skip_file or self.rules == ("",)

    @property
    def names(self) -> frozenset[str]:
        """Analyzer names (destructive, data_depend, incompatible, condrop, naming, ...)."""
        return frozenset(r for r in self.rules if r and not _CODE.fullmatch(r))

    @property
    def codes(self) -> frozenset[str]:
        """Check codes (DS103, MF101, ...)."""
        return frozenset(r for r in self.rules if _CODE.fullmatch(r))

    def suppresses(self, analyzer: str, code: str) -> bool:
        """True when a diagnostic `code` of `analyzer` must not be reported."""
        return self.all or code in self.rules or analyzer in self.rules


def nolint_of(stmt: Statement | None, file_content: str) -> NoLint:
    """The ``atlas:nolint`` rules that apply to stmt (None: the file-level rules only).

    A bare file directive skips the whole file; a file directive with
    arguments applies them to every statement.  As in Atlas, a bare
    statement directive silences everything only when it is the only rule.
    """
    ds = file_directives(file_content, "nolint")
    if len(ds) == 1 and ds[0] == "":
        return NoLint(skip_file=True)
    rules: list[str] = []
    for d in ds:
        rules.extend(d.split(" "))
    if stmt is not None:
        for d in stmt.directive("nolint") or ():
            rules.extend(d.split(" "))
    return NoLint(tuple(rules))
