"""genmigrate's planner on hand-made catalogs (no server): statement order, enum additions, refusals."""

from __future__ import annotations

import pytest

from dbstack.inspect.catalog import Catalog, Column, Enum, ForeignKey, Schema, Table, View
from dbstack.inspect.planner import Unsupported, plan, render


def cat(*tables, enums=(), views=(), schemas=("silver",)) -> Catalog:
    return Catalog(
        schemas=tuple(Schema(s) for s in schemas), tables=tuple(tables), enums=tuple(enums), views=tuple(views)
    )


def table(name, *cols, fks=()) -> Table:
    return Table("silver", name, tuple(Column(c, "text", nullable=True) for c in cols), foreign_keys=tuple(fks))


def test_no_difference_no_statement():
    c = cat(table("a", "x"))
    assert plan(c, c) == []


def test_new_schema_and_tables_with_foreign_keys_after_all_tables():
    fk = ForeignKey(
        "child_p_fkey", ("p",), "silver", "parent", ("id",), definition="FOREIGN KEY (p) REFERENCES silver.parent(id)"
    )
    desired = cat(table("child", "p", fks=[fk]), table("parent", "id"))
    steps = plan(desired, Catalog())
    sqls = [s.sql for s in steps]
    assert sqls[0] == 'CREATE SCHEMA "silver";'
    creates = [i for i, s in enumerate(sqls) if s.startswith("CREATE TABLE")]
    fk_at = next(i for i, s in enumerate(sqls) if "FOREIGN KEY" in s)
    assert len(creates) == 2 and fk_at > max(creates)
    assert render(steps).startswith('-- Add new schema named "silver"\nCREATE SCHEMA "silver";\n')


def test_enum_values_added_in_place():
    have = Enum("silver", "mood", ("ok", "sad"))
    want = Enum("silver", "mood", ("first", "ok", "meh", "sad", "last"))
    sqls = [s.sql for s in plan(cat(enums=[want]), cat(enums=[have]))]
    assert sqls == [
        """ALTER TYPE "silver"."mood" ADD VALUE 'first' BEFORE 'ok';""",
        """ALTER TYPE "silver"."mood" ADD VALUE 'meh' AFTER 'ok';""",
        """ALTER TYPE "silver"."mood" ADD VALUE 'last';""",
    ]


def test_enum_label_removal_is_refused():
    with pytest.raises(Unsupported) as ei:
        plan(cat(enums=[Enum("silver", "mood", ("ok",))]), cat(enums=[Enum("silver", "mood", ("ok", "sad"))]))
    assert "labels removed or reordered" in ei.value.message and "by hand" in ei.value.hint


def test_column_default_set_before_not_null():
    have = Table("silver", "t", (Column("c", "text", nullable=True),))
    want = Table("silver", "t", (Column("c", "text", nullable=False, default="''::text"),))
    sqls = [s.sql for s in plan(cat(want), cat(have))]
    assert sqls == [
        'ALTER TABLE "silver"."t" ALTER COLUMN "c" SET DEFAULT \'\'::text;',
        'ALTER TABLE "silver"."t" ALTER COLUMN "c" SET NOT NULL;',
    ]


def test_view_replaced_in_place_when_columns_are_appended_else_recreated():
    base = table("t", "a", "b")
    v1 = View("silver", "v", " SELECT t.a FROM silver.t;", columns=(Column("a", "text"),))
    v2 = View("silver", "v", " SELECT t.a, t.b FROM silver.t;", columns=(Column("a", "text"), Column("b", "text")))
    v3 = View("silver", "v", " SELECT t.b FROM silver.t;", columns=(Column("b", "text"),))
    appended = [s.sql for s in plan(cat(base, views=[v2]), cat(base, views=[v1]))]
    assert len(appended) == 1 and appended[0].startswith('CREATE OR REPLACE VIEW "silver"."v" AS')
    changed = [s.sql for s in plan(cat(base, views=[v3]), cat(base, views=[v1]))]
    assert changed[0] == 'DROP VIEW "silver"."v";' and changed[1].startswith('CREATE VIEW "silver"."v" AS')


def test_dropped_table_and_column():
    sqls = [s.sql for s in plan(cat(table("keep", "a")), cat(table("keep", "a", "b"), table("gone", "x")))]
    assert sqls == ['DROP TABLE "silver"."gone";', 'ALTER TABLE "silver"."keep" DROP COLUMN "b";']


