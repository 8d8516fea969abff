"""The seed's workflows (db-create, db-reset, dev-migrate-refresh, prod-migrate…) on a real server.

They run against the session's PostgreSQL through `server` targets: `dev`
(marked dev) and `prod` (not), both on the same throwaway server, with the
password in an environment variable like a real deployment.
"""

from __future__ import annotations

import uuid

import pytest

from dbstack import workflows
from dbstack.errors import DatabaseError, LintFailed, MigrationError, Refused

pytestmark = pytest.mark.postgres

MIGRATED = ["20240204000001", "20240204000002", "20240205000001", "20240205000002", "20240206000001"]
REVISIONS = "SELECT version FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version"
PW_ENV = "DBSTACK_WF_PW"
quiet = [].append


class Wf:
    def __init__(self, project, server, name):
        self.project, self.server, self.name = project, server, name

    def settings(self):
        return self.project.settings()

    @property
    def db(self):
        return self.server.with_db(self.name)

    def add_migration(self, version: str, sql: str) -> None:
        (self.project.migrations / f"{version}_change.sql").write_text(sql)
        self.rehash()

    def rehash(self) -> None:
        from dbstack.migrations.layers import Layers

        Layers.of([self.project.migrations]).dirs[0].write_sum()

    def run(self, *args, **kw):
        return self.project.run(*args, env={PW_ENV: self.server.password}, **kw)


@pytest.fixture
def wf(make_project, pg_server, monkeypatch, query):
    name = f"wf_{uuid.uuid4().hex[:10]}"
    p = make_project()
    target = {
        "kind": "server",
        "host": pg_server.host,
        "port": pg_server.port,
        "user": pg_server.user,
        "password_env": PW_ENV,
    }
    p.write_config(
        database=name,
        target="dev",
        databases={name: {"dirs": ["manifests/migrations/mydatabase"]}},
        targets={"dev": {**target, "dev": True}, "prod": {**target, "dev": False}},
    )
    monkeypatch.setenv(PW_ENV, pg_server.password)
    yield Wf(p, pg_server, name)
    for (db,) in query(pg_server, "SELECT datname FROM pg_database WHERE datname LIKE %s", (name + "%",)):
        query(pg_server, f'DROP DATABASE "{db}" WITH (FORCE)')


def _databases(query, server, name):
    return sorted(r[0] for r in query(server, "SELECT datname FROM pg_database WHERE datname LIKE %s", (name + "%",)))


# --------------------------------------------------------------------------- db-create


def test_db_create_is_idempotent(wf, query):
    assert workflows.db_create(wf.settings(), out=quiet) is True
    assert workflows.db_create(wf.settings(), out=quiet) is False
    assert _databases(query, wf.server, wf.name) == [wf.name]


