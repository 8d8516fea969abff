"""Every task resolves the database the same way, on every kind of target (issue 11, item 4)."""

from __future__ import annotations

import uuid

import pytest

from adv_support import databases, make_dir, query
from dbstack.errors import UsageError
from dbstack.settings import from_mapping

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(pg_server, tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    conf_db, url_db = f"conf_{tag}", f"url_{tag}"
    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id int);\n"})
    monkeypatch.setenv("ADV_PW", pg_server.password)
    monkeypatch.setenv("ADV_URL", pg_server.with_db(url_db).url(masked=False))
    (tmp_path / "docker-compose.yml").write_text("services:\n  postgres:\n    image: postgres:15\n")
    s = from_mapping(
        {
            "local": {
                "host": pg_server.host,
                "port": pg_server.port,
                "user": pg_server.user,
                "password": pg_server.password,
            },
            "database": conf_db,
            "databases": {conf_db: {"dirs": [str(d)]}},
            "targets": {
                "srv": {
                    "kind": "server",
                    "host": pg_server.host,
                    "port": pg_server.port,
                    "user": pg_server.user,
                    "password_env": "ADV_PW",
                    "dev": True,
                },
                "devurl": {"kind": "url", "url_env": "ADV_URL", "dev": True},
                "loc": {"kind": "local", "dev": True},
            },
        },
        tmp_path,
    )
    yield s, conf_db, url_db
    for name in databases(pg_server, f"%{tag}%"):
        query(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _has_a(pg_server, db: str) -> bool:
    if not databases(pg_server, db):
        return False
    return bool(query(pg_server.with_db(db), "SELECT 1 FROM pg_tables WHERE tablename = 'a'"))


def _run(task: str, s, target: str, db: str | None):
    from dbstack import workflows
    from dbstack.analysis.drift import check_drift
    from dbstack.migrations import commands

    quiet = lambda _line: None  # noqa: E731
    if task == "db-create":
        workflows.db_create(s, db=db, target=target, out=quiet, start=False)
    elif task == "db-reset":
        workflows.db_reset(s, db=db, target=target, out=quiet)
    elif task == "dev-migrate-refresh":
        workflows.dev_migrate_refresh(s, db=db, target=target, out=quiet)
    elif task == "migrate":
        commands.migrate(s, db=db, target=target)
    elif task == "migrate-status":
        return commands.migration_status(s, db=db, target=target)
    elif task == "db-drift":
        return check_drift(s, db=db, target=target, cache=False)


TASKS = ["db-create", "db-reset", "dev-migrate-refresh", "migrate", "migrate-status", "db-drift"]


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("target", ["loc", "srv", "devurl"])
def test_each_task_acts_on_the_resolved_database(world, pg_server, task, target):
    if target == "loc" and task in ("db-reset", "dev-migrate-refresh"):
        pytest.skip(
            "starts this project's local server (covered by tests/integration/test_local_workflows.py); "
            "its database name comes from the same Settings.database_name"
        )
    s, conf_db, url_db = world
    want, other = (url_db, conf_db) if target == "devurl" else (conf_db, url_db)
    assert s.database_name(target) == want
    if task in ("migrate", "migrate-status", "db-drift"):
        query(pg_server, f'CREATE DATABASE "{want}"')
    if task == "db-reset":
        query(pg_server, f'CREATE DATABASE "{want}"')  # the database being replaced
        query(pg_server.with_db(want), "CREATE TABLE old_marker (id int)")
    rep = _run(task, s, target, None)
    assert databases(pg_server, other) == []  # the other name is never touched
    if task == "db-create":
        assert databases(pg_server, want) == [want]
    elif task in ("db-reset", "dev-migrate-refresh", "migrate"):
        assert _has_a(pg_server, want)
    elif task == "migrate-status":
        assert rep.is_pending
    elif task == "db-drift":
        assert rep.changes  # the empty database lacks table a
    if task == "db-reset":
        assert not query(pg_server.with_db(want), "SELECT 1 FROM pg_tables WHERE tablename = 'old_marker'")


def test_local_target_resolves_like_a_server_target(world):
    s2, conf_db, _ = world
    assert s2.database_name("loc") == conf_db
    assert s2.database_name("loc", "x") == "x"
    assert s2.database_name("srv", "x") == "x"


def test_db_reset_of_the_maintenance_database_is_refused_and_leaves_nothing(world, pg_server):
    from dbstack import workflows

    s, conf_db, _ = world
    d = str(s.databases[conf_db].dirs[0])
    with pytest.raises(UsageError, match="maintenance database"):
        workflows.db_reset(s, db="postgres", dir=d, target="srv", force=True, out=lambda _l: None)
    assert databases(pg_server, "postgres\\_dbstack\\_%") == []
