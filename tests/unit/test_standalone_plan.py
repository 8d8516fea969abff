"""genmigrate's planner on hand-made catalogs (no server): statement order, enum additions, refusals."""
from __future__ import annotations

import pytest

from dbstack.inspect.catalog import Catalog, Column, Enum, ForeignKey, Schema, Table, View
from dbstack.standalone.plan import Unsupported, plan, render


def cat(*tables, enums=(), views=(), schemas=("silver",)) -> Catalog:
    return Catalog(schemas=tuple(Schema(s) for s in schemas), tables=tuple(tables), enums=tuple(enums),
                   views=tuple(views))


def table(name, *cols, fks=()) -> Table:
    return Table("silver", name, tuple(Column(c, "text", nullable=True) for c in cols), foreign_keys=tuple(fks))


def test_no_difference_no_statement():
    c = cat(table("a", "x"))
    assert plan(c, c) == []


def test_new_schema_and_tables_with_foreign_keys_after_all_tables():
    fk = ForeignKey("child_p_fkey", ("p",), "silver", "parent", ("id",),
                    definition='FOREIGN KEY (p) REFERENCES silver.parent(id)')
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
    assert sqls == ['ALTER TABLE "silver"."t" ALTER COLUMN "c" SET DEFAULT \'\'::text;',
                    'ALTER TABLE "silver"."t" ALTER COLUMN "c" SET NOT NULL;']


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
