"""ERD: one entity per table, one relationship per foreign key, cardinality from the schema."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from dbstack.inspect.catalog import (
    Catalog,
    Column,
    ForeignKey,
    PrimaryKey,
    Table,
    Unique,
)
from dbstack.inspect.erd import diagram, render_html, render_mermaid
from dbstack.inspect.erd_layout import check, dot_source, layout, schema_order
from testpaths import require_tool


@pytest.fixture(autouse=True)
def _graphviz_where_asked(request):
    """Graphviz's `dot` for the tests that ask for it: installed in CI, optional on a laptop."""
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    if params.get("engine") == "graphviz":
        require_tool("dot", "graphviz", ("-V",))


def _fk(name, cols, table, ref=("id",)):
    return ForeignKey(name, cols, "public", table, ref)


def _catalog() -> Catalog:
    users = Table(
        "public",
        "users",
        (Column("id", "bigint", nullable=False), Column("email", "text")),
        primary_key=PrimaryKey("users_pkey", ("id",)),
        uniques=(Unique("users_email_key", ("email",)),),
    )
    profiles = Table(
        "public",
        "profiles",
        (Column("user_id", "bigint", nullable=False), Column("bio", "text")),
        primary_key=PrimaryKey("profiles_pkey", ("user_id",)),
        foreign_keys=(_fk("profiles_user_fk", ("user_id",), "users"),),
    )
    posts = Table(
        "billing",
        "posts",
        (
            Column("id", "bigint", nullable=False),
            Column("author", "bigint", nullable=False),
            Column("editor", "bigint"),
            Column("total", "numeric(12,2)"),
        ),
        primary_key=PrimaryKey("posts_pkey", ("id",)),
        foreign_keys=(_fk("posts_author_fk", ("author",), "users"), _fk("posts_editor_fk", ("editor",), "users")),
    )
    return Catalog(database="app", tables=(posts, profiles, users))


def test_cardinality_from_nullability_and_uniqueness():
    rels = {r.name: r for r in diagram(_catalog()).relationships}
    assert (rels["posts_author_fk"].parent_card, rels["posts_author_fk"].child_card) == ("one", "zero_or_many")
    assert (rels["posts_editor_fk"].parent_card, rels["posts_editor_fk"].child_card) == ("zero_or_one", "zero_or_many")
    assert (rels["profiles_user_fk"].parent_card, rels["profiles_user_fk"].child_card) == ("one", "zero_or_one")
    assert rels["profiles_user_fk"].identifying and not rels["posts_author_fk"].identifying


def test_mermaid_entities_keys_and_relationships():
    text = render_mermaid(_catalog())
    assert text.startswith("erDiagram\n")
    assert len(re.findall(r"^    \S+.* \{$", text, re.M)) == 3  # one entity per table
    assert 'billing__posts["billing.posts"] {' in text
    assert "        bigint id PK\n" in text and "        text email UK\n" in text
    assert "        bigint user_id PK, FK\n" in text
    assert "        numeric(12_2) total\n" in text
    rel_lines = [ln.strip() for ln in text.splitlines() if " : " in ln]
    assert rel_lines == [
        'users ||..o{ billing__posts : "posts_author_fk"',
        'users |o..o{ billing__posts : "posts_editor_fk"',
        'users ||--o| profiles : "profiles_user_fk"',
    ]


