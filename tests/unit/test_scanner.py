"""Atlas's statement scanner and directives (Atlas's sql/migrate/lex.go and dir.go).

Golden cases live in tests/data/scanner (see its README): Atlas's own lexer
inputs with their expected statements under the PostgreSQL options, plus
cases of our own.  A literal, rune-by-rune Python rendering of Atlas's
algorithm (``_RefScanner`` below) serves as an oracle for differential tests
against the regex-accelerated implementation.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest

from dbstack.errors import MigrationError, ScanError
from dbstack.migrations.scanner import (
    NoLint,
    Statement,
    effective_txmode,
    file_directives,
    nolint_of,
    scan,
    txmode_conflict_message,
    txmode_of,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "scanner"
ATLAS_DIRS = ROOT.parent / "shared" / "testdata" / "atlas-dirs"
HATCHET = ATLAS_DIRS / "hatchet-dev__hatchet__sql-migrations"
OPENMETER = ATLAS_DIRS / "openmeterio__openmeter__tools-migrate-migrations"

needs_shared = pytest.mark.skipif(not ATLAS_DIRS.is_dir(), reason="../shared/testdata/atlas-dirs is absent")


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def texts(src: str) -> list[str]:
    return [s.text for s in scan(src)]


# ----------------------------------------------------------------------------- golden corpus

GOLDEN = sorted(DATA.glob("*.sql"))


def test_golden_corpus_is_present():
    assert len(GOLDEN) >= 29
    assert all(p.with_name(p.name + ".golden").is_file() for p in GOLDEN)


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden(path):
    expected = read(path.with_name(path.name + ".golden"))
    assert "\n-- end --\n".join(texts(read(path))) == expected


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_matches_reference_port(path):
    src = read(path)
    assert _fast(src) == _ref(src)


# ----------------------------------------------------------------------------- splitting rules


def test_default_delimiter_stays_in_text_and_text_is_trimmed():
    assert texts("  \n\tCREATE TABLE t (id int) ;  \n\n SELECT 1;\n") == ["CREATE TABLE t (id int) ;", "SELECT 1;"]


def test_text_after_last_delimiter_is_a_statement():
    assert texts("SELECT 1;\nSELECT 2\n\n") == ["SELECT 1;", "SELECT 2"]
    assert texts("") == []
    assert texts(" \n\t\n") == []


def test_trim_uses_go_whitespace():
    # Go's TrimSpace keeps \x1c-\x1f (Python's strip() would not) but drops NBSP.
    assert texts("\u00a0SELECT 1;\x1f") == ["SELECT 1;", "\x1f"]


def test_semicolons_inside_parentheses_and_quotes_do_not_split():
    src = 'SELECT (1; (2;)) AS a, \';\' AS b, "c;" AS "d""", `e;` FROM t;\nSELECT 2;'
    assert texts(src) == ['SELECT (1; (2;)) AS a, \';\' AS b, "c;" AS "d""", `e;` FROM t;', "SELECT 2;"]


def test_deep_parentheses():
    deep = "SELECT " + "(" * 12 + "1;" + ")" * 12 + ";"
    assert texts(deep + "\nSELECT 2;") == [deep, "SELECT 2;"]


def test_doubled_quotes():
    assert texts("SELECT 'it''s; fine', \"a\"\"b;\";SELECT 2;") == ["SELECT 'it''s; fine', \"a\"\"b;\";", "SELECT 2;"]


def test_backslash_escapes_only_in_e_strings():
    assert texts("SELECT E'a\\';b';SELECT 'c\\';SELECT e'\\\\';") == [
        "SELECT E'a\\';b';",
        "SELECT 'c\\';",
        "SELECT e'\\\\';",
    ]


def test_e_before_a_statement_does_not_escape_its_first_quote():
    # The E ends the previous statement's delimiter: Atlas only looks inside the statement.
    assert texts("delimiter xE\nSELECT 1xE'\\'xE") == ["SELECT 1", "'\\'"]


def test_dollar_quotes():
    assert texts("SELECT $$a;b$$;SELECT $t$ $$; $t$;SELECT $1;") == [
        "SELECT $$a;b$$;",
        "SELECT $t$ $$; $t$;",
        "SELECT $1;",
    ]


def test_dollar_tag_alphabet():
    # Tags: [A-Za-zÈ-ÿ_][0-9A-Za-zÈ-ÿ_]*; no digits first, no letters outside Latin-1.
    assert texts("SELECT $é9$;$é9$;") == ["SELECT $é9$;$é9$;"]
    assert texts("SELECT $9a$;x") == ["SELECT $9a$;", "x"]
    assert texts("SELECT $ж$;x") == ["SELECT $ж$;", "x"]


def test_unclosed_dollar_quote_runs_to_end_of_file_without_error():
    assert texts("SELECT 1;\nCREATE FUNCTION f() AS $body$ SELECT 1; \n") == [
        "SELECT 1;",
        "CREATE FUNCTION f() AS $body$ SELECT 1;",
    ]


def test_unclosed_dollar_quote_inside_parentheses_is_an_unclosed_paren():
    with pytest.raises(ScanError, match=r"^1:8: unclosed '\('$"):
        scan("SELECT ($$ never closed;")


