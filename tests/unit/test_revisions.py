"""The revisions table definition and the pure parts of apply (Atlas's revision.go and migrate.go)."""

import re
from pathlib import Path

import pytest

from dbstack.errors import MigrationError, UsageError
from dbstack.migrations.directory import MigrationFile
from dbstack.migrations.executor import (
    LOCK_KEY,
    ApplyOptions,
    NonLinearError,
    fnv1_32,
    parse_amount,
    parse_duration,
    pending_after,
    statement_sums,
)
from dbstack.migrations.revisions import (
    COLUMNS,
    Revision,
    RevisionTable,
    parse_partial_hashes,
    quote_literal,
    resolve_schema,
)
from dbstack.settings import ConnSpec

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def test_lock_key_is_fnv1_32_of_atlas_name():
    assert fnv1_32(b"atlas_migrate_execute") == LOCK_KEY == 2686470616
    assert fnv1_32(b"atlas_migrate_diff") == 361947982


def test_ddl_is_atlas_ddl_verbatim():
    ddl = RevisionTable("atlas_schema_revisions").ddl()
    assert ddl == (
        'CREATE TABLE "atlas_schema_revisions"."atlas_schema_revisions" ("version" character varying NOT NULL, '
        '"description" character varying NOT NULL, "type" bigint NOT NULL DEFAULT 2, "applied" bigint NOT NULL '
        'DEFAULT 0, "total" bigint NOT NULL DEFAULT 0, "executed_at" timestamptz NOT NULL, "execution_time" '
        'bigint NOT NULL, "error" text NULL, "error_stmt" text NULL, "hash" character varying NOT NULL, '
        '"partial_hashes" jsonb NULL, "operator_version" character varying NOT NULL, PRIMARY KEY ("version"))'
    )


@pytest.mark.skipif(not (SHARED / "docs" / "atlas-facts.md").is_file(), reason="../shared not present")
def test_ddl_equals_the_facts_sheet():
    text = (SHARED / "docs" / "atlas-facts.md").read_text()
    block = re.search(r'CREATE TABLE "atlas_schema_revisions"\."atlas_schema_revisions".*?\);', text, re.S).group(0)
    facts = " ".join(block.split()).rstrip(";")
    assert " ".join(RevisionTable().ddl().split()) == facts


def test_column_spec_matches_ddl():
    ddl = RevisionTable().ddl()
    for name, typ, notnull, default in COLUMNS:
        short = {"timestamp with time zone": "timestamptz"}.get(typ, typ)
        expect = f'"{name}" {short} {"NOT NULL" if notnull else "NULL"}' + (f" DEFAULT {default}" if default else "")
        assert expect in ddl


@pytest.mark.parametrize(
    "flag,url,schema",
    [
        ("mine", "postgres://u@h/db?search_path=app", "mine"),
        (None, "postgres://u@h/db?search_path=app", "app"),
        (None, "postgres://u@h/db", "atlas_schema_revisions"),
        ("", "postgres://u@h/db", "atlas_schema_revisions"),
    ],
)
def test_schema_resolution(flag, url, schema):
    assert resolve_schema(flag, ConnSpec.from_url(url)) == schema


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, None),
        ("null", None),
        ([], []),
        ("[]", []),
        (["h1:a", "h1:b"], ["h1:a", "h1:b"]),
        ('["h1:a"]', ["h1:a"]),
        ("not json", None),
    ],
)
def test_partial_hashes_in_every_shape_atlas_left(value, expected):
    assert parse_partial_hashes(value) == expected


def test_upsert_keeps_description_and_executed_at():
    sql = RevisionTable("s").upsert_sql(Revision(version="1", description="it's", hash="h"))
    update = sql.split("DO UPDATE SET", 1)[1]
    assert '"description"' not in update and '"executed_at"' not in update
    assert '"version" =' not in update
    assert "'it''s'" in sql and "'null'::jsonb" in sql


def test_literals_survive_backslashes_and_quotes():
    assert quote_literal("a'b") == "'a''b'"
    assert quote_literal("a\\b'") == "E'a\\\\b'''"


def test_statement_sums_are_one_running_sha256():
    import base64
    import hashlib

    sums = statement_sums(["CREATE TABLE a (x int);", "DROP TABLE a;"])
    h = hashlib.sha256(b"CREATE TABLE a (x int);")
    assert sums[0] == base64.b64encode(h.digest()).decode()
    h.update(b"DROP TABLE a;")
    assert sums[1] == base64.b64encode(h.digest()).decode()


# --------------------------------------------------------------------------- options


def test_options_are_checked_with_atlas_texts():
    with pytest.raises(UsageError, match='unknown execution order: "sideways"'):
        ApplyOptions(exec_order="sideways").checked()
    with pytest.raises(UsageError, match='unknown tx-mode "invalid"'):
        ApplyOptions(tx_mode="invalid").checked()
    with pytest.raises(UsageError, match="sql/migrate: baseline and allow-dirty are mutually exclusive"):
        ApplyOptions(baseline="1", allow_dirty=True).checked()
    assert ApplyOptions(exec_order="NON_LINEAR").checked().exec_order == "non-linear"
    assert ApplyOptions(exec_order="LINEAR_SKIP").checked().exec_order == "linear-skip"