def test_db_create_surfaces_real_errors(wf, query):
    role = f"{wf.name}_nocreate"
    query(wf.server, f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'pw-{role}'")
    try:
        wf.project.write_config(
            targets={
                "weak": {
                    "kind": "server",
                    "host": wf.server.host,
                    "port": wf.server.port,
                    "user": role,
                    "password_env": "WEAK_PW",
                }
            }
        )
        cp = wf.project.run("db-create", "--target", "weak", env={"WEAK_PW": "pw-" + role})
        assert cp.returncode == 1
        assert f"cannot create database '{wf.name}': permission denied to create database" in cp.stderr
        assert "CREATEDB" in cp.stderr
    finally:
        query(wf.server, f'DROP ROLE "{role}"')


# --------------------------------------------------------------------------- db-reset


def test_db_reset_builds_the_new_database_then_swaps_it_in(wf, query):
    workflows.db_reset(wf.settings(), out=quiet)
    assert [r[0] for r in query(wf.db, REVISIONS)] == MIGRATED
    query(wf.db, "INSERT INTO users (email, display_name) VALUES ('gone@example.com', 'Gone')")

    import psycopg

    # A client still connected to the old database does not stop the swap.
    with psycopg.connect(**wf.db.connect_kwargs(), autocommit=True) as idle:
        workflows.db_reset(wf.settings(), out=quiet)
        with pytest.raises(psycopg.OperationalError):
            idle.execute("SELECT 1")
    assert [r[0] for r in query(wf.db, REVISIONS)] == MIGRATED
    assert query(wf.db, "SELECT count(*) FROM users")[0][0] == 2
    assert _databases(query, wf.server, wf.name) == [wf.name]  # no scratch database left


def test_db_reset_with_a_failing_migration_leaves_the_old_database_in_place(wf, query):
    workflows.db_reset(wf.settings(), out=quiet)
    query(wf.db, "INSERT INTO users (email, display_name) VALUES ('precious@example.com', 'Precious')")
    wf.add_migration("20240301000001", "CREATE TABLE broken (id int);\nSELECT 1/0;\n")
    with pytest.raises(MigrationError) as exc:
        workflows.db_reset(wf.settings(), out=quiet)
    assert f"database '{wf.name}' was left as it was" in exc.value.message
    assert query(wf.db, "SELECT count(*) FROM users WHERE email = 'precious@example.com'")[0][0] == 1
    assert [r[0] for r in query(wf.db, REVISIONS)] == MIGRATED
    assert _databases(query, wf.server, wf.name) == [wf.name]


def test_dev_commands_refuse_a_target_that_is_not_dev_unless_forced(wf, query):
    for fn in (workflows.db_reset, workflows.dev_migrate_refresh):
        with pytest.raises(Refused) as exc:
            fn(wf.settings(), target="prod", out=quiet)
        assert "not a dev target" in exc.value.message and "--force" in exc.value.hint
    assert _databases(query, wf.server, wf.name) == []
    cp = wf.run("db-reset", "--target", "prod")
    assert cp.returncode == 1 and "target 'prod' is not a dev target" in cp.stderr
    assert _databases(query, wf.server, wf.name) == []
    wf.run("db-reset", "--target", "prod", "--force", check=True)
    assert [r[0] for r in query(wf.db, REVISIONS)] == MIGRATED


def test_reset_db_refuses_when_the_local_target_is_not_marked_dev(wf):
    wf.project.write_config(targets={"local": {"kind": "local", "dev": False}})
    cp = wf.run("reset-db", "--backend", "embedded")
    assert cp.returncode == 1 and "reset-db is a development command" in cp.stderr
    assert not wf.project.data_dir.exists()


# --------------------------------------------------------------------------- dev-migrate-refresh


def test_dev_migrate_refresh_rehashes_and_applies_and_fresh_starts_over(wf, query):
    workflows.db_reset(wf.settings(), out=quiet)
    query(wf.db, "INSERT INTO users (email, display_name) VALUES ('kept@example.com', 'Kept')")
    # A new file that nobody hashed: plain `migrate` would refuse with a checksum error.
    (wf.project.migrations / "20240301000001_phone.sql").write_text("ALTER TABLE users ADD COLUMN phone text;\n")
    with pytest.raises(Exception, match="checksum"):
        from dbstack.migrations import commands

        commands.migrate(wf.settings())
    lines: list[str] = []
    workflows.dev_migrate_refresh(wf.settings(), out=lines.append)
    assert any(line.startswith("re-hashed") for line in lines)
    assert [r[0] for r in query(wf.db, REVISIONS)] == MIGRATED + ["20240301000001"]
    assert query(wf.db, "SELECT count(*) FROM users WHERE email = 'kept@example.com'")[0][0] == 1

    cp = wf.run("dev-migrate-refresh", "--fresh", check=True)
    assert f"dropped database '{wf.name}'" in cp.stdout
    assert query(wf.db, "SELECT count(*) FROM users WHERE email = 'kept@example.com'")[0][0] == 0
    assert [r[0] for r in query(wf.db, REVISIONS)] == MIGRATED + ["20240301000001"]


# --------------------------------------------------------------------------- production


def test_prod_migrate_preview_shows_lint_status_and_dry_run_and_changes_nothing(wf, query):
    workflows.db_create(wf.settings(), out=quiet)
    cp = wf.run("prod-migrate-preview", "--target", "prod", check=True)
    out = cp.stdout
    assert out.index("== lint (5 pending files)") < out.index("== status") < out.index("== dry run")
    assert "Migrating to version 20240206000001" in out
    assert query(wf.db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'atlas_schema_revisions'")[0][0] == 0
    assert query(wf.db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0] == 0


def test_prod_migrate_without_a_terminal_and_without_yes_applies_nothing(wf, query):
    workflows.db_create(wf.settings(), out=quiet)
    cp = wf.run("prod-migrate", "--target", "prod")
    assert cp.returncode == 1
    assert "there is no terminal to ask; nothing was applied" in cp.stderr and "--yes" in cp.stderr
    assert query(wf.db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0] == 0

    with pytest.raises(Refused, match="not confirmed"):
        workflows.prod_migrate(wf.settings(), target="prod", confirm=lambda q: False, out=quiet)
    assert query(wf.db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0] == 0

    asked: list[str] = []
    workflows.prod_migrate(wf.settings(), target="prod", confirm=lambda q: asked.append(q) or True, out=quiet)
    assert "Apply 5 migration(s)" in asked[0] and "target prod" in asked[0]
    assert wf.server.password not in asked[0]
    assert [r[0] for r in query(wf.db, REVISIONS)] == MIGRATED

    cp = wf.run("prod-migrate", "--target", "prod", check=True)  # nothing pending: no question needed
    assert "nothing to apply" in cp.stdout


def test_prod_migrate_stops_on_a_destructive_lint_finding_before_applying(wf, query):
    workflows.db_create(wf.settings(), out=quiet)
    wf.run("prod-migrate", "--target", "prod", "--yes", check=True)
    wf.add_migration("20240301000001", "DROP TABLE oauth_identities;\n")
    cp = wf.run("prod-migrate", "--target", "prod", "--yes")
    assert cp.returncode == 1
    assert "lint found 1 error(s) in the pending migrations; nothing was applied" in cp.stderr
    assert "DS102" in cp.stdout
    assert "== dry run" not in cp.stdout
    assert query(wf.db, "SELECT count(*) FROM pg_tables WHERE tablename = 'oauth_identities'")[0][0] == 1
    assert [r[0] for r in query(wf.db, REVISIONS)] == MIGRATED
    with pytest.raises(LintFailed):
        workflows.prod_migrate_preview(wf.settings(), target="prod", out=quiet)


def test_a_target_that_cannot_be_reached_is_one_clear_error(wf):
    wf.project.write_config(
        targets={"gone": {"kind": "server", "host": "127.0.0.1", "port": 1, "user": "x", "dev": True}}
    )
    with pytest.raises(DatabaseError) as exc:
        workflows.db_create(wf.settings(), target="gone", out=quiet)
    assert "cannot connect to postgres://x@127.0.0.1:1/postgres" in exc.value.message