def test_begin_atomic_body_is_one_statement():
    src = (
        "CREATE FUNCTION f(x int) RETURNS int LANGUAGE SQL\nBEGIN ATOMIC\n  SELECT 1;\n  "
        "SELECT x; -- tricky\nEND;\nSELECT 2;"
    )
    assert texts(src) == [src[: src.index("END;") + 4], "SELECT 2;"]


def test_begin_atomic_ends_at_any_statement_starting_with_end():
    # Atlas's reEnd is ^\s*END\s* without a word boundary.
    src = "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; ENDLESS; SELECT 2;"
    assert texts(src) == ["CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; ENDLESS;", "SELECT 2;"]


def test_begin_atomic_without_end_falls_back():
    assert texts("CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; SELECT 2;") == [
        "CREATE FUNCTION f() BEGIN ATOMIC SELECT 1;",
        "SELECT 2;",
    ]


def test_begin_block_needs_end_alone():
    assert texts("BEGIN\n  UPDATE t SET a = 1;\n  END IF;\nEND;\nSELECT 1;") == [
        "BEGIN\n  UPDATE t SET a = 1;\n  END IF;\nEND;",
        "SELECT 1;",
    ]
    assert texts("BEGIN\n  UPDATE t SET a = 1;\nEND ;\nSELECT 1;") == [
        "BEGIN\n  UPDATE t SET a = 1;\nEND ;",
        "SELECT 1;",
    ]


def test_begin_block_falls_back_without_end():
    assert texts("BEGIN TRANSACTION;\nCREATE TABLE t (a int);\nCOMMIT;") == [
        "BEGIN TRANSACTION;",
        "CREATE TABLE t (a int);",
        "COMMIT;",
    ]
    assert texts("BEGIN;\nSELECT 1;\nEND;") == ["BEGIN;", "SELECT 1;", "END;"]


def test_begin_block_needs_whitespace_or_statement_start_before_begin():
    assert texts("SELECT x.BEGIN\n1; END;") == ["SELECT x.BEGIN\n1;", "END;"]
    assert texts("SELECT 1 BEGIN\n1; END;") == ["SELECT 1 BEGIN\n1; END;"]


@pytest.mark.timeout(60)
def test_many_unmatched_begins_do_not_explode():
    # Atlas retries every later BEGIN inside each failed attempt (2^n work); outcomes are memoized here.
    chunk = "BEGIN TRANSACTION;\nUPDATE t SET a = 1;\nCOMMIT;\n"
    assert len(scan(chunk * 1000)) == 3000
    stmts = scan(chunk * 100 + "END;\n")
    assert len(stmts) == 298
    assert stmts[-1].text == chunk * 1 + "END;"
    with pytest.raises(ScanError, match="^big.sql: too many nested BEGIN blocks$"):
        scan(chunk * 1000 + "END;\n", source="big.sql")


def test_begin_is_case_insensitive_and_ascii_only():
    assert texts("begin\n select 1;\nend;x") == ["begin\n select 1;\nend;", "x"]
    # U+0131 (dotless i) is not "I" for Go's case folding.
    assert texts("BEG\u0131N\n select 1;\nend;") == ["BEG\u0131N\n select 1;", "end;"]


def test_comments_inside_a_statement_stay_in_its_text():
    assert texts("SELECT 1 -- one; two\n, /* three; */ 4;") == ["SELECT 1 -- one; two\n, /* three; */ 4;"]


def test_comments_are_attached_to_the_next_statement():
    stmts = scan(read(DATA / "33_comments.sql"))
    assert [s.comments for s in stmts] == [
        ("-- attached 1\n", "-- attached 2\n"),
        ("-- trailing on same line\n", "/* block */"),
        (),
        ("-- a\n", "--\n"),
        (),
        (),
    ]


def test_blank_line_detaches_comment_group():
    assert scan("-- a\n\nSELECT 1;")[0].comments == ()
    assert scan("/* a */\n\nSELECT 1;")[0].comments == ()
    assert scan("/* a */\nSELECT 1;")[0].comments == ("/* a */",)
    assert scan("-- a\n \nSELECT 1;")[0].comments == ("-- a\n",)  # the blank line must be empty
    assert scan("-- a\n\n-- b\nSELECT 1;")[0].comments == ("-- b\n",)


def test_crlf_blank_lines_do_not_detach_comments():
    stmts = scan(read(DATA / "34_crlf.sql"))
    assert stmts[0].comments == ("-- atlas:txmode none\r\n", "-- c1\r\n")
    assert stmts[0].text == "CREATE TABLE t (\r\n  id int\r\n);"


def test_trailing_comments_are_not_statements_but_an_unterminated_line_comment_is():
    assert texts("SELECT 1;\n-- done\n/* really */\n") == ["SELECT 1;"]
    assert texts("SELECT 1;\n-- done") == ["SELECT 1;", "-- done"]


def test_hash_is_not_a_comment_in_postgres():
    assert texts("# note\nSELECT 1;") == ["# note\nSELECT 1;"]


# ----------------------------------------------------------------------------- delimiters


