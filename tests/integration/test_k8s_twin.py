"""`inv kind-cnpg-setup ENV` end to end on the cluster twin (tests/twin).

The setup is the library call the task makes (dbstack.k8s.deploy.setup) with
the twin behind the ClusterAPI interface: CNPG Clusters are real PostgreSQL
containers on a Docker network this test creates, reachable under Kubernetes
DNS names; the Atlas operator stand-in resolves and dials from a container
with namespace atlas-operator's search domains and applies with our engine;
kind and helm are the fake programs. Every test ends by reading the schema in
that environment's database through a port published on 127.0.0.1.
"""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from dbstack.errors import KubernetesError, Refused
from dbstack.k8s import deploy as deploymod
from dbstack.k8s.kind import up_steps
from dbstack.k8s.steps import run_steps
from dbstack.k8s.toolbox import Toolbox
from dbstack.settings import from_mapping

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
FAKEBIN = ROOT / "tests" / "data" / "k8s" / "fakebin"
VERSIONS = ["20240204000001", "20240204000002", "20240205000001", "20240205000002", "20240206000001"]
CNPG_MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata: {name: cnpg-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cnpg-controller-manager, namespace: cnpg-system}
spec: {replicas: 1}
"""
PROD_PASSWORD = "twin-prod-password-from-the-store"


class Project:
    """A throwaway copy of the project, fake kind/helm on PATH, the twin as the API."""

    def __init__(self, tmp: Path, twin) -> None:
        self.twin = twin
        self.root = tmp / "proj"
        (self.root / "manifests").mkdir(parents=True)
        for d in ("manifests/cnpg", "manifests/migrations", "kind"):
            shutil.copytree(ROOT / d, self.root / d, ignore=shutil.ignore_patterns("credentials.env"))
        cache = self.root / ".dbstack" / "cache" / "cnpg-1.30.0.yaml"
        cache.parent.mkdir(parents=True)
        cache.write_text(CNPG_MANIFEST)
        self.bin = tmp / "bin"
        self.bin.mkdir()
        for name in ("kind", "helm"):
            dst = self.bin / name
            dst.write_text(f"#!{sys.executable}\n" + (FAKEBIN / f"{name}.py").read_text())
            dst.chmod(0o755)
        self.env = {
            "PATH": str(self.bin),
            "KUBECONFIG": str(tmp / "kubeconfig"),
            "HOME": str(tmp),
            "FAKE_TOOLS_LOG": str(tmp / "tools.log"),
            "FAKE_KIND_STATE": str(tmp / "kind-clusters"),
        }
        self.out: list[str] = []

    def settings(self):
        return from_mapping({"k8s": {"ready_timeout": 240, "operator_timeout": 30}}, self.root)

    def box(self) -> Toolbox:
        return Toolbox(
            self.settings(),
            out=self.out.append,
            api_factory=lambda ctx: self.twin.api,
            environ=self.env,
            poll_interval=0.5,
        )

    def setup(self, env: str) -> None:
        deploymod.setup(self.box(), env)

    def deploy(self, env: str) -> None:
        deploymod.deploy(self.box(), env)

    def text(self) -> str:
        return "\n".join(self.out)

    def values(self, change) -> None:
        f = self.root / "manifests" / "cnpg" / "environments.yaml"
        d = yaml.safe_load(f.read_text())
        change(d)
        f.write_text(yaml.safe_dump(d, sort_keys=False))

    def add_migration(self, name: str, sql: str) -> None:
        from dbstack.migrations.directory import MigrationDir

        d = self.root / "manifests" / "migrations" / "mydatabase"
        (d / name).write_text(sql)
        MigrationDir(d).write_sum()

    # -- the environment's database, through the primary's published port ------------
    def query(self, env: str, sql: str, params=()):
        import psycopg

        ns, cluster = f"mydatabase-{env}", f"{env}-mydatabase-db"
        n = deploymod.load_environments(self.root / "manifests/cnpg/environments.yaml").names(env)
        sec = self.twin.api.get("v1", "Secret", n.credentials_secret, ns)
        user = base64.b64decode(sec["data"]["username"]).decode()
        password = base64.b64decode(sec["data"]["password"]).decode()
        with psycopg.connect(
            host="127.0.0.1",
            port=self.twin.cnpg.primary_port(ns, cluster),
            user=user,
            password=password,
            dbname="mydatabase",
            sslmode="require",
            autocommit=True,
        ) as c:
            cur = c.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def versions(self, env: str) -> list[str]:
        return [
            r[0]
            for r in self.query(
                env, "SELECT version FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version"
            )
        ]

    def migration(self, env: str) -> dict:
        return self.twin.api.get(
            "db.atlasgo.io/v1alpha1", "AtlasMigration", f"{env}-mydatabase-migration", f"mydatabase-{env}"
        )


@pytest.fixture
def make_twin(docker_client, standin_image):
    from twin.cluster import Twin

    made = []

    def make(**kw):
        t = Twin(docker_client, standin_image, **kw)
        made.append(t)
        return t

    yield make
    for t in made:
        errors = t.errors()
        t.close()
        assert not errors, errors


@pytest.fixture
def project(tmp_path, make_twin):
    return Project(tmp_path, make_twin())


def test_dev_setup_applies_the_schema_a_rerun_changes_nothing_a_new_migration_is_applied(project):
    project.setup("dev")
    assert project.versions("dev") == VERSIONS
    assert project.query("dev", "SELECT to_regclass('public.users') IS NOT NULL")[0][0]
    assert project.migration("dev")["status"]["lastAppliedVersion"] == VERSIONS[-1]
    text = project.text()
    assert "dev is ready: Cluster dev-mydatabase-db in namespace mydatabase-dev, migrations applied up to" in text
    # the operator really connected with the namespace-qualified host, from its own namespace
    attempts = project.twin.atlas.attempts
    assert ("mydatabase-dev/dev-mydatabase-migration", "applied", VERSIONS[-1]) in attempts

    # a rerun changes nothing: same objects, no new revision, no new reconcile of the migration
    executed = project.query("dev", "SELECT version, executed_at FROM atlas_schema_revisions.atlas_schema_revisions")
    n_attempts = len(attempts)
    project.setup("dev")
    assert (
        project.query("dev", "SELECT version, executed_at FROM atlas_schema_revisions.atlas_schema_revisions")
        == executed
    )
    assert len(project.twin.atlas.attempts) == n_attempts
    assert len(project.twin.cnpg.containers("mydatabase-dev", "dev-mydatabase-db")) == 1

    # a new migration reaches the database by redeploying (the ConfigMap changes, the operator reconciles)
    project.add_migration("20240301000001_add_audit.sql", "CREATE TABLE audit (id bigint PRIMARY KEY);\n")
    project.deploy("dev")
    assert project.versions("dev") == VERSIONS + ["20240301000001"]
    assert project.query("dev", "SELECT to_regclass('public.audit') IS NOT NULL")[0][0]
    assert project.migration("dev")["status"]["lastAppliedVersion"] == "20240301000001"


def test_staging_from_a_fresh_clone_and_an_instances_change_waits_for_the_real_roll(project):
    assert not list(project.root.rglob("credentials.env"))
    project.setup("staging")
    assert project.versions("staging") == VERSIONS
    assert len(project.twin.cnpg.containers("mydatabase-staging", "staging-mydatabase-db")) == 2
    cl = project.twin.api.get("postgresql.cnpg.io/v1", "Cluster", "staging-mydatabase-db", "mydatabase-staging")
    assert "observedGeneration" not in cl["status"]
    assert all("observedGeneration" not in c for c in cl["status"]["conditions"])

    project.values(lambda d: d["environments"]["staging"].update(instances=3))
    project.out.clear()
    project.deploy("staging")
    # deploy returned only after the third instance really booted
    instances = project.twin.cnpg.containers("mydatabase-staging", "staging-mydatabase-db")
    assert len(instances) == 3 and all(i.ready for i in instances)
    assert "phase 'Creating a new replica'" in project.text()
    assert "3/3 instances ready, Ready=True" in project.text()


def test_prod_with_a_fake_external_secrets_store(tmp_path, make_twin):
    twin = make_twin(
        eso=True, provider={"mydatabase-db-credentials": {"username": "mydatabase", "password": PROD_PASSWORD}}
    )
    twin.api.put(
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": "gcp-secret-manager"},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Valid"}]},
        }
    )
    p = Project(tmp_path, twin)
    p.values(lambda d: d["environments"]["prod"].update(instances=2))  # two cores: keep the roll short
    # prod refuses a new Kind cluster (it has no external-secrets): create it and "install" ESO first
    run_steps(up_steps(p.box()), dry_run=False, out=p.out.append)
    p.setup("prod")
    assert p.versions("prod") == VERSIONS
    sec = twin.api.get("v1", "Secret", "prod-mydatabase-db-credentials", "mydatabase-prod")
    assert base64.b64decode(sec["data"]["password"]).decode() == PROD_PASSWORD
    assert PROD_PASSWORD not in p.text()
    applied = twin.api.applied()
    for obj in (
        "ObjectStore mydatabase-prod/prod-mydatabase-backup",
        "ScheduledBackup mydatabase-prod/prod-mydatabase-db-backup",
        "PodMonitor mydatabase-prod/prod-mydatabase-db",
    ):
        assert obj in applied


def test_prod_on_a_new_kind_cluster_refuses_before_creating_it(tmp_path, make_twin):
    p = Project(tmp_path, make_twin(eso=True))
    with pytest.raises(Refused) as e:
        p.setup("prod")  # no Kind cluster yet: refused before kind create
    assert "nothing was created or installed" in e.value.message
    assert not (tmp_path / "kind-clusters").exists() or not (tmp_path / "kind-clusters").read_text().strip()
    assert p.twin.api.applied() == []


def _corrupt_sum(monkeypatch):
    real = deploymod.Deployment.build_in

    def build_in(self, root):
        objs = real(self, root)
        for o in objs:
            if o["kind"] == "ConfigMap":
                o["data"]["atlas.sum"] = o["data"]["atlas.sum"].replace("h1:", "h1:AAAA", 1)
        return objs

    monkeypatch.setattr(deploymod.Deployment, "build_in", build_in)


def test_a_bad_atlas_sum_fails_with_the_operators_message_only_after_it_persists(project, monkeypatch):
    _corrupt_sum(monkeypatch)
    with pytest.raises(KubernetesError) as e:
        project.setup("dev")
    msg = e.value.message
    assert msg.startswith("AtlasMigration dev-mydatabase-migration failed ")
    assert "reason Migrating" in msg and "checksum mismatch" in msg
    # failures while the database booted did not end the wait: the count when the Cluster was
    # ready is the baseline, and the report came two failed attempts later
    import re

    text = project.text()
    assert text.index("Cluster dev-mydatabase-db: phase 'Cluster in healthy state'") < text.index(
        "    AtlasMigration dev-mydatabase-migration:"
    )
    baseline = int(re.search(r"attempt (\d+); 0 failed since the database was ready", text)[1])
    assert int(re.search(r"failed (\d+) times", msg)[1]) >= baseline + 2
    assert project.query("dev", "SELECT to_regclass('atlas_schema_revisions.atlas_schema_revisions')")[0][0] is None


def _short_host(monkeypatch, host_of):
    real = deploymod.Deployment.build_in

    def build_in(self, root):
        objs = real(self, root)
        for o in objs:
            if o["kind"] == "AtlasMigration":
                o["spec"]["credentials"]["host"] = host_of(o["spec"]["credentials"]["host"])
        return objs

    monkeypatch.setattr(deploymod.Deployment, "build_in", build_in)
    monkeypatch.setattr(deploymod, "check_references", lambda *a, **kw: [])


def test_a_short_host_fails_exactly_as_on_a_real_cluster(project, monkeypatch):
    _short_host(monkeypatch, lambda h: h.split(".")[0])
    with pytest.raises(KubernetesError) as e:
        project.setup("dev")
    assert "lookup dev-mydatabase-db-rw" in e.value.message and "no such host" in e.value.message
    # ... while the same name resolves inside the Cluster's namespace: the database itself is up
    assert project.query("dev", "SELECT 1") == [(1,)]


@pytest.mark.parametrize("form", ["{svc}.{ns}", "{svc}.{ns}.svc.cluster.local"])
def test_every_qualified_form_resolves_from_the_operators_namespace(project, monkeypatch, form):
    _short_host(monkeypatch, lambda h: form.format(svc=h.split(".")[0], ns=h.split(".")[1]))
    project.setup("dev")
    assert project.versions("dev") == VERSIONS
