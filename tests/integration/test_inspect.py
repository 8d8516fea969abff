"""Inspection on a real PostgreSQL: the catalog, the SQL round trip, HCL stability, the ERD, the tasks."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import psycopg
import pytest
from psycopg import sql

from dbstack.inspect.catalog import read_catalog
from dbstack.inspect.erd import diagram, render_html, render_mermaid
from dbstack.inspect.hcl import render_hcl
from dbstack.inspect.sql import render_sql
from testpaths import INV, ROOT

pytestmark = pytest.mark.postgres

ALL_KINDS = ROOT / "tests" / "data" / "inspect" / "all_kinds.sql"


def execute(conn, text: str) -> None:
    with psycopg.connect(**conn.connect_kwargs(), autocommit=True) as pg:
        pg.execute(text)


@pytest.fixture
def make_db(pg_server):
    """Factory of extra empty databases (dropped afterwards)."""
    made = []

    def make():
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(**pg_server.connect_kwargs(), autocommit=True) as pg:
            pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        return pg_server.with_db(name)

    yield make
    with psycopg.connect(**pg_server.connect_kwargs(), autocommit=True) as pg:
        for name in made:
            pg.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def all_kinds(fresh_db):
    execute(fresh_db, ALL_KINDS.read_text())
    return fresh_db


def test_catalog_reads_every_object_kind(all_kinds):
    cat = read_catalog(all_kinds)
    assert [s.name for s in cat.schemas] == ["billing", "public"]
    assert {"btree_gist", "citext", "pg_trgm"} <= {e.name for e in cat.extensions}
    assert all(e.name != "plpgsql" for e in cat.extensions)
    assert [(e.name, e.labels) for e in cat.enums] == [
        ("invoice_state", ("draft", "sent", "paid", "void")),
        ("mood", ("sad", "ok", "happy")),
    ]
    assert {d.name for d in cat.domains} == {"positive_int", "us_postal_code"}
    # identity sequences are not listed; serial ones are, linked to their column
    seqs = {s.name: s for s in cat.sequences}
    assert set(seqs) == {"events_id_seq", "invoice_number_seq", "teams_id_seq"}
    assert seqs["teams_id_seq"].owned_by == ("public", "teams", "id")
    assert seqs["invoice_number_seq"].options.cycle and seqs["invoice_number_seq"].options.increment == 5

    users = cat.table("public", "users")
    cols = {c.name: c for c in users.columns}
    assert [c.name for c in users.columns][:3] == ["id", "email", "name"]
    assert cols["id"].identity.generated == "ALWAYS" and cols["id"].identity.options.start == 100
    assert cols["name"].collation == 'pg_catalog."C"'
    assert cols["search"].generated and cols["search"].generated_kind == "STORED"
    assert cols["feeling"].enum == ("public", "mood") and cols["email"].comment == "Login, case-insensitive"
    assert {c.name: c.valid for c in users.checks} == {"users_handle_check": True, "users_zip_present": False}
    idx = {i.name: i for i in users.indexes}
    assert idx["users_created_at_idx"].parts[0].desc and idx["users_created_at_idx"].comment == "Newest first"
    assert idx["users_lower_handle_key"].unique and idx["users_lower_handle_key"].predicate
    assert idx["users_lower_handle_key"].parts[0].expr == "lower(handle)"
    assert idx["users_search_idx"].method == "gin"
    assert idx["users_name_pattern_idx"].include == ("handle",)
    assert idx["users_name_pattern_idx"].parts[0].opclass == "pg_catalog.text_pattern_ops"
    assert {t.name: t.enabled for t in users.triggers} == {"users_touch_disabled": "D", "users_touch_updated_at": "O"}

    teams = cat.table("public", "teams")
    assert teams.uniques[0].nulls_not_distinct and teams.uniques[0].include == ("owner",)
    fks = {f.name: f for t in cat.tables for f in t.foreign_keys}
    assert fks["teams_owner_fkey"].on_delete == "SET NULL"
    assert (fks["memberships_user_fk"].on_update, fks["memberships_user_fk"].on_delete) == ("CASCADE", "CASCADE")
    assert fks["memberships_team_fk"].deferrable and fks["memberships_team_fk"].initially_deferred
    assert cat.table("billing", "invoices").exclusions
    assert cat.table("billing", "events").partition_key == "RANGE (occurred_at)"
    assert cat.table("billing", "events_2024").partition_of == ("billing", "events")
    assert cat.table("public", "cache_entries").unlogged

    views = {v.name: v for v in cat.views}
    assert views["team_totals"].materialized and views["team_totals"].indexes
    assert views["recent_users"].options == ("check_option=cascaded",)
    assert ("public", "team_members") in views["team_admins"].depends_on
    funcs = {f.name: f for f in cat.functions}
    assert funcs["void_invoice"].kind == "procedure"
    assert funcs["team_count"].depends_on == (("public", "users"),)
    assert funcs["touch_updated_at"].comment == "Keeps updated_at current"


def test_sql_round_trip_is_exact(all_kinds, make_db):
    original = read_catalog(all_kinds)
    script = render_sql(original)
    copy = make_db()
    execute(copy, script)
    again = read_catalog(copy)
    assert again.without_context() == original.without_context()
    # and rendering the copy gives the same script and the same HCL
    assert render_sql(again).splitlines()[1:] == script.splitlines()[1:]
    assert render_hcl(again) == render_hcl(original)


def test_hcl_is_stable_across_runs(all_kinds):
    first = render_hcl(read_catalog(all_kinds))
    second = render_hcl(read_catalog(all_kinds))
    assert first == second
    assert 'table "users" {\n  schema = schema.public\n' in first
    assert 'materialized "team_totals" {' in first and 'view "team_members" {' in first
    # names that are not HCL identifiers are indexed, not dotted
    assert 'columns = [column["Col \\"x\\""]]' in first and 'columns     = [column["user id"]]' in first


def test_erd_has_one_entity_per_table_and_one_relationship_per_foreign_key(all_kinds):
    cat = read_catalog(all_kinds)
    d = diagram(cat)
    n_fk = sum(len(t.foreign_keys) for t in cat.tables)
    assert len(d.entities) == len(cat.tables) and len(d.relationships) == n_fk == 5
    text = render_mermaid(cat)
    assert sum(1 for line in text.splitlines() if line.endswith(" {")) == len(cat.tables)
    assert sum(1 for line in text.splitlines() if " : " in line) == n_fk
    page = render_html(cat)
    assert page.count('<g class="entity"') == len(cat.tables) and page.count('<g class="rel"') == n_fk


def test_revisions_table_is_not_part_of_the_schema(fresh_db):
    from dbstack.migrations.engine import ApplyOptions, apply
    from dbstack.migrations.layers import Layers

    apply(fresh_db, Layers.of([ROOT / "manifests" / "migrations" / "mydatabase"]), ApplyOptions())
    execute(fresh_db, "CREATE TABLE public.atlas_schema_revisions (version text)")  # a custom revisions schema
    cat = read_catalog(fresh_db)
    assert all(s.name != "atlas_schema_revisions" for s in cat.schemas)
    assert all(t.name != "atlas_schema_revisions" for t in cat.tables)
    assert {t.name for t in cat.tables} == {"users", "projects", "repositories", "oauth_identities"}


def test_schemas_filter(all_kinds):
    cat = read_catalog(all_kinds, schemas=["billing"])
    assert [s.name for s in cat.schemas] == ["billing"]
    assert {t.schema for t in cat.tables} == {"billing"}
    assert all(f.schema == "billing" for f in cat.functions)


def _inv(args, conn, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env["DATABASE_URL"] = conn.url(masked=False)
    return subprocess.run(
        [INV, *args, "--target", "cnpg"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_inspect_tasks(all_kinds, tmp_path):
    res = _inv(["db-inspect"], all_kinds)
    assert res.returncode == 0, res.stderr
    assert res.stdout == render_hcl(read_catalog(all_kinds))
    res = _inv(["db-inspect", "--json"], all_kinds)
    assert json.loads(res.stdout)["tables"][0]["name"] == "events"
    res = _inv(["db-inspect-sql", "--output", str(tmp_path / "schema.sql")], all_kinds)
    assert res.returncode == 0 and (tmp_path / "schema.sql").read_text().startswith("-- Schema of database")
    res = _inv(["db-erd", "--output", str(tmp_path / "erd.mmd")], all_kinds)
    assert res.returncode == 0 and "(9 tables, 5 foreign keys)" in res.stdout
    assert (tmp_path / "erd.mmd").read_text().startswith("erDiagram\n")
    res = _inv(["db-erd", "--format", "html", "--output", str(tmp_path / "erd.html")], all_kinds)
    assert res.returncode == 0 and "<svg" in (tmp_path / "erd.html").read_text()
    # the password never shows
    assert all_kinds.password not in res.stdout + res.stderr


def test_inspect_task_reports_unreachable_server(pg_server):
    from dbstack.local.pgctl import free_port
    from dbstack.settings import ConnSpec

    dead = ConnSpec(host="127.0.0.1", port=free_port(), user="postgres", password="secret-pw", dbname="x")
    res = _inv(["db-inspect"], dead)
    assert res.returncode == 1
    assert "cannot connect to 127.0.0.1" in res.stderr and "Traceback" not in res.stderr
    assert "secret-pw" not in res.stderr