def test_delimiter_directive_unescapes_and_drops_the_delimiter():
    assert texts("-- atlas:delimiter \\n\\n\n\nSELECT 1\n\nSELECT 2") == ["SELECT 1", "SELECT 2"]
    assert texts("-- atlas:delimiter \\t|\nSELECT 1\t|SELECT 2\t|") == ["SELECT 1", "SELECT 2"]
    assert texts("-- atlas:delimiter GO\nSELECT 1;\nGO\nSELECT 2;") == ["SELECT 1;", "SELECT 2;"]


def test_delimiter_directive_must_be_first_line_with_exact_prefix():
    # Not a directive: the text is scanned with ';' (the comment is attached).
    assert texts("\n-- atlas:delimiter //\nSELECT 1//SELECT 2;") == ["SELECT 1//SELECT 2;"]
    assert texts("--atlas:delimiter //\nSELECT 1//SELECT 2;") == ["SELECT 1//SELECT 2;"]
    assert texts("-- comment\n-- atlas:delimiter //\nSELECT 1//SELECT 2;") == ["SELECT 1//SELECT 2;"]


def test_delimiter_directive_on_a_crlf_line_keeps_the_carriage_return():
    # The delimiter is "//\r": a "//" without the carriage return does not end a statement.
    assert texts("-- atlas:delimiter //\r\nSELECT 1//SELECT 2//\r\n") == ["SELECT 1//SELECT 2"]
    assert texts("-- atlas:delimiter //\r\nSELECT 1//\r\nSELECT 2//\r") == ["SELECT 1", "SELECT 2"]


def test_delimiter_directive_errors():
    with pytest.raises(ScanError) as exc:
        scan("-- atlas:delimiter //", source="1.sql")
    assert exc.value.message == '1.sql: 1:0: no input found after delimiter "//"'
    with pytest.raises(ScanError) as exc:
        scan("-- atlas:delimiter\nSELECT 1;", source="1.sql")
    assert exc.value.message == "1.sql: empty delimiter"


def test_mysql_delimiter_command():
    assert texts("DELIMITER //\nSELECT 1//\ndelimiter ;\nSELECT 2;") == ["SELECT 1", "SELECT 2;"]
    assert texts("delimiter 'a''b'\nSELECT 1a'b\n") == ["SELECT 1"]


def test_delimiter_word_without_space_is_plain_text():
    assert texts("DELIMITER;\nDELIMITERS x;\ndelimiter\n;") == ["DELIMITER;", "DELIMITERS x;", "delimiter\n;"]


def test_delimiter_command_only_at_statement_start():
    assert texts("SELECT 1; delimiter //\nSELECT 2//") == ["SELECT 1;", "SELECT 2"]
    assert texts("SELECT delimiter //\n;") == ["SELECT delimiter //\n;"]


def test_delimiter_command_drops_preceding_comments():
    stmts = scan("-- about\nDELIMITER //\n-- kept\nSELECT 1//")
    assert [(s.text, s.comments) for s in stmts] == [("SELECT 1", ("-- kept\n",))]


def test_delimiter_command_errors():
    with pytest.raises(ScanError, match="^empty delimiter$"):
        scan("delimiter  \nSELECT 1;")
    with pytest.raises(ScanError, match="^invalid delimiter"):
        scan("delimiter '\nSELECT 1;")


def test_custom_delimiter_disables_begin_blocks():
    assert texts("delimiter //\nBEGIN\nSELECT 1//END//") == ["BEGIN\nSELECT 1", "END"]


def test_custom_delimiter_is_searched_before_comments():
    assert texts("-- atlas:delimiter -- end\nSELECT 1\n-- end\nSELECT 2 -- end") == ["SELECT 1", "SELECT 2"]


def test_delimiter_inside_parentheses_is_ignored():
    assert texts("delimiter //\nSELECT (1//2)//SELECT 3") == ["SELECT (1//2)", "SELECT 3"]


# ----------------------------------------------------------------------------- errors (Atlas's TestLex_Errors)


@pytest.mark.parametrize(
    "src, err",
    [
        ("'this quote is unclosed at 1:1", "1:1: unclosed quote '\\''"),
        ("12345'this quote is unclosed at pos 7", "1:6: unclosed quote '\\''"),
        ("unclosed '", "1:10: unclosed quote '\\''"),
        ('"unclosed double', "1:1: unclosed quote '\"'"),
        ('unclosed double at 2:2\n "', "2:2: unclosed quote '\"'"),
        ('unclosed double at 2:2\n\n\n\n1234"', "5:5: unclosed quote '\"'"),
        ("(unclosed parentheses", "1:1: unclosed '('"),
        ("()(unclosed parentheses", "1:3: unclosed '('"),
        ("1234)6789", "1:5: unexpected ')'"),
        ("SELECT `a", "1:8: unclosed quote '`'"),
        ("SELECT E'a\\'", "1:9: unclosed quote '\\''"),
    ],
)
def test_errors(src, err):
    with pytest.raises(ScanError) as exc:
        scan(src)
    assert exc.value.message == err
    assert exc.value.hint
    with pytest.raises(ScanError) as exc:
        scan(src, source="20240101000000_x.sql")
    assert exc.value.message == "20240101000000_x.sql: " + err
    assert exc.value.exit_code == 1


def test_error_column_counts_bytes_like_atlas():
    with pytest.raises(ScanError) as exc:
        scan("SELECT 1;\nSELECT 'é', 'ü")
    assert exc.value.message == "2:14: unclosed quote '\\''"  # the 13th character, the 14th byte


