"""Renderers and diff on hand-built catalogs (no server)."""

from __future__ import annotations

from dataclasses import replace

from dbstack.inspect.catalog import (
    Catalog,
    Check,
    Column,
    Enum,
    ForeignKey,
    Identity,
    Index,
    IndexPart,
    PrimaryKey,
    Schema,
    Sequence,
    SequenceOptions,
    Table,
    Unique,
    View,
)
from dbstack.inspect.diff import diff
from dbstack.inspect.hcl import hcl_default, hcl_string, hcl_type, render_hcl
from dbstack.inspect.sql import (
    add_column_sql,
    column_sql,
    create_index_sql,
    create_table_sql,
    render_sql,
    sequence_options_sql,
    sql_statements,
)


def _catalog() -> Catalog:
    users = Table(
        schema="public",
        name="users",
        columns=(
            Column("id", "bigint", nullable=False, identity=Identity("ALWAYS", SequenceOptions("bigint", 100, 10))),
            Column("email", "character varying(320)", nullable=False, comment='Login "address"'),
            Column("mood", "public.mood", default="'ok'::public.mood", enum=("public", "mood")),
            Column("created_at", "timestamp with time zone", nullable=False, default="now()"),
        ),
        primary_key=PrimaryKey("users_pkey", ("id",), definition="PRIMARY KEY (id)"),
        uniques=(Unique("users_email_key", ("email",), definition="UNIQUE (email)"),),
        checks=(
            Check(
                "users_email_check",
                "position('@'::text, email::text) > 1",
                "CHECK (position('@'::text, email::text) > 1)",
            ),
        ),
        indexes=(
            Index(
                "public",
                "users",
                "users_created_at_idx",
                "btree",
                (IndexPart(column="created_at", desc=True, nulls_first=True),),
                definition="CREATE INDEX users_created_at_idx ON public.users USING btree (created_at DESC)",
            ),
        ),
    )
    posts = Table(
        schema="public",
        name="posts",
        columns=(
            Column("id", "integer", nullable=False, default="nextval('public.posts_id_seq'::regclass)"),
            Column("user_id", "bigint"),
        ),
        primary_key=PrimaryKey("posts_pkey", ("id",), definition="PRIMARY KEY (id)"),
        foreign_keys=(
            ForeignKey(
                "posts_user_id_fkey",
                ("user_id",),
                "public",
                "users",
                ("id",),
                on_delete="CASCADE",
                definition="FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE",
            ),
        ),
    )
    seq = Sequence(
        "public",
        "posts_id_seq",
        SequenceOptions("integer", 1, 1, 1, 2147483647, 1, False),
        owned_by=("public", "posts", "id"),
    )
    return Catalog(
        database="app",
        schemas=(Schema("public", "standard public schema"),),
        enums=(Enum("public", "mood", ("sad", "ok")),),
        sequences=(seq,),
        tables=(posts, users),
    )


def test_hcl_has_atlas_shape_with_aligned_attributes():
    text = render_hcl(_catalog())
    assert 'table "users" {\n  schema = schema.public\n' in text
    assert (
        '  column "id" {\n    null = false\n    type = bigint\n    identity {\n      generated = ALWAYS\n'
        "      start     = 100\n      increment = 10\n    }\n  }" in text
    )
    assert '    null    = false\n    type    = character_varying(320)\n    comment = "Login \\"address\\""' in text
    assert 'type    = enum.mood\n    default = "ok"' in text
    assert 'default = sql("now()")' in text
    assert "  primary_key {\n    columns = [column.id]\n  }" in text
    assert (
        '  foreign_key "posts_user_id_fkey" {\n    columns     = [column.user_id]\n'
        "    ref_columns = [table.users.column.id]\n    on_update   = NO_ACTION\n"
        "    on_delete   = CASCADE\n  }"
    ) in text
    assert '  index "users_created_at_idx" {\n    on {\n      desc   = true\n      column = column.created_at\n' in text
    assert '  check "users_email_check" {\n    expr = "(position(\'@\'::text, email::text) > 1)"\n  }' in text
    # serial column shown as serial, its sequence not printed; schema blocks come last
    assert 'column "id" {\n    null = false\n    type = serial\n  }' in text
    assert 'sequence "posts_id_seq"' not in text
    assert text.rstrip().endswith('schema "public" {\n  comment = "standard public schema"\n}')


