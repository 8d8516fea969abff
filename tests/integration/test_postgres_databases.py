"""dbstack.postgres on a real server: the one create/drop pair both callers (local workflows, scratch) use."""

from __future__ import annotations

import pytest

from dbstack.errors import DatabaseError, UsageError
from dbstack.postgres import create_database, drop_database, exists, scratch_name, server_version, session

pytestmark = pytest.mark.postgres


def test_create_and_drop_through_the_server_or_its_admin_database(pg_server, fresh_db):
    odd = 'Odd "name" with spaces'
    # fresh_db is not the admin database; admin_db connects to another one on the same server.
    assert create_database(fresh_db, odd, admin_db="postgres") is True
    assert create_database(pg_server, odd) is False  # exists: nothing to do
    assert exists(pg_server, odd)
    with session(pg_server.with_db(odd)):  # a session that drop must end
        assert drop_database(fresh_db, odd, admin_db="postgres") is True
    assert not exists(pg_server, odd)
    assert drop_database(pg_server, odd) is False  # gone: nothing to do


def test_the_database_connected_to_is_never_dropped(pg_server):
    name = scratch_name("dbstack_test")
    assert create_database(pg_server, name)
    try:
        with pytest.raises(UsageError, match="while connected to it"):
            drop_database(pg_server.with_db(name), name)
    finally:
        drop_database(pg_server, name)


def test_real_errors_reach_the_user(pg_server, query):
    role = "dbstack_pg_nocreate"
    query(pg_server, f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'")
    try:
        weak = pg_server.__class__(
            host=pg_server.host, port=pg_server.port, user=role, password=f"pw-{role}", dbname="postgres"
        )
        with pytest.raises(DatabaseError) as exc:
            create_database(weak, scratch_name("dbstack_test"))
        assert "permission denied to create database" in exc.value.message and "CREATEDB" in exc.value.hint
        with pytest.raises(DatabaseError) as exc:
            session(weak.with_db("no_such_db_here")).__enter__()
        assert exc.value.message.startswith("cannot connect to ") and exc.value.hint.startswith("create the database")
    finally:
        query(pg_server, f"DROP ROLE {role}")


def test_server_version(pg_server):
    assert server_version(pg_server) >= 130000  # DROP DATABASE ... WITH (FORCE) needs 13
