"""Pieces of the local backends: data mount choice, compose reading, readiness, database helpers."""

from __future__ import annotations

import time

import pytest

from dbstack.compose import load_service
from dbstack.errors import BackendError, DatabaseError, UsageError
from dbstack.local.docker import data_mount
from dbstack.local.pgctl import free_port, port_free
from dbstack.local.readiness import _sqlstate, wait_ready
from dbstack.local.swap import swap_in
from dbstack.postgres import check_name, create_database, drop_database, exists, scratch_name
from dbstack.settings import ConnSpec

# Image configs as `docker image inspect` reports them (docker-library Dockerfiles).
PG18 = {"Env": ["PGDATA=/var/lib/postgresql/18/docker"], "Volumes": {"/var/lib/postgresql": {}}}
PG17 = {"Env": ["PGDATA=/var/lib/postgresql/data"], "Volumes": {"/var/lib/postgresql/data": {}}}


def test_the_volume_goes_where_the_image_keeps_its_data():
    assert data_mount(PG18, {}, "/var/lib/postgresql") == "/var/lib/postgresql"
    assert data_mount(PG17, {}, "/var/lib/postgresql") == "/var/lib/postgresql/data"
    # PGDATA set by the compose service wins over the image's.
    assert data_mount({"Volumes": {"/srv": {}, "/other": {}}}, {"PGDATA": "/srv/pg"}, "/x") == "/srv"
    # No declared volume: PGDATA's directory unless the compose mount already holds it.
    assert data_mount({"Env": ["PGDATA=/data/pg"]}, {}, "/data") == "/data"
    assert data_mount({"Env": ["PGDATA=/data/pg"]}, {}, "/elsewhere") == "/data/pg"
    assert data_mount({}, {}, "/var/lib/postgresql") == "/var/lib/postgresql"


def test_compose_service_names_settings_and_volumes(tmp_path):
    f = tmp_path / "docker-compose.yml"
    f.write_text("""
name: Demo.App
services:
  db:
    image: postgres:17
    command: postgres -c shared_buffers=64MB --work-mem=8MB -cmax_connections=20
    ports: ["127.0.0.1:6543:5432"]
    volumes: [data:/var/lib/postgresql/data]
volumes:
  data:
    name: custom-data
""")
    svc = load_service(f, "db")
    assert svc.project == "demoapp"
    assert svc.container_name == "demoapp-db-1"
    assert svc.server_settings() == ("shared_buffers=64MB", "work_mem=8MB", "max_connections=20")
    assert svc.data_volume() == ("data", "/var/lib/postgresql/data")
    assert svc.volume_name("data") == "custom-data"
    assert svc.volume_name("other") == "demoapp_other"
    assert svc.published_port(5432) == 6543


def test_database_names_are_checked_and_helper_names_fit():
    with pytest.raises(UsageError, match="empty"):
        check_name("")
    with pytest.raises(UsageError, match="longer than 63 bytes"):
        check_name("é" * 32)
    long = "x" * 63
    for tag in ("new", "old"):
        n = scratch_name(long, tag)
        assert len(n.encode()) <= 63 and n == scratch_name(long, tag)
    assert scratch_name("a" * 63, "new") != scratch_name("a" * 62 + "b", "new")


def test_not_ready_states_are_recognised_from_the_server_text():
    assert _sqlstate(Exception("connection failed: FATAL:  the database system is starting up")) == "57P03"
    assert _sqlstate(Exception('FATAL:  database "x" does not exist')) == "3D000"
    assert _sqlstate(Exception('FATAL:  password authentication failed for user "u"')) == "28P01"
    assert _sqlstate(Exception("connection refused")) is None


@pytest.mark.postgres
def test_readiness_returns_once_the_server_answers(pg_server):
    r = wait_ready(pg_server, timeout=10)
    assert r.attempts == 1 and r.elapsed < 10


@pytest.mark.postgres
def test_readiness_gives_up_at_once_on_a_wrong_password(pg_server):
    bad = ConnSpec(host=pg_server.host, port=pg_server.port, user=pg_server.user, password="wrong", dbname="postgres")
    with pytest.raises(DatabaseError, match="rejected the password"):
        wait_ready(bad, timeout=30)


def test_readiness_fails_fast_when_the_server_process_is_gone():
    dead = ConnSpec(host="127.0.0.1", port=free_port(), user="u", password="p", dbname="postgres")
    calls = []

    def alive():
        calls.append(1)
        return "the server process exited"

    t0 = time.monotonic()
    with pytest.raises(BackendError) as exc:
        wait_ready(dead, timeout=60, alive=alive, logs=lambda n: "FATAL:  something broke")
    assert calls and "stopped before accepting connections (the server process exited)" in exc.value.message
    assert "FATAL:  something broke" in exc.value.message
    assert time.monotonic() - t0 < 60  # it did not wait for the deadline


def test_readiness_stops_at_the_deadline_with_the_last_error():
    dead = ConnSpec(host="127.0.0.1", port=free_port(), user="u", password="p", dbname="postgres")
    with pytest.raises(BackendError) as exc:
        wait_ready(dead, timeout=0.3, logs=lambda n: "")
    assert "did not accept connections" in exc.value.message and "within 0.3s" in exc.value.message
    assert "ready_timeout" in exc.value.hint


def test_port_free_sees_listeners():
    import socket

    port = free_port()
    assert port_free(port)
    with socket.socket() as s:
        s.bind(("0.0.0.0", port))
        s.listen()
        assert not port_free(port)


@pytest.mark.postgres
def test_swap_in_replaces_the_database_or_creates_it(pg_server, query):
    name = 'swap "me" now'
    new = scratch_name(name, "new")
    try:
        create_database(pg_server, new)
        query(pg_server.with_db(new), "CREATE TABLE marker (v text)")
        swap_in(pg_server, new, name)  # nothing to replace yet
        assert exists(pg_server, name) and not exists(pg_server, new)
        create_database(pg_server, new)
        swap_in(pg_server, new, name)
        tables = query(pg_server.with_db(name), "SELECT count(*) FROM pg_tables WHERE tablename = 'marker'")
        assert tables[0][0] == 0  # the empty new one replaced the one with the table
        assert not exists(pg_server, scratch_name(name, "old"))
    finally:
        for n in (name, new, scratch_name(name, "old")):
            drop_database(pg_server, n)
