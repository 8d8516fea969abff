"""The Docker backend on the real engine, through `inv` in a throwaway project.

The compose file names `postgres:18` like the real project; no registry is
reachable here, so `dbstack.compose.image` points at the locally built
stand-in image (tests/docker/standin.py). The stand-in declares
VOLUME /var/lib/postgresql/data like images before PostgreSQL 18, while the
compose file mounts /var/lib/postgresql: the backend must follow the image.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid

import pytest
import yaml

pytestmark = pytest.mark.docker

MIGRATED = ["20240204000001", "20240204000002", "20240205000001", "20240205000002", "20240206000001"]
REVISIONS = "SELECT version FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version"


@pytest.fixture
def project(make_project, standin_image):
    p = make_project(image="postgres:18")
    p.write_config(compose={"image": standin_image}, backend="docker")
    return p


def _labelled(client, name):
    flt = {"label": f"com.docker.compose.project={name}"}
    return client.containers.list(all=True, filters=flt), client.volumes.list(filters=flt)


def test_reset_db_from_nothing_gives_labelled_container_named_volume_and_migrated_database(
    project, docker_client, query
):
    cp = project.run("reset-db", "--backend", "docker", check=True)
    assert "reset-db done" in cp.stdout

    ctr = docker_client.containers.get(project.container_name)
    assert ctr.status == "running"
    labels = ctr.labels
    assert labels["com.docker.compose.project"] == project.name
    assert labels["com.docker.compose.service"] == "postgres"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert labels["com.docker.compose.container-number"] == "1"
    assert labels["com.docker.compose.project.config_files"] == str(project.compose_file)
    bindings = ctr.attrs["HostConfig"]["PortBindings"]["5432/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(project.port)}]
    # Mounted where the image keeps its data, and nothing anonymous besides.
    mounts = ctr.attrs["Mounts"]
    assert [(m["Type"], m.get("Name"), m["Destination"]) for m in mounts] == [
        ("volume", project.volume_name, "/var/lib/postgresql/data")
    ]

    vol = docker_client.volumes.get(project.volume_name)
    assert vol.attrs["Labels"]["com.docker.compose.project"] == project.name
    assert vol.attrs["Labels"]["com.docker.compose.volume"] == "pgdata"

    db = project.server().with_db("mydatabase")
    assert [r[0] for r in query(db, REVISIONS)] == MIGRATED
    assert query(db, "SELECT count(*) FROM users")[0][0] == 2

    # A second run succeeds the same way and starts from scratch.
    query(db, "INSERT INTO users (email, display_name) VALUES ('x@example.com', 'X')")
    project.run("reset-db", "--backend", "docker", check=True)
    assert [r[0] for r in query(db, REVISIONS)] == MIGRATED
    assert query(db, "SELECT count(*) FROM users")[0][0] == 2
    containers, volumes = _labelled(docker_client, project.name)
    assert [c.name for c in containers] == [project.container_name]
    assert [v.name for v in volumes] == [project.volume_name]


def test_db_down_then_db_up_keeps_the_data(project, docker_client, query):
    project.run("reset-db", "--backend", "docker", check=True)
    db = project.server().with_db("mydatabase")
    query(db, "INSERT INTO users (email, display_name) VALUES ('kept@example.com', 'Kept')")
    first_id = docker_client.containers.get(project.container_name).id

    cp = project.run("db-down", "--backend", "docker", check=True)
    assert f"removed container {project.container_name}" in cp.stdout
    containers, volumes = _labelled(docker_client, project.name)
    assert containers == [] and [v.name for v in volumes] == [project.volume_name]

    project.run("db-up", "--backend", "docker", check=True)
    second = docker_client.containers.get(project.container_name)
    assert second.id != first_id  # a new container: the data came from the volume
    assert query(db, "SELECT count(*) FROM users WHERE email = 'kept@example.com'")[0][0] == 1

    project.run("db-up", "--backend", "docker", check=True)  # already up: nothing recreated
    assert docker_client.containers.get(project.container_name).id == second.id
    status = project.run("db-status", "--backend", "docker", check=True).stdout
    assert "running" in status and project.container_name in status

    # dbstack.local.port overrides the published port: the container is recreated, the data stays.
    from dbstack.local.pgctl import free_port

    port = free_port()
    cp = project.run("db-up", "--backend", "docker", env={"INVOKE_DBSTACK_LOCAL_PORT": str(port)}, check=True)
    assert "recreating container" in cp.stdout
    moved = docker_client.containers.get(project.container_name)
    assert moved.attrs["HostConfig"]["PortBindings"]["5432/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert (
        query(
            project.server(local={"port": port}).with_db("mydatabase"),
            "SELECT count(*) FROM users WHERE email = 'kept@example.com'",
        )[0][0]
        == 1
    )


def test_db_down_volumes_removes_only_this_projects_container_and_volume(project, docker_client, standin_image):
    other = f"dbstackforeign-{uuid.uuid4().hex[:8]}"
    foreign_labels = {
        "com.docker.compose.project": other,
        "com.docker.compose.service": "postgres",
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.container-number": "1",
    }
    foreign_vol = docker_client.volumes.create(
        name=f"{other}_pgdata", labels={"com.docker.compose.project": other, "com.docker.compose.volume": "pgdata"}
    )
    plain_vol = docker_client.volumes.create(name=f"{other}-unlabelled")
    foreign_ctr = docker_client.containers.run(
        standin_image,
        ["sleep", "300"],
        name=f"{other}-postgres-1",
        labels=foreign_labels,
        detach=True,
        volumes={foreign_vol.name: {"bind": "/data", "mode": "rw"}},
    )
    try:
        project.run("reset-db", "--backend", "docker", check=True)
        # The foreign container is stopped, so its volume is "unused": prune-style
        # cleanups (the original's `docker volume prune -af`) would delete it.
        foreign_ctr.stop(timeout=1)
        cp = project.run("db-down", "--backend", "docker", "--volumes", check=True)
        assert f"removed volume {project.volume_name}" in cp.stdout
        containers, volumes = _labelled(docker_client, project.name)
        assert containers == [] and volumes == []
        foreign_ctr.reload()
        assert foreign_ctr.status == "exited"
        assert docker_client.volumes.get(foreign_vol.name) and docker_client.volumes.get(plain_vol.name)
    finally:
        foreign_ctr.remove(force=True, v=True)  # v: the image's anonymous VOLUME
        foreign_vol.remove(force=True)
        plain_vol.remove(force=True)


def test_docker_compose_lists_the_container(project, docker_client, tmp_path):
    project.run("db-up", "--backend", "docker", check=True)
    ctr = docker_client.containers.get(project.container_name)
    compose = yaml.safe_load(project.compose_file.read_text())
    listed = []
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        cp = subprocess.run(
            ["docker", "compose", "-f", str(project.compose_file), "ps", "-q"],
            capture_output=True,
            text=True,
            cwd=project.root,
        )
        assert cp.returncode == 0, cp.stderr
        listed.append(("docker compose", cp.stdout))
    if shutil.which("docker-compose"):
        # Compose v1 rejects the top-level `name:`; it takes the project name from -p.
        compose.pop("name")
        v1 = tmp_path / "docker-compose.yml"
        v1.write_text(yaml.safe_dump(compose))
        cp = subprocess.run(
            ["docker-compose", "-p", project.name, "-f", str(v1), "ps", "-q"], capture_output=True, text=True
        )
        assert cp.returncode == 0, cp.stderr
        listed.append(("docker-compose", cp.stdout))
    if not listed:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    for tool, out in listed:
        assert ctr.id in out.split(), f"{tool} ps does not list {ctr.name}"


# --------------------------------------------------------------------------- bad input


def _error_lines(cp):
    return [line for line in cp.stderr.splitlines() if line.startswith("Error:")]


def test_missing_image_offline_is_one_clear_error_and_creates_nothing(project, docker_client):
    project.write_config(compose={"image": "dbstack-test-missing/postgres:0"})
    cp = project.run("reset-db", "--backend", "docker")
    assert cp.returncode == 1
    errors = _error_lines(cp)
    assert (
        len(errors) == 1
        and "dbstack-test-missing/postgres:0 is not present locally and could not be pulled" in errors[0]
    )
    assert "hint:" in cp.stderr and "Traceback" not in cp.stderr
    assert _labelled(docker_client, project.name) == ([], [])


def test_auto_falls_back_to_embedded_when_the_image_cannot_be_had(project, docker_client, query):
    project.write_config(compose={"image": "dbstack-test-missing/postgres:0"}, backend="auto")
    cp = project.run("reset-db", check=True)
    assert "Docker is not usable" in cp.stdout and "using the embedded PostgreSQL" in cp.stdout
    db = project.server().with_db("mydatabase")
    assert [r[0] for r in query(db, REVISIONS)] == MIGRATED
    assert (project.data_dir / "PG_VERSION").is_file()
    assert _labelled(docker_client, project.name) == ([], [])
    project.run("db-down", "--volumes", check=True)  # auto finds the embedded server again


def test_docker_daemon_down_is_one_clear_error(project):
    cp = project.run("db-up", "--backend", "docker", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert cp.returncode == 1
    errors = _error_lines(cp)
    assert len(errors) == 1 and "Docker engine at unix:///nonexistent/docker.sock does not answer" in errors[0]
    assert "--backend embedded" in cp.stderr and "Traceback" not in cp.stderr


def test_port_taken_is_one_clear_error_and_creates_nothing(project, docker_client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", project.port))
        s.listen()
        cp = project.run("reset-db", "--backend", "docker")
    assert cp.returncode == 1
    errors = _error_lines(cp)
    assert len(errors) == 1 and f"port 127.0.0.1:{project.port} is already in use" in errors[0]
    assert "dbstack.local.port" in cp.stderr
    assert _labelled(docker_client, project.name) == ([], [])


def test_wrong_password_is_one_clear_error_and_keeps_the_data(project, query):
    project.run("reset-db", "--backend", "docker", check=True)
    cp = project.run("db-up", "--backend", "docker", env={"INVOKE_DBSTACK_LOCAL_PASSWORD": "not-the-password"})
    assert cp.returncode == 1
    errors = _error_lines(cp)
    assert len(errors) == 1 and "rejected the password of user 'myuser'" in errors[0]
    assert "not-the-password" not in cp.stdout + cp.stderr
    project.run("db-up", "--backend", "docker", check=True)
    assert len(query(project.server().with_db("mydatabase"), REVISIONS)) == len(MIGRATED)


def test_a_server_that_exits_fails_fast_with_its_last_log_lines(project):
    compose = yaml.safe_load(project.compose_file.read_text())
    compose["services"]["postgres"]["command"] += ["-c", "no_such_setting=1"]
    project.compose_file.write_text(yaml.safe_dump(compose))
    cp = project.run("db-up", "--backend", "docker")
    assert cp.returncode == 1
    assert "exited with code" in cp.stderr
    assert 'unrecognized configuration parameter "no_such_setting"' in cp.stderr


def test_a_same_named_container_of_someone_else_is_left_alone(project, docker_client, standin_image):
    intruder = docker_client.containers.run(standin_image, ["sleep", "300"], name=project.container_name, detach=True)
    try:
        cp = project.run("db-up", "--backend", "docker")
        assert cp.returncode == 1
        assert f"a container named {project.container_name} exists but does not belong" in cp.stderr
        cp = project.run("db-down", "--backend", "docker", "--volumes", check=True)
        intruder.reload()
        assert intruder.status == "running"
    finally:
        intruder.remove(force=True, v=True)