# --- security, composite/range types, inheritance (migrate-diff, db-drift --sql, genmigrate) ---------------

from dbstack.inspect.catalog import CompositeField, CompositeType, DefaultPrivilege, Function, Grant, Policy, RangeType  # noqa: E402
from dbstack.inspect.planner import plan_partial  # noqa: E402


def test_policies_and_row_security():
    pol = Policy("silver", "t", "own", "UPDATE", False, ("app",), "(owner = CURRENT_USER)", "(owner = CURRENT_USER)")
    have = table("t", "owner")
    want = Table("silver", "t", have.columns, rls_enabled=True, rls_forced=True, policies=(pol,))
    sqls = [s.sql for s in plan(cat(want), cat(have))]
    assert sqls == [
        'ALTER TABLE "silver"."t" ENABLE ROW LEVEL SECURITY;',
        'ALTER TABLE "silver"."t" FORCE ROW LEVEL SECURITY;',
        'CREATE POLICY "own" ON "silver"."t" AS RESTRICTIVE FOR UPDATE TO "app" '
        "USING ((owner = CURRENT_USER)) WITH CHECK ((owner = CURRENT_USER));",
    ]
    # The other way: the policy goes first (before anything it could depend on), RLS off.
    back = [s.sql for s in plan(cat(have), cat(want))]
    assert back == [
        'DROP POLICY "own" ON "silver"."t";',
        'ALTER TABLE "silver"."t" DISABLE ROW LEVEL SECURITY;',
        'ALTER TABLE "silver"."t" NO FORCE ROW LEVEL SECURITY;',
    ]
    # A changed command cannot be ALTERed: drop and create, once.
    changed = Table(
        "silver",
        "t",
        have.columns,
        rls_enabled=True,
        rls_forced=True,
        policies=(Policy("silver", "t", "own", "ALL", True, ("PUBLIC",), "true"),),
    )
    sqls = [s.sql for s in plan(cat(changed), cat(want))]
    assert sqls == ['DROP POLICY "own" ON "silver"."t";', 'CREATE POLICY "own" ON "silver"."t" USING (true);']


def test_privileges_grant_revoke_and_revoked_defaults():
    f_have = Function("silver", "f", "function", "", "integer", "sql", "CREATE FUNCTION silver.f() ...")
    f_want = Function(
        "silver",
        "f",
        "function",
        "",
        "integer",
        "sql",
        f_have.definition,
        privileges=(Grant("PUBLIC", "EXECUTE", revoked=True), Grant("app", "EXECUTE")),
    )
    have = Table("silver", "t", (Column("c", "text"),), privileges=(Grant("PUBLIC", "SELECT"),))
    want = Table("silver", "t", (Column("c", "text"),), privileges=(Grant("app", "SELECT", grantable=True),))
    desired = Catalog(
        schemas=(Schema("silver", privileges=(Grant("app", "USAGE"),)),),
        tables=(want,),
        functions=(f_want,),
        default_privileges=(DefaultPrivilege("owner", "silver", "TABLES", (Grant("app", "SELECT"),)),),
    )
    actual = Catalog(schemas=(Schema("silver"),), tables=(have,), functions=(f_have,))
    sqls = [s.sql for s in plan(desired, actual)]
    assert sqls == [
        'REVOKE SELECT ON TABLE "silver"."t" FROM PUBLIC;',
        'REVOKE EXECUTE ON FUNCTION "silver"."f"() FROM PUBLIC;',
        'GRANT USAGE ON SCHEMA "silver" TO "app";',
        'GRANT SELECT ON TABLE "silver"."t" TO "app" WITH GRANT OPTION;',
        'GRANT EXECUTE ON FUNCTION "silver"."f"() TO "app";',
        'ALTER DEFAULT PRIVILEGES FOR ROLE "owner" IN SCHEMA "silver" GRANT SELECT ON TABLES TO "app";',
    ]
    back = [s.sql for s in plan(actual, desired)]
    assert 'GRANT EXECUTE ON FUNCTION "silver"."f"() TO PUBLIC;' in back
    assert 'ALTER DEFAULT PRIVILEGES FOR ROLE "owner" IN SCHEMA "silver" REVOKE SELECT ON TABLES FROM "app";' in back


