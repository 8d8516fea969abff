"""`migrate-cluster` end to end on a real PostgreSQL: credentials from the environment's
Secret (FakeClusterAPI), a port-forward started and stopped by us (a fake kubectl on
PATH that forwards to the test server, since no Kubernetes can run here), and the
engine applying our migrations through target `cluster`."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
from pathlib import Path

import psycopg
import pytest
import yaml

from dbstack.errors import KubernetesError
from dbstack.k8s import forward, programs
from dbstack.k8s.steps import run_steps
from dbstack.k8s.toolbox import Toolbox
from dbstack.local.pgctl import free_port, port_free
from dbstack.settings import from_mapping
from fake_cluster_api import FakeClusterAPI
from testpaths import require_tool

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
FAKEBIN = ROOT / "tests" / "data" / "k8s" / "fakebin"


@pytest.fixture
def setup(tmp_path, fresh_db, monkeypatch):
    # the fake kubectl must be the one found (not the pinned wheel's)
    monkeypatch.setattr(programs, "wheel_kubectl", lambda: None)
    root = tmp_path / "proj"
    shutil.copytree(ROOT / "manifests", root / "manifests", ignore=shutil.ignore_patterns("credentials.env"))
    shutil.copytree(ROOT / "kind", root / "kind")
    envfile = root / "manifests/cnpg/environments.yaml"
    values = yaml.safe_load(envfile.read_text())
    values["database"] = fresh_db.dbname  # the cluster's database is the test's fresh one
    envfile.write_text(yaml.safe_dump(values))
    binp = tmp_path / "bin"
    binp.mkdir()
    for name in ("kind", "kubectl"):
        (binp / name).write_text(f"#!{sys.executable}\n" + (FAKEBIN / f"{name}.py").read_text())
        (binp / name).chmod(0o755)
    (tmp_path / "kind-clusters").write_text("dbstack\n")
    kc = tmp_path / "kubeconfig"
    kc.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "kind-dbstack", "cluster": {"server": "https://127.0.0.1:40123"}}],
                "contexts": [{"name": "kind-dbstack", "context": {"cluster": "kind-dbstack"}}],
            }
        )
    )
    log = tmp_path / "tools.log"
    env = {
        "PATH": str(binp),
        "KUBECONFIG": str(kc),
        "HOME": str(tmp_path),
        "FAKE_TOOLS_LOG": str(log),
        "FAKE_KIND_STATE": str(tmp_path / "kind-clusters"),
        "FAKE_FORWARD_TARGET": f"127.0.0.1:{fresh_db.port}",
    }
    api = FakeClusterAPI()
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    api.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/basic-auth",
            "metadata": {"name": "staging-mydatabase-db-app", "namespace": "mydatabase-staging"},
            "data": {"username": b64(fresh_db.user), "password": b64(fresh_db.password)},
        }
    )
    settings = from_mapping(
        {"database": fresh_db.dbname, "databases": {fresh_db.dbname: {"dirs": ["manifests/migrations/mydatabase"]}}},
        root,
    )
    out: list[str] = []
    box = Toolbox(settings, out=out.append, api_factory=lambda ctx: api, environ=env)
    return box, out, log, env, fresh_db


def test_migrate_cluster_applies_through_the_forward_and_stops_it(setup):
    box, out, log, env, db = setup
    port = free_port()
    before = os.environ.get("PGPASSWORD")
    run_steps(forward.migrate_cluster_steps(box, "staging", port=port), dry_run=False, out=box.out)
    with psycopg.connect(**db.connect_kwargs()) as conn:
        versions = [
            r[0]
            for r in conn.execute("SELECT version FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version")
        ]
    assert versions == ["20240204000001", "20240204000002", "20240205000001", "20240205000002", "20240206000001"]
    text = "\n".join(out)
    assert "Migrating to version 20240206000001 (5 migrations in total)" in text
    assert f"postgres://{db.user}:****@127.0.0.1:{port}/{db.dbname}" in text
    assert db.password not in text
    calls = [json.loads(x) for x in log.read_text().splitlines()]
    pf = [c for c in calls if c[0] == "kubectl"]
    assert pf == [
        [
            "kubectl",
            "--context",
            "kind-dbstack",
            "--namespace",
            "mydatabase-staging",
            "port-forward",
            "service/staging-mydatabase-db-rw",
            f"{port}:5432",
            "--address",
            "127.0.0.1",
        ]
    ]
    assert db.password not in log.read_text()
    assert port_free(port)  # our forward is gone
    assert os.environ.get("PGPASSWORD") == before


def test_a_forward_that_cannot_start_is_one_message_and_nothing_is_applied(setup):
    box, out, log, env, db = setup
    del env["FAKE_FORWARD_TARGET"]  # the fake kubectl then fails like a pod that is not running
    with pytest.raises(KubernetesError, match="kubectl port-forward exited with 1: error: unable to forward port"):
        run_steps(forward.migrate_cluster_steps(box, "staging", port=free_port()), dry_run=False, out=box.out)
    with psycopg.connect(**db.connect_kwargs()) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'atlas_schema_revisions'"
        ).fetchone() == (0,)


def test_a_busy_port_is_refused(setup):
    import socket

    box, out, log, env, db = setup
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        with pytest.raises(KubernetesError, match=r"port \d+ on 127.0.0.1 is already in use"):
            run_steps(
                forward.migrate_cluster_steps(box, "staging", port=s.getsockname()[1]), dry_run=False, out=box.out
            )
    assert not [c for c in log.read_text().splitlines() if "port-forward" in c]


def test_the_secret_must_exist(setup):
    box, out, log, env, db = setup
    with pytest.raises(KubernetesError, match="secret mydatabase-dev/dev-mydatabase-db-app does not exist"):
        run_steps(forward.migrate_cluster_steps(box, "dev", port=free_port()), dry_run=False, out=box.out)


def test_cnpg_psql_hands_the_password_to_psql_only_in_its_environment(setup, capfd, tmp_path):
    psql = require_tool("psql", "postgresql-client")
    box, out, log, env, db = setup
    (tmp_path / "bin" / "psql").symlink_to(psql)
    env["PATH"] += os.pathsep + os.path.dirname(psql)  # Debian's psql wrapper finds the real client
    port = free_port()
    before = os.environ.get("PGPASSWORD")
    run_steps(
        forward.psql_steps(
            box, "staging", port=port, command="SELECT current_user || '@' || current_database() AS who"
        ),
        dry_run=False,
        out=box.out,
    )
    printed = capfd.readouterr().out
    assert f"{db.user}@{db.dbname}" in printed
    text = "\n".join(out)
    assert f"$ psql --host 127.0.0.1 --port {port} --username {db.user} --dbname {db.dbname} --command" in text
    assert db.password not in text and db.password not in log.read_text() and db.password not in printed
    assert os.environ.get("PGPASSWORD") == before
    assert port_free(port)  # the forward is stopped


def test_cnpg_psql_reports_a_failing_command(setup, tmp_path):
    psql = require_tool("psql", "postgresql-client")
    box, out, log, env, db = setup
    (tmp_path / "bin" / "psql").symlink_to(psql)
    env["PATH"] += os.pathsep + os.path.dirname(psql)
    with pytest.raises(KubernetesError, match="psql exited with 1"):
        run_steps(
            forward.psql_steps(box, "staging", port=free_port(), command="SELECT * FROM no_such_table"),
            dry_run=False,
            out=box.out,
        )