@pytest.mark.parametrize("engine", ["graphviz", "grandalf"])
def test_html_is_self_contained_svg(engine):
    page = render_html(_catalog(), engine=engine)
    # the script and styles are inline: nothing is fetched
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|@import|url\(", page)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert page.count('<g class="entity"') == 3
    assert page.count('<g class="rel"') == 3
    assert page.count('<g class="frame"') == 2  # billing, public
    assert f'data-layout="{engine}"' in page
    assert "erDiagram" in page  # the Mermaid source travels along


def _layered() -> Catalog:
    """Three layers, a cycle, a self reference and a table alone."""

    def t(schema, name, *fks):
        cols = [Column("id", "bigint", nullable=False)] + [Column(f"{n}_id", "bigint") for _, n in fks]
        return Table(
            schema,
            name,
            tuple(cols),
            primary_key=PrimaryKey(f"{name}_pkey", ("id",)),
            foreign_keys=tuple(ForeignKey(f"{name}_{n}_fk", (f"{n}_id",), s, n, ("id",)) for s, n in fks),
        )

    return Catalog(
        database="lake",
        tables=(
            t("gold", "report", ("silver", "orders")),
            t("silver", "orders", ("bronze", "raw_orders"), ("silver", "customers")),
            t("silver", "customers", ("silver", "orders"), ("silver", "customers")),
            t("bronze", "raw_orders"),
            t("bronze", "lonely"),
            t("bronzehistory", "raw_orders_h", ("bronze", "raw_orders")),
        ),
    )


@pytest.mark.parametrize("engine", ["graphviz", "grandalf"])
def test_layout_frames_in_layer_order_and_clean_geometry(engine):
    d = diagram(_layered())
    lay = layout(d, engine)
    assert lay.engine == engine
    order = schema_order(lay.frames)
    assert order == ["bronze", "bronzehistory", "silver", "gold"]
    # read left to right, or top down where frames start in one column
    for a, b in pairwise(order):
        fa, fb = lay.frames[a], lay.frames[b]
        assert fb[0] > fa[0] + 50 or (abs(fb[0] - fa[0]) <= 50 and fb[1] > fa[1]), (a, b, fa, fb)
    q = check(d, lay)
    assert (q.line_table_crossings, q.tables_outside_frame, q.label_overlaps) == (0, 0, 0)
    assert len(lay.routes) == len(d.relationships) == 6
    # the same input gives the same drawing
    assert render_html(_layered(), engine=engine) == render_html(_layered(), engine=engine)


def test_dot_source_has_one_cluster_per_schema():
    src = dot_source(diagram(_layered()))
    assert src.count("subgraph cluster_") == 4
    assert src.index('"frame:bronze"') < src.index('"frame:bronzehistory"') < src.index('"frame:silver"')


def test_no_layout_engine_is_a_clear_error(monkeypatch):
    import builtins

    from dbstack.errors import DbstackError
    from dbstack.inspect import erd_layout

    real_import = builtins.__import__

    def no_grandalf(name, *args, **kwargs):
        if name == "grandalf" or name.startswith("grandalf."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(erd_layout.shutil, "which", lambda name: None)
    monkeypatch.setattr(builtins, "__import__", no_grandalf)
    with pytest.raises(DbstackError) as err:
        render_html(_catalog())
    assert "neither Graphviz's `dot` nor the grandalf package" in str(err.value)
    assert "apt-get install graphviz" in err.value.hint and "--format mmd" in err.value.hint


def test_auto_hands_over_to_grandalf_when_dot_fails(monkeypatch):
    from dbstack.errors import DbstackError
    from dbstack.inspect import erd_layout

    def broken(d):
        raise DbstackError("dot failed: trouble in init_rank")

    monkeypatch.setattr(erd_layout, "_graphviz_run", broken)
    lay = layout(diagram(_layered()), "auto")
    assert lay.engine == "grandalf" and "trouble in init_rank" in lay.note
    with pytest.raises(DbstackError):
        layout(diagram(_layered()), "graphviz")  # asked for by name: no substitute


@pytest.mark.parametrize("engine", ["graphviz", "grandalf"])
def test_odd_names_and_empty_schema(engine):
    import xml.etree.ElementTree as ET

    odd = Table(
        'Sales "EU"',
        "Order <&> Lines",
        (Column("id", "bigint", nullable=False), Column("ref", "bigint")),
        primary_key=PrimaryKey("p", ("id",)),
        foreign_keys=(ForeignKey('fk "x" <y> & z', ("ref",), 'Sales "EU"', "Order <&> Lines", ("id",)),),
    )
    other = Table("public", "naïve \\ table", (Column("id", "bigint", nullable=False),))
    page = render_html(Catalog(database="x", tables=(odd, other)), engine=engine)
    svg = ET.fromstring(re.search(r"<svg\b.*?</svg>", page, re.S).group())
    tables = [g.get("data-table") for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "entity"]
    assert sorted(tables) == ['Sales "EU".Order <&> Lines', "public.naïve \\ table"]
    assert len({g.get("id") for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "entity"}) == 2
    assert render_html(Catalog(database="x", tables=()), engine=engine).count('<g class="entity"') == 0