def test_new_table_carries_its_grants_policies_and_inherits_after_its_parent():
    parent = Table("silver", "z_events", (Column("id", "bigint"),))  # sorts after its child
    child = Table(
        "silver",
        "logins",
        (Column("id", "bigint", inherited=True), Column("who", "text")),
        inherits=(("silver", "z_events"),),
        rls_enabled=True,
        policies=(Policy("silver", "logins", "p", using="true"),),
        privileges=(Grant("app", "SELECT"),),
    )
    sqls = [s.sql for s in plan(cat(child, parent), Catalog(schemas=(Schema("silver"),)))]
    assert sqls == [
        'CREATE TABLE "silver"."z_events" (\n  "id" bigint\n);',
        'CREATE TABLE "silver"."logins" (\n  "who" text\n) INHERITS ("silver"."z_events");',
        'ALTER TABLE "silver"."logins" ENABLE ROW LEVEL SECURITY;',
        'CREATE POLICY "p" ON "silver"."logins" USING (true);',
        'GRANT SELECT ON TABLE "silver"."logins" TO "app";',
    ]
    # Dropping both: the child first.
    back = [s.sql for s in plan(Catalog(schemas=(Schema("silver"),)), cat(child, parent))]
    assert back.index('DROP TABLE "silver"."logins";') < back.index('DROP TABLE "silver"."z_events";')


def test_composite_and_range_types():
    have = CompositeType("silver", "addr", (CompositeField("street", "text"), CompositeField("zip", "text")))
    want = CompositeType(
        "silver",
        "addr",
        (CompositeField("street", "text"), CompositeField("zip", "integer"), CompositeField("city", "text", '"C"')),
    )
    rng = RangeType("silver", "fr", "double precision", subtype_diff="float8mi", multirange="frmulti")
    desired = Catalog(schemas=(Schema("silver"),), composites=(want,), ranges=(rng,))
    actual = Catalog(schemas=(Schema("silver"),), composites=(have,))
    sqls = [s.sql for s in plan(desired, actual)]
    assert sqls == [
        'ALTER TYPE "silver"."addr" ALTER ATTRIBUTE "zip" TYPE integer, ADD ATTRIBUTE "city" text COLLATE "C";',
        'CREATE TYPE "silver"."fr" AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = float8mi, '
        'MULTIRANGE_TYPE_NAME = "silver"."frmulti");',
    ]
    other = RangeType("silver", "fr", "integer")
    steps, unsupported = plan_partial(Catalog(ranges=(other,)), Catalog(ranges=(rng,)))
    assert steps == [] and "range type silver.fr: subtype changed" in unsupported


def test_enum_rebuilt_only_when_asked():
    want = Enum("silver", "mood", ("ok",))
    have = Enum("silver", "mood", ("ok", "sad"))
    col = Column("m", "silver.mood", default="'ok'::silver.mood", enum=("silver", "mood"))
    t = Table("silver", "t", (col,))
    desired, actual = cat(t, enums=[want]), cat(t, enums=[have])
    assert plan_partial(desired, actual)[1] == ["enum silver.mood: labels removed or reordered (ok, sad -> ok)"]
    sqls = [s.sql for s in plan_partial(desired, actual, recreate_enums=True)[0]]
    assert sqls == [
        'ALTER TYPE "silver"."mood" RENAME TO "mood__dbstack_old";',
        """CREATE TYPE "silver"."mood" AS ENUM ('ok');""",
        'ALTER TABLE "silver"."t" ALTER COLUMN "m" DROP DEFAULT;',
        'ALTER TABLE "silver"."t" ALTER COLUMN "m" TYPE "silver"."mood" USING "m"::text::"silver"."mood";',
        """ALTER TABLE "silver"."t" ALTER COLUMN "m" SET DEFAULT 'ok'::silver.mood;""",
        'DROP TYPE "silver"."mood__dbstack_old";',
    ]


def test_owner_changes_only_when_owners_were_read():
    have = Table("silver", "t", (Column("c", "text"),), owner="alice")
    want = Table("silver", "t", (Column("c", "text"),), owner="bob")
    assert [s.sql for s in plan(cat(want), cat(have))] == ['ALTER TABLE "silver"."t" OWNER TO "bob";']
    plain = Table("silver", "t", (Column("c", "text"),))
    assert plan(cat(plain), cat(plain)) == []