def test_error_inside_a_failed_begin_block_is_reported_at_its_position():
    with pytest.raises(ScanError) as exc:
        scan("SELECT 1;\nCREATE FUNCTION f() BEGIN ATOMIC\n  SELECT (1;\nEND;")
    assert exc.value.message == "3:10: unclosed '('"


def test_unterminated_line_comment_with_a_quote_is_an_error():
    # Without a newline "--" is not a comment: the quote in it opens a string.
    with pytest.raises(ScanError, match=r"^2:6: unclosed quote"):
        scan("SELECT 1;\n-- it's the end")


# ----------------------------------------------------------------------------- positions


def test_line_and_column():
    src = "-- atlas:delimiter //\n\n  SELECT 1// SELECT 2//\n-- c\n   SELECT 'é'//é//"
    got = [(s.text, s.line, s.col) for s in scan(src)]
    assert got == [("SELECT 1", 3, 3), ("SELECT 2", 3, 14), ("SELECT 'é'", 5, 4), ("é", 5, 16)]


def test_positions_point_at_the_text():
    src = read(DATA / "16_begin_atomic.sql")
    lines = src.split("\n")
    for s in scan(src):
        rest = "\n".join(lines[s.line - 1 :])[s.col - 1 :]
        assert rest.startswith(s.text)


# ----------------------------------------------------------------------------- statement directives


def test_statement_directives_like_atlas():
    src = (
        "cmd0;\n--atlas:nolint\n-- atlas:nolint destructive\ncmd5;\n\n/*atlas:nolint DS101*/\n"
        "/* atlas:lint not a directive */\n/*\natlas:lint not a directive\n*/\ncmd6;\n\n-- atlas:nolint\ncmd7;\n"
    )
    s0, s5, s6, s7 = scan(src)
    assert s0.directive("nolint") is None
    assert s5.directive("nolint") == ["", "destructive"]
    assert s6.directive("nolint") == ["DS101"]
    assert s6.directive("lint") is None
    assert s7.directive("nolint") == [""]
    # '#' comments only exist in MySQL files, but the directive syntax accepts them.
    assert Statement("x;", 1, 1, ("#atlas:lint error\n",)).directive("lint") == ["error"]


def test_directive_argument_is_the_rest_of_the_line():
    s = Statement("x;", 1, 1, ("-- atlas:nolint  destructive data_depend\n", "-- atlas:nolint ds1 \r\n"))
    assert s.directive("nolint") == ["destructive data_depend", "ds1 \r"]


# ----------------------------------------------------------------------------- file directives and txmode


def test_file_directives_need_a_blank_line():
    assert file_directives("-- atlas:txmode none\n\nSELECT 1;", "txmode") == ["none"]
    assert file_directives("-- atlas:txmode none\n \t\nSELECT 1;", "txmode") == ["none"]
    assert file_directives("-- atlas:txmode none\nSELECT 1;", "txmode") == []
    assert file_directives("-- hello\n# atlas:txmode none\n--atlas:nolint\n\nSELECT 1;", "txmode") == ["none"]
    assert file_directives("-- hello\n# atlas:txmode none\n--atlas:nolint\n\nSELECT 1;", "nolint") == [""]
    assert file_directives("SELECT 1;\n-- atlas:txmode none\n\n", "txmode") == []
    assert file_directives("\n-- atlas:txmode none\n\nSELECT 1;", "txmode") == []
    assert file_directives("/* atlas:txmode none */\n\nSELECT 1;", "txmode") == []


def test_file_directives_crlf_is_silently_ignored():
    assert file_directives("-- atlas:txmode none\r\n\r\nSELECT 1;", "txmode") == []
    assert txmode_of("-- atlas:txmode all\r\n\r\nSELECT 1;", "1.sql") is None


def test_file_directive_lines_are_trimmed():
    assert txmode_of("-- atlas:txmode none  \t\n\nSELECT 1;", "1.sql") == "none"


def test_comment_only_file_counts_as_file_directives():
    # Atlas's LocalFile.Directive: a file that holds only comments qualifies too.
    assert file_directives("-- atlas:txmode none\n", "txmode") == ["none"]
    assert file_directives("-- atlas:txmode none", "txmode") == ["none"]


def test_txmode_values():
    assert txmode_of("-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY i ON t (a);", "1.sql") == "none"
    assert txmode_of("-- atlas:txmode file\n\nSELECT 1;", "1.sql") == "file"
    assert txmode_of("SELECT 1;", "1.sql") is None
    assert txmode_of("", "1.sql") is None


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "-- atlas:txmode all\n\nSELECT 1;",
            'txmode "all" is not allowed in file directive "1_x.sql". Use "file" instead',
        ),
        (
            "-- atlas:txmode none\n-- atlas:txmode file\n\nSELECT 1;",
            'multiple txmode values found in file "1_x.sql": ["none" "file"]',
        ),
        ("-- atlas:txmode statement\n\nSELECT 1;", 'unknown txmode "statement" found in file directive "1_x.sql"'),
        ("-- atlas:txmode FILE\n\nSELECT 1;", 'unknown txmode "FILE" found in file directive "1_x.sql"'),
        ("-- atlas:txmode file extra\n\nSELECT 1;", 'unknown txmode "file extra" found in file directive "1_x.sql"'),
        ("-- atlas:txmode\n\nSELECT 1;", 'unknown txmode "" found in file directive "1_x.sql"'),
        ("-- atlas:txmode\tnone\n\nSELECT 1;", 'unknown txmode "" found in file directive "1_x.sql"'),
        ("-- atlas:txmode none", None),
    ],
)
def test_txmode_errors(content, message):
    if message is None:
        assert txmode_of(content, "1_x.sql") == "none"
        return
    with pytest.raises(MigrationError) as exc:
        txmode_of(content, "1_x.sql")
    assert exc.value.message == message
    assert exc.value.hint


