"""ERD: one entity per table, one relationship per foreign key, cardinality from the schema."""
from __future__ import annotations

import re

from dbstack.inspect.catalog import Catalog, Column, ForeignKey, PrimaryKey, Table, Unique
from dbstack.inspect.erd import diagram, render_html, render_mermaid


def _fk(name, cols, table, ref=("id",)):
    return ForeignKey(name, cols, "public", table, ref)


def _catalog() -> Catalog:
    users = Table("public", "users", (Column("id", "bigint", nullable=False), Column("email", "text")),
                  primary_key=PrimaryKey("users_pkey", ("id",)), uniques=(Unique("users_email_key", ("email",)),))
    profiles = Table("public", "profiles", (Column("user_id", "bigint", nullable=False), Column("bio", "text")),
                     primary_key=PrimaryKey("profiles_pkey", ("user_id",)),
                     foreign_keys=(_fk("profiles_user_fk", ("user_id",), "users"),))
    posts = Table("billing", "posts", (Column("id", "bigint", nullable=False), Column("author", "bigint", nullable=False),
                                       Column("editor", "bigint"), Column("total", "numeric(12,2)")),
                  primary_key=PrimaryKey("posts_pkey", ("id",)),
                  foreign_keys=(_fk("posts_author_fk", ("author",), "users"),
                                _fk("posts_editor_fk", ("editor",), "users")))
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
    rel_lines = [l.strip() for l in text.splitlines() if " : " in l]
    assert rel_lines == [
        'users ||..o{ billing__posts : "posts_author_fk"',
        'users |o..o{ billing__posts : "posts_editor_fk"',
        'users ||--o| profiles : "profiles_user_fk"',
    ]


def test_html_is_self_contained_svg():
    page = render_html(_catalog())
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert page.count('<g class="entity"') == 3
    assert page.count('<g class="rel"') == 3
    assert "erDiagram" in page  # the Mermaid source travels along