def test_hcl_is_deterministic():
    assert render_hcl(_catalog()) == render_hcl(_catalog())


def test_hcl_values():
    assert hcl_string('a"b\\c\n${x}') == '"a\\"b\\\\c\\n$${x}"'
    assert hcl_default("'unknown'::character varying") == "unknown"
    assert hcl_default("true") is True
    assert hcl_default("42").text == "42"
    assert hcl_default("now()").text == 'sql("now()")'
    assert hcl_type("timestamp(3) with time zone").text == "timestamptz(3)"
    assert hcl_type("text[]").text == 'sql("text[]")'
    assert hcl_type("double precision").text == "double_precision"


def test_sql_helpers():
    cat = _catalog()
    users = cat.table("public", "users")
    assert column_sql(users.columns[0]) == (
        '"id" bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 10) NOT NULL'
    )
    assert column_sql(users.columns[2]) == "\"mood\" public.mood DEFAULT 'ok'::public.mood"
    create = create_table_sql(users)
    assert create.startswith('CREATE TABLE "public"."users" (\n    "id" bigint')
    assert 'CONSTRAINT "users_pkey" PRIMARY KEY (id)' in create and create.endswith(");")
    assert create_index_sql(users.indexes[0]).endswith("(created_at DESC);")
    assert add_column_sql(users, Column("phone", "text")) == 'ALTER TABLE "public"."users" ADD COLUMN "phone" text;'
    assert (
        sequence_options_sql(SequenceOptions("integer", 5, 1, 1, 2147483647, 1, False), only_non_default=True)
        == "START WITH 5"
    )


def test_sql_statements_are_dependency_ordered():
    stmts = sql_statements(_catalog())
    joined = "\n".join(stmts)
    order = [
        joined.index(x)
        for x in (
            'CREATE TYPE "public"."mood"',
            'CREATE SEQUENCE "public"."posts_id_seq"',
            'CREATE TABLE "public"."posts"',
            'CREATE TABLE "public"."users"',
            'ADD CONSTRAINT "posts_user_id_fkey"',
            'OWNED BY "public"."posts"."id"',
            "CREATE INDEX users_created_at_idx",
        )
    ]
    assert order == sorted(order)
    assert 'COMMENT ON COLUMN "public"."users"."email" IS \'Login "address"\';' in stmts
    assert render_sql(_catalog()).startswith("-- Schema of database 'app'")


def test_diff_reports_missing_extra_and_changed_by_name():
    desired = _catalog()
    users = desired.table("public", "users")
    changed_users = replace(
        users,
        columns=tuple(replace(c, default="'sad'::public.mood") if c.name == "mood" else c for c in users.columns)
        + (Column("phone", "text"),),
        indexes=(),
    )
    actual = replace(
        desired,
        tables=(desired.table("public", "posts"), changed_users, Table("public", "audit", (Column("id", "integer"),))),
    )
    got = [(c.kind, c.object_type, c.name, c.attribute) for c in diff(desired, actual)]
    assert got == [
        ("extra", "table", "public.audit", None),
        ("changed", "column", "public.users.mood", "default"),
        ("extra", "column", "public.users.phone", None),
        ("missing", "index", "public.users.users_created_at_idx", None),
    ]
    assert diff(desired, desired) == []
    change = diff(desired, actual)[1]
    assert change.desired == "'ok'::public.mood" and change.actual == "'sad'::public.mood"
    assert "changed  column public.users.mood: default" in change.describe()


def test_diff_sees_view_definition_changes():
    v = View("public", "v", " SELECT 1;")
    a = Catalog(views=(v,))
    b = Catalog(views=(replace(v, definition=" SELECT 2;"),))
    (c,) = diff(a, b)
    assert (c.kind, c.object_type, c.name, c.attribute) == ("changed", "view", "public.v", "definition")


def test_catalog_json_round_trip():
    import json

    from dbstack.inspect.catalog import catalog_from_dict

    cat = _catalog()
    back = catalog_from_dict(json.loads(json.dumps(cat.to_dict())))
    assert back == cat and back.database == "app"
    assert isinstance(back.tables[0].columns, tuple) and back.sequences[0].owned_by == ("public", "posts", "id")