def test_txmode_error_quotes_file_names_like_go():
    with pytest.raises(MigrationError) as exc:
        txmode_of('-- atlas:txmode x"y\n\nSELECT 1;', 'a"b.sql')
    assert exc.value.message == 'unknown txmode "x\\"y" found in file directive "a\\"b.sql"'


def test_effective_txmode_and_global_all():
    none = "-- atlas:txmode none\n\nSELECT 1;"
    assert effective_txmode("SELECT 1;", "1.sql", "all") == "all"
    assert effective_txmode(none, "1.sql", "file") == "none"
    assert effective_txmode(none, "1.sql", "none") == "none"
    assert effective_txmode("-- atlas:txmode file\n\nSELECT 1;", "1.sql", "none") == "file"
    with pytest.raises(MigrationError) as exc:
        effective_txmode(none, "1.sql", "all")
    assert exc.value.message == 'cannot set txmode directive to "none" in "1.sql" when txmode "all" is set globally'
    assert txmode_conflict_message("file", "2.sql") == (
        'cannot set txmode directive to "file" in "2.sql" when txmode "all" is set globally'
    )


# ----------------------------------------------------------------------------- nolint


def test_nolint_statement_level():
    content = "-- atlas:nolint\nDROP TABLE a;\n-- atlas:nolint destructive DS103\nDROP TABLE b;\nDROP TABLE c;"
    a, b, c = scan(content)
    na = nolint_of(a, content)
    assert na.all and na.suppresses("destructive", "DS102") and not na.skip_file
    nb = nolint_of(b, content)
    assert not nb.all
    assert nb.names == frozenset({"destructive"}) and nb.codes == frozenset({"DS103"})
    assert nb.suppresses("destructive", "DS102") and nb.suppresses("data_depend", "DS103")
    assert not nb.suppresses("data_depend", "MF103")
    nc = nolint_of(c, content)
    assert nc == NoLint() and not nc.suppresses("destructive", "DS102")


def test_nolint_bare_file_directive_skips_the_file():
    content = "-- atlas:nolint\n\nDROP TABLE a;"
    n = nolint_of(scan(content)[0], content)
    assert n.skip_file and n.all and n.suppresses("anything", "XX999")
    assert nolint_of(None, content).skip_file


def test_nolint_file_directive_with_arguments_applies_to_every_statement():
    content = (
        "-- atlas:nolint incompatible\n\nALTER TABLE a RENAME TO b;\n"
        "-- atlas:nolint MF103\nALTER TABLE b ADD c int NOT NULL;"
    )
    s1, s2 = scan(content)
    assert nolint_of(s1, content).rules == ("incompatible",)
    n2 = nolint_of(s2, content)
    assert n2.rules == ("incompatible", "MF103")
    assert n2.suppresses("incompatible", "BC101") and n2.suppresses("data_depend", "MF103")
    assert not n2.suppresses("destructive", "DS102")


def test_nolint_bare_statement_directive_loses_to_file_rules():
    # Atlas only treats rules == [""] as "everything": mixed with file rules it is not.
    content = "-- atlas:nolint condrop\n\n-- atlas:nolint\nALTER TABLE a DROP CONSTRAINT f;"
    n = nolint_of(scan(content)[0], content)
    assert n.rules == ("condrop", "")
    assert not n.all and n.suppresses("condrop", "CD101") and not n.suppresses("destructive", "DS103")


def test_nolint_two_bare_file_directives_do_not_skip_the_file():
    content = "-- atlas:nolint\n-- atlas:nolint\n\nDROP TABLE a;"
    n = nolint_of(scan(content)[0], content)
    assert not n.skip_file and not n.all


# ----------------------------------------------------------------------------- real directories


