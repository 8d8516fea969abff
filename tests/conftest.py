"""Shared fixtures: paths, a throwaway PostgreSQL server, fresh databases."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from testpaths import ROOT


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for this test session: initdb + pg_ctl on a free 127.0.0.1 port."""
    from dbstack.local.pgctl import PgCtl, free_port
    from dbstack.settings import ConnSpec

    base = Path(tempfile.mkdtemp(prefix="dbstack-test-"))
    base.chmod(0o755)  # as root the server runs as `postgres`, which must reach it
    ctl = PgCtl(
        base / "data",
        port=free_port(),
        user="postgres",
        password=secrets.token_urlsafe(18),
        settings=("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200"),
    )
    ctl.init()
    ctl.start()
    ctl.set_password()
    try:
        yield ConnSpec(host="127.0.0.1", port=ctl.port, user="postgres", password=ctl.password, dbname="postgres")
    finally:
        ctl.remove()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def fresh_db(pg_server):
    """A new empty database on the session server (dropped afterwards); yields its ConnSpec."""
    import psycopg
    from psycopg import sql

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**pg_server.connect_kwargs(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_server.with_db(name)
    finally:
        with psycopg.connect(**pg_server.connect_kwargs(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