def test_amount_argument():
    assert parse_amount(None) is None and parse_amount("3") == 3
    with pytest.raises(UsageError, match=r"invalid amount argument \"x\" \(invalid syntax\)\. Omit the argument"):
        parse_amount("x")
    with pytest.raises(UsageError, match="cannot apply '0' migration files"):
        parse_amount("0")
    with pytest.raises(UsageError, match="value out of range"):
        parse_amount("99999999999999999999")


def test_durations():
    assert parse_duration("10s") == 10 and parse_duration("1m30s") == 90
    assert parse_duration("250ms") == 0.25 and parse_duration("2") == 2
    with pytest.raises(UsageError):
        parse_duration("soon")


# --------------------------------------------------------------------------- pending computation


def files(*names):
    return [MigrationFile(Path("/m"), n) for n in names]


def revs(*versions, partial=None):
    out = [Revision(version=v, applied=1, total=1) for v in versions]
    if partial:
        out[-1].applied, out[-1].total = partial
    return out


def names(fs):
    return [f.name for f in fs]


def test_pending_after_last_revision():
    fs = files("1_a.sql", "2_b.sql", "3_c.sql")
    assert names(pending_after(fs, revs("1"))) == ["2_b.sql", "3_c.sql"]
    assert pending_after(fs, revs("1", "2", "3")) == []


def test_partially_applied_last_file_is_pending_again():
    fs = files("1_a.sql", "2_b.sql", "3_c.sql")
    assert names(pending_after(fs, revs("1", "2", partial=(1, 3)))) == ["2_b.sql", "3_c.sql"]
    with pytest.raises(
        MigrationError, match='revision "9_gone.sql" is partially applied but migration file was not found'
    ):
        pending_after(fs, [Revision(version="9", description="gone", applied=0, total=2)])


def test_every_file_newer_than_the_revisions_is_pending():
    fs = files("5_a.sql", "6_b.sql")
    assert names(pending_after(fs, revs("1"))) == ["5_a.sql", "6_b.sql"]


def test_out_of_order_in_each_exec_order():
    fs = files("1_a.sql", "1.5_x.sql", "2_b.sql", "3_c.sql")
    with pytest.raises(NonLinearError) as e:
        pending_after(fs, revs("1", "2"), "linear")
    assert e.value.message == (
        "migration file 1.5_x.sql was added out of order. See: https://atlasgo.io/versioned/apply#non-linear-error"
    )
    assert names(e.value.pending) == ["3_c.sql"]
    assert names(pending_after(fs, revs("1", "2"), "linear-skip")) == ["3_c.sql"]
    assert names(pending_after(fs, revs("1", "2"), "non-linear")) == ["1.5_x.sql", "3_c.sql"]
    two = files("1_a.sql", "1.5_x.sql", "1.6_y.sql", "2_b.sql")
    with pytest.raises(NonLinearError, match="migration files 1.5_x.sql, 1.6_y.sql were added out of order"):
        pending_after(two, revs("1", "2"))


def test_files_before_the_first_revision_are_never_out_of_order():
    fs = files("1_a.sql", "2_b.sql", "3_c.sql", "4_d.sql")
    # baseline at 2: file 1 predates the history and is ignored
    assert names(pending_after(fs, [Revision(version="2", type=1)])) == ["3_c.sql", "4_d.sql"]


def test_versions_compare_as_strings_like_atlas():
    fs = files("10_a.sql", "9_b.sql")  # byte order: "10" < "9"
    assert names(pending_after(fs, revs("10"))) == ["9_b.sql"]


# --------------------------------------------------------------------------- lock backoff


class _FakeConn:
    def __init__(self, free_after: int | None):
        self.tries, self.free_after = 0, free_after

    def execute(self, sql, params):
        assert sql == "SELECT pg_try_advisory_lock(%s)" and params == (2686470616,)
        self.tries += 1
        got = self.free_after is not None and self.tries > self.free_after
        return type("R", (), {"fetchone": lambda _self: (got,)})()


def test_lock_backs_off_from_25ms_doubling_to_1s_until_the_timeout():
    from dbstack.migrations.executor import LOCK_HELD, acquire_lock

    now = [0.0]
    sleeps: list[float] = []

    def sleep(s):
        sleeps.append(s)
        now[0] += s

    conn = _FakeConn(free_after=None)
    with pytest.raises(MigrationError) as e:
        acquire_lock(conn, 5.0, sleep=sleep, clock=lambda: now[0])
    assert e.value.message == LOCK_HELD
    assert 0.025 <= sleeps[0] <= 0.0375 and 0.05 <= sleeps[1] <= 0.075
    assert max(sleeps) <= 1.5 and abs(sum(sleeps) - 5.0) < 1e-9  # never sleeps past the deadline
    conn = _FakeConn(free_after=3)
    acquire_lock(conn, 5.0, sleep=lambda s: None, clock=lambda: 0.0)
    assert conn.tries == 4
    conn = _FakeConn(free_after=None)
    with pytest.raises(MigrationError):
        acquire_lock(conn, 0, sleep=sleep, clock=lambda: now[0])
    assert conn.tries == 1  # a zero timeout tries once, like `migrate set`