def _manifest() -> list[dict[str, str]]:
    with open(ATLAS_DIRS / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _postgres_dirs() -> list[str]:
    if not ATLAS_DIRS.is_dir():
        return []
    return [row["slug"] for row in _manifest() if "postgres" in row["notes"].lower()]


HATCHET_TXMODE_NONE = {
    "20240703194656_v0.35.1.sql",
    "20240712142946_v0.36.0.sql",
    "20240716143349_v0.39.0.sql",
    "20240812153737_v0.42.1.sql",
    "20240815151244_v0.42.2.sql",
    "20240916115647_v0.44.8.sql",
    "20240918162532_v0.45.0.sql",
    "20240926210650_v0.47.0.sql",
    "20241018142125_v0.50.1.sql",
    "20241023223039_v0.50.4.sql",
    "20241206231312_v0.52.12.sql",
    "20241216175807_v0.52.13.sql",
}


@needs_shared
def test_postgres_dirs_are_listed():
    dirs = _postgres_dirs()
    assert "hatchet-dev__hatchet__sql-migrations" in dirs and "openmeterio__openmeter__tools-migrate-migrations" in dirs
    assert len(dirs) >= 18


@needs_shared
@pytest.mark.parametrize("slug", _postgres_dirs())
def test_postgres_dir_scans_and_accounts_for_all_content(slug):
    files = sorted((ATLAS_DIRS / slug).glob("*.sql"))
    assert files
    for f in files:
        src = read(f)
        stmts = scan(src, source=f.name)
        _assert_accounts_for_content(src, stmts, f.name)
        txmode_of(src, f.name)  # no directive in these dirs is invalid


def _offset(src: str, line: int, col: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = src.index("\n", start) + 1
    return start + col - 1


_COMMENTS = re.compile(r"--[^\n]*\n|/\*.*?\*/", re.S)


def _assert_accounts_for_content(src: str, stmts: list[Statement], name: str) -> None:
    """Each text sits at its reported line/col, and between statements there are only comments and spaces."""
    pos = 0
    for s in stmts:
        at = _offset(src, s.line, s.col)
        assert src.startswith(s.text, at), (name, s.line, s.col)
        gap = src[pos:at]
        assert _COMMENTS.sub("", gap).strip() == "", (name, s.line, gap)
        for c in s.comments:
            assert c in gap
        pos = at + len(s.text)
    assert _COMMENTS.sub("", src[pos:]).strip() == "", name


@needs_shared
def test_hatchet_txmode_none_files():
    files = sorted(HATCHET.glob("*.sql"))
    assert len(files) == 82
    modes = {f.name: txmode_of(read(f), f.name) for f in files}
    assert {n for n, m in modes.items() if m == "none"} == HATCHET_TXMODE_NONE
    assert all(m is None for n, m in modes.items() if n not in HATCHET_TXMODE_NONE)


@needs_shared
def test_nexusnote_txmode_none_files():
    d = ATLAS_DIRS / "997899594__nexusnote__migrations"
    none = {f.name for f in d.glob("*.sql") if txmode_of(read(f), f.name) == "none"}
    assert none == {"20260714010000_mrl_drop_indexes.sql", "20260714010003_mrl_indexes.sql"}


@needs_shared
def test_hatchet_statement_counts_read_by_hand():
    s = scan(read(HATCHET / "20240703194656_v0.35.1.sql"))
    assert len(s) == 12
    assert all(x.text.startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS ") and x.text.endswith(");") for x in s)
    # The txmode line is detached by the blank line; each index keeps its own comment.
    assert (s[0].line, s[0].comments) == (4, ('-- Create index "Event_createdAt_idx" to table: "Event"\n',))

    s = scan(read(HATCHET / "20240926210650_v0.47.0.sql"))
    assert len(s) == 8
    assert s[0].text == "ALTER TYPE \"StepRunEventReason\" ADD VALUE 'RATE_LIMIT_ERROR';"

    s = scan(read(HATCHET / "20241204191714_v0.52.5.sql"))  # no final newline
    assert [x.text for x in s] == ['UPDATE "WorkflowTriggerCronRef" SET "name" = \'\' WHERE "name" IS NULL;']

    s = scan(read(HATCHET / "20241217152316_v0.53.0.sql"))
    assert len(s) == 10
    assert [x.line for x in s[:5]] == [2, 4, 6, 8, 11]
    assert s[7].text.startswith("CREATE\nOR REPLACE FUNCTION notify_message_queue_item () RETURNS TRIGGER AS $$\nBEGIN")
    assert s[7].text.endswith("END;\n$$ LANGUAGE plpgsql;")
    assert s[9].text.endswith("RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;")


@needs_shared
def test_openmeter_transaction_file_read_by_hand():
    f = OPENMETER / "20260527120000_dedupe_tax_codes_by_app_mapping.up.sql"
    s = scan(read(f))
    assert len(s) == 24
    assert (s[0].text, s[0].comments) == ("BEGIN;", ())
    assert s[3].text.startswith("DO $$\nDECLARE") and s[3].text.endswith("END IF;\nEND $$;")
    assert s[-1].text == "COMMIT;"
    assert txmode_of(read(f), f.name) is None


@needs_shared
def test_openmeter_up_files_scan():
    files = sorted(OPENMETER.glob("*.up.sql"))
    assert len(files) == 269
    total = sum(len(scan(read(f), source=f.name)) for f in files)
    assert total > 1000


# ----------------------------------------------------------------------------- differential fuzzing

_TOKENS = [
    "SELECT",
    "x",
    " ",
    " ",
    "\n",
    "\n\n",
    "\t",
    "\r\n",
    ";",
    ";",
    "(",
    ")",
    "((",
    "))",
    "'",
    "''",
    '"',
    "`",
    "E'",
    "e'",
    "\\",
    "\\'",
    "$$",
    "$a$",
    "$1",
    "$",
    "$é$",
    "--",
    "-",
    "/*",
    "*/",
    "/",
    "*",
    "BEGIN ",
    "BEGIN\n",
    "begin ",
    "BEGIN;",
    " BEGIN ATOMIC ",
    "ATOMIC ",
    "END",
    "END;",
    "END ;",
    "end\n",
    "END IF;",
    "ENDx;",
    "delimiter //\n",
    "DELIMITER ;\n",
    "DELIMITER;",
    "delimiter ",
    "//",
    "é",
    "ж",
    "#",
    "-- c\n",
    "/* c */",
    "\v",
    "\u00a0",
    "\x1f",
    "-- atlas:nolint\n",
    # balanced pieces, so that most inputs scan and the statement paths get exercised
    "'a;b'",
    "(1;2)",
    '"q;"',
    "`b;`",
    "$$x;$$",
    "$t$;$t$",
    "E'\\';'",
    "-- c;\n",
    "/* ; */",
    "SELECT 1;\n",
    "(BEGIN\n1)",
    " BEGIN\n SELECT 1;\n END;\n",
    " BEGIN ATOMIC\n SELECT 1;\n END;\n",
]
_HEADS = [
    "",
    "",
    "",
    "-- atlas:delimiter //\n",
    "-- atlas:delimiter \\n\\n\n",
    "-- atlas:delimiter -- x\n",
    "-- atlas:delimiter $$\n",
    "-- atlas:delimiter (\n",
    "-- atlas:delimiter\n",
    "-- atlas:delimiter //",
]


@pytest.mark.parametrize("seed", range(8))
def test_fuzz_against_reference_port(seed):
    rng = random.Random(seed)
    for _ in range(700):
        src = rng.choice(_HEADS) + "".join(rng.choice(_TOKENS) for _ in range(rng.randint(0, 40)))
        assert _fast(src) == _ref(src), repr(src)


_BALANCED = [
    "SELECT x",
    " ",
    "\n",
    "\n\n",
    "\t",
    ";",
    ";\n",
    "'a;b'",
    "''",
    "(1;2)",
    "((x))",
    '"q;"',
    "`b;`",
    "$$x;$$",
    "$t$;$$$t$",
    "$1",
    "E'\\';'",
    "e'\\\\'",
    "-- c;\n",
    "/* ; */",
    "/* a */\n",
    "-- x\n\n",
    "BEGIN ",
    "BEGIN\n",
    "END;",
    "END",
    " END IF;",
    "begin atomic ",
    "delimiter //\n",
    "DELIMITER ;\n",
    "//",
    "-",
    "/",
    "$",
    "é",
    "\r\n",
    "#",
    "\v",
]


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_mostly_balanced_against_reference_port(seed):
    rng = random.Random(1000 + seed)
    scanned = 0
    for _ in range(700):
        parts = [
            rng.choice(_BALANCED) if rng.random() > 0.03 else rng.choice(_TOKENS) for _ in range(rng.randint(0, 60))
        ]
        src = rng.choice(_HEADS[:6]) + "".join(parts)
        got = _fast(src)
        assert got == _ref(src), repr(src)
        scanned += isinstance(got, list)
    assert scanned > 300  # the generator keeps producing scannable input


def _fast(src: str):
    try:
        return [(_offset(src, s.line, s.col), s.text, s.comments) for s in scan(src)]
    except ScanError as e:
        return ("error", e.message)


def _ref(src: str):
    try:
        return _RefScanner().scan(src)
    except _RefError as e:
        if e.pos is None:
            return ("error", e.msg)
        line = 1 + src.count("\n", 0, e.pos)
        col = len(src[src.rfind("\n", 0, e.pos) + 1 : e.pos].encode())
        return ("error", f"{line}:{col}: {e.msg}")


class _RefError(Exception):
    def __init__(self, pos, msg):
        super().__init__(msg)
        self.pos, self.msg = pos, msg


_R_WS = "[\t\n\f\r ]"
_R_DIRECTIVE = re.compile(r"([ -~]*)atlas:([0-9A-Za-z_]+)(?: +(.+))*")
_R_DOLLAR = re.compile(r"\$(?:[A-Za-z\u00c8-\u00ff_][0-9A-Za-z_\u00c8-\u00ff]*)?\$")
_R_ATOMIC = re.compile(f"{_R_WS}*BEGIN{_R_WS}+ATOMIC{_R_WS}+", re.I | re.A)
_R_BEGIN = re.compile(f"{_R_WS}*BEGIN{_R_WS}+", re.I | re.A)
_R_END = re.compile(f"{_R_WS}*END{_R_WS}*", re.I | re.A)
_GO_SPACE = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}


def _ref_go_quote(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x80 else f"\\u{ord(ch):04x}")
    return '"' + "".join(out) + '"'


class _RefScanner:
    """Atlas's Scanner (PostgreSQL options), one character at a time, as literally as Python allows."""

    def scan(self, src):
        self.init(src)
        out = []
        while (st := self.stmt()) is not None:
            out.append(st)
        return out

    def init(self, src):
        self.src, self.input, self.pos, self.total, self.comments, self.delim = src, src, 0, 0, [], ";"
        m = _R_DIRECTIVE.match(src)
        if m and m.group(2) == "delimiter" and m.group(1) == "-- ":
            d = m.group(3) or ""
            self.set_delim(d)
            if "\n" not in src:
                raise self.error(self.pos, "no input found after delimiter " + _ref_go_quote(d))
            self.input = src.split("\n", 1)[1]

    def abs_start(self):
        return len(self.src) - len(self.input)

    def set_delim(self, d):
        if d == "":
            raise _RefError(None, "empty delimiter")
        self.delim = d.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")

    def error(self, pos, msg):
        return _RefError(len(self.src) - len(self.input) + pos, msg)

    def next(self):
        if self.pos >= len(self.input):
            return None
        r = self.input[self.pos]
        self.pos += 1
        self.total += 1
        return r

    def pick(self):
        return self.input[self.pos] if self.pos < len(self.input) else None

    def add(self, k):
        self.pos += k
        self.total += k

    def skip_spaces(self):
        k = 0
        while k < len(self.input) and self.input[k] in _GO_SPACE:
            k += 1
        self.input = self.input[k:]
        self.total += k

    def stmt(self):
        depth = opening = 0
        self.skip_spaces()
        while True:
            r = self.next()
            if r is None:
                if depth > 0:
                    raise self.error(opening, "unclosed '('")
                if self.pos > 0:
                    return self.emit(self.input)
                return None
            if r == "(":
                if depth == 0:
                    opening = self.pos
                depth += 1
            elif r == ")":
                if depth == 0:
                    raise self.error(self.pos, "unexpected ')'")
                depth -= 1
            elif r in "'\"`":
                self.skip_quote(r)
            elif (
                self.pos == 1
                and len(self.input) > 9
                and self.input[:9].lower() == "delimiter"
                and self.input[:9].isascii()
            ):
                self.add(8)
                self.delim_cmd()
                self.skip_spaces()
            elif depth == 0 and self.input.startswith(self.delim, self.pos - 1):
                self.add(len(self.delim) - 1)
                return self.emit(self.input[: self.pos])
            elif r == "$" and _R_DOLLAR.match(self.input, self.pos - 1):
                self.skip_dollar()
            elif r == "-" and self.pick() == "-":
                self.next()
                self.comment("--", "\n")
            elif r == "/" and self.pick() == "*":
                self.next()
                self.comment("/*", "*/")
            elif self.delim == ";" and _R_ATOMIC.match(self.input, self.pos - 1):
                if self.skip_block(_R_ATOMIC, atomic=True):
                    return self.emit(self.input[: self.pos])
            elif self.delim == ";" and (
                (self.pos == 1 and _R_BEGIN.match(self.input, 0))
                or (self.pos > 1 and _R_BEGIN.match(self.input, self.pos - 2))
            ):
                if self.skip_block(_R_BEGIN, atomic=False):
                    return self.emit(self.input[: self.pos])

    def skip_quote(self, q):
        start = self.pos
        escaped = self.pos > 1 and self.input[self.pos - 2] in "Ee"
        while True:
            r = self.next()
            if r is None:
                rune = {"'": "'\\''", '"': "'\"'", "`": "'`'"}[q]
                raise self.error(start, f"unclosed quote {rune}")
            if r == "\\" and escaped:
                self.next()
            elif r == q:
                return

    def skip_dollar(self):
        tag = _R_DOLLAR.match(self.input, self.pos - 1).group()
        self.add(len(tag) - 1)
        while True:
            r = self.next()
            if r is None:
                return
            if r == "$" and self.input.startswith(tag, self.pos - 1):
                self.add(len(tag) - 1)
                return

    def skip_block(self, regex, atomic):
        m = regex.match(self.input, self.pos - 1)
        if m is None:
            return False
        self.add(len(m.group()) - 1)
        body = _RefScanner()
        try:
            body.init(self.input[self.pos :])
            while True:
                st = body.stmt()
                if st is None:
                    return False
                t = st[1]
                e = _R_END.match(t)
                if e and (atomic or len(e.group()) == len(t) or t[len(e.group()) :] == self.delim):
                    break
        except _RefError:
            return False
        self.add(body.total)
        return True

    def comment(self, left, right):
        i = self.input.find(right, self.pos)
        if i == -1:
            return
        if self.pos != len(left):
            self.add(i - self.pos + len(right))
            return
        self.add(i - self.pos + len(right))
        self.comments.append(self.input[: self.pos])
        self.input = self.input[self.pos :]
        self.pos = 0
        if self.input.startswith("\n\n") or (right == "\n" and self.input.startswith("\n")):
            self.comments = []
        self.skip_spaces()

    def delim_cmd(self):
        if self.pick() != " ":
            return
        r = self.pick()
        while r is not None and r != "\n":
            r = self.next()
        d = self.input[9 : self.pos].strip("".join(_GO_SPACE))
        if d.startswith("'") and d.endswith("'"):
            if len(d) == 1:
                raise _RefError(None, 'invalid delimiter "\'"')
            d = d[1:-1].replace("''", "'")
        self.set_delim(d)
        self.emit(self.input[: self.pos])

    def emit(self, text):
        start = self.abs_start()
        comments = tuple(self.comments)
        self.input = self.input[self.pos :]
        self.pos = 0
        self.comments = []
        if self.delim != ";" and text.endswith(self.delim):
            text = text[: -len(self.delim)]
        return (start, text.strip("".join(_GO_SPACE)), comments)
