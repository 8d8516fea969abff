"""`inv doctor`: one line per check, exit 1 only when the default workflow cannot work."""

from __future__ import annotations

import socket

import pytest

pytestmark = pytest.mark.postgres

DEAD_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def _line(out: str, name: str) -> str:
    found = [line for line in out.splitlines() if line[7:].startswith(name)]
    assert found, f"no {name!r} line in:\n{out}"
    return found[0]


def test_doctor_passes_with_one_working_backend_and_lists_every_check(make_project):
    p = make_project()
    cp = p.run("doctor", env=DEAD_DOCKER)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    for name in (
        "settings",
        "compose file",
        "docker engine",
        "postgresql binaries",
        "local server backend",
        "local port",
        "kubectl",
        "kind",
        "helm",
        "atlas",
        "migrations mydatabase",
    ):
        _line(cp.stdout, name)
    assert _line(cp.stdout, "docker engine").startswith("[warn]")
    assert _line(cp.stdout, "local server backend").startswith("[ ok ]")
    assert _line(cp.stdout, "migrations mydatabase").startswith("[ ok ]")


def test_doctor_fails_on_what_the_default_workflow_needs(make_project, tmp_path):
    p = make_project()
    # No server binaries anywhere: PATH below, and an empty bin_dir hides a server wheel too.
    p.write_config(embedded={"bin_dir": str(tmp_path)})
    edited = sorted(p.migrations.glob("*.sql"))[0]
    edited.write_text(edited.read_text() + "\n-- edited after hashing\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", p.port))
        s.listen()
        cp = p.run("doctor", env={**DEAD_DOCKER, "PATH": str(tmp_path)})
    assert cp.returncode == 1
    assert _line(cp.stdout, "migrations mydatabase").startswith("[FAIL]")
    assert _line(cp.stdout, "local port").startswith("[FAIL]")
    assert _line(cp.stdout, "local server backend").startswith("[FAIL]")
    assert _line(cp.stdout, "kind").startswith("[warn]")  # optional: never fails doctor
    errors = [line for line in cp.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "local server backend" in errors[0] and "local port" in errors[0] and "migrations mydatabase" in errors[0]
