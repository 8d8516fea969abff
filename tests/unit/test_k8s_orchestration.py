"""Cluster orchestration against FakeClusterAPI and fake kind/helm/kubectl executables.

No Kubernetes API server, Kind or Helm can run here (no registry, no images),
so: the API is fake_cluster_api.FakeClusterAPI (reactors play the CNPG and
Atlas controllers), and kind/helm are small fake programs on PATH
(tests/data/k8s/fakebin) that record their argv. `kubectl kustomize` is the
real (pinned) kubectl.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from dbstack.errors import ConfigError, KubernetesError, Refused, ToolMissing, UsageError
from dbstack.k8s import deploy as deploymod
from dbstack.k8s import kind as kindmod
from dbstack.k8s import operators, programs, status
from dbstack.k8s.steps import run_steps
from dbstack.k8s.toolbox import Toolbox
from dbstack.k8s.wait import Clock
from dbstack.settings import from_mapping
from fake_cluster_api import ESO_KINDS, PROD_KINDS, FakeClusterAPI

ROOT = Path(__file__).resolve().parents[2]

FAKEBIN = ROOT / "tests" / "data" / "k8s" / "fakebin"
ENVS = ("dev", "staging", "prod")
STAGING_PASSWORD = "s3cret-staging-pw-for-tests"


class FakeClock(Clock):
    def __init__(self) -> None:
        self.t = 0.0
        super().__init__(now=lambda: self.t, sleep=self._sleep)
        self.sleeps = 0

    def _sleep(self, d: float) -> None:
        self.sleeps += 1
        self.t += d


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class World:
    """A temp project + fake programs + fake API, and what they recorded."""

    def __init__(self, tmp: Path, *, kinds=None) -> None:
        self.root = tmp / "proj"
        (self.root / "manifests").mkdir(parents=True)
        shutil.copytree(
            ROOT / "manifests" / "cnpg",
            self.root / "manifests" / "cnpg",
            ignore=shutil.ignore_patterns("credentials.env"),
        )
        shutil.copytree(ROOT / "manifests" / "migrations", self.root / "manifests" / "migrations")
        shutil.copytree(ROOT / "kind", self.root / "kind")
        self.bin = tmp / "bin"
        self.bin.mkdir()
        for name in ("kind", "helm"):
            self.install(name)
        self.log = tmp / "tools.log"
        self.state = tmp / "kind-clusters"
        self.kubeconfig = tmp / "kubeconfig"
        self.env = {
            "PATH": str(self.bin),
            "KUBECONFIG": str(self.kubeconfig),
            "HOME": str(tmp),
            "FAKE_TOOLS_LOG": str(self.log),
            "FAKE_KIND_STATE": str(self.state),
        }
        self.api = FakeClusterAPI(kinds=kinds)
        self.contexts: list[str] = []
        self.out: list[str] = []
        self.clock = FakeClock()
        self.settings = from_mapping({}, self.root)

    def install(self, name: str) -> None:
        dst = self.bin / name
        dst.write_text(f"#!{sys.executable}\n" + (FAKEBIN / f"{name}.py").read_text())
        dst.chmod(0o755)

    def factory(self, context: str) -> FakeClusterAPI:
        self.contexts.append(context)
        return self.api

    def box(self) -> Toolbox:
        return Toolbox(
            self.settings,
            out=self.out.append,
            api_factory=self.factory,
            clock=self.clock,
            environ=self.env,
            poll_interval=1.0,
        )

    def cluster(self, *names: str, server: str = "https://127.0.0.1:40123") -> None:
        """Kind clusters that exist, with their kubeconfig contexts."""
        self.state.write_text("".join(n + "\n" for n in names))
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": f"kind-{n}", "cluster": {"server": server}} for n in names],
            "contexts": [
                {"name": f"kind-{n}", "context": {"cluster": f"kind-{n}", "user": f"kind-{n}"}} for n in names
            ],
            "users": [],
            "current-context": "some-production-cluster",
        }
        self.kubeconfig.write_text(yaml.safe_dump(cfg))

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def staging_from_file(self) -> World:
        """Switch staging to the secret-generator source (a hand-made env file), still supported."""
        f = self.root / "manifests" / "cnpg" / "environments.yaml"
        d = yaml.safe_load(f.read_text())
        d["environments"]["staging"]["credentials"] = {"source": "secret-generator", "env_file": "credentials.env"}
        f.write_text(yaml.safe_dump(d))
        return self

    def credentials(self, username: str = "mydatabase", password: str = STAGING_PASSWORD) -> None:
        p = self.root / "manifests" / "cnpg" / "overlays" / "staging" / "credentials.env"
        p.write_text(f"username={username}\npassword={password}\n")

    def text(self) -> str:
        return "\n".join(self.out)


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


# --------------------------------------------------------------------------- controllers


def cnpg_controller(after: int = 2):
    """Cluster status the way CNPG 1.30 writes it: no observedGeneration anywhere, Ready derived
    from the phase, one instance more per read until spec.instances are ready."""
    seen: dict[tuple, int] = {}
    generation: dict[tuple, int] = {}

    def react(api: FakeClusterAPI) -> None:
        for key, obj in list(api.objects.items()):
            if key[1] != "Cluster":
                continue
            seen[key] = seen.get(key, 0) + 1
            name, ns = obj["metadata"]["name"], obj["metadata"]["namespace"]
            gen = obj["metadata"]["generation"]
            if generation.setdefault(key, gen) != gen:
                generation[key] = gen  # the operator has not reconciled the new spec yet: status is stale
                continue
            if seen[key] < after:
                obj["status"] = {
                    "phase": "Setting up primary",
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "False",
                            "reason": "ClusterIsNotReady",
                            "message": "Cluster Is Not Ready",
                        }
                    ],
                }
                continue
            want = obj["spec"]["instances"]
            have = (obj.get("status") or {}).get("readyInstances", 0)
            n = have + 1 if have < want else want
            healthy = n == want
            obj["status"] = {
                "phase": "Cluster in healthy state" if healthy else "Creating a new replica",
                "instances": n,
                "readyInstances": n,
                "currentPrimary": f"{name}-1",
                "targetPrimary": f"{name}-1",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True" if healthy else "False",
                        "reason": "ClusterIsReady" if healthy else "ClusterIsNotReady",
                        "message": "Cluster is Ready" if healthy else "Cluster Is Not Ready",
                    }
                ],
            }
            for i in range(1, n + 1):
                api.put(
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {
                            "name": f"{name}-{i}",
                            "namespace": ns,
                            "labels": {
                                "cnpg.io/cluster": name,
                                "cnpg.io/podRole": "instance",
                                "cnpg.io/instanceRole": "primary" if i == 1 else "replica",
                            },
                        },
                        "status": {"phase": "Running", "containerStatuses": [{"ready": True, "restartCount": 0}]},
                    }
                )
            api.put(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{name}-1-initdb-abcde",
                        "namespace": ns,
                        "labels": {"cnpg.io/cluster": name, "cnpg.io/jobRole": "initdb"},
                    },
                    "status": {"phase": "Succeeded"},
                }
            )
            if not obj["spec"]["bootstrap"]["initdb"].get("secret"):
                api.put(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "type": "kubernetes.io/basic-auth",
                        "metadata": {"name": f"{name}-app", "namespace": ns},
                        "data": {
                            "username": base64.b64encode(b"mydatabase").decode(),
                            "password": base64.b64encode(b"generated-by-cnpg").decode(),
                        },
                    }
                )

    return react


def _fail(obj: dict, reason: str, message: str) -> None:
    """What the Atlas operator 0.7.37 writes on a failed attempt (SetNotReady + IncrementFailed)."""
    gen = obj["metadata"]["generation"]
    st = obj.setdefault("status", {})
    st["failed"] = st.get("failed", 0) + 1
    st["observedGeneration"] = gen
    st["conditions"] = [
        {"type": "Ready", "status": "False", "reason": reason, "message": message, "observedGeneration": gen},
        {"type": "Stalled", "status": "True", "reason": reason, "message": message, "observedGeneration": gen},
    ]


def atlas_controller(fail_with: tuple[str, str] | None = None):
    """Applies the ConfigMap's newest version (or fails with reason, message, counting attempts)."""

    def react(api: FakeClusterAPI) -> None:
        for key, obj in list(api.objects.items()):
            if key[1] != "AtlasMigration":
                continue
            ns = obj["metadata"]["namespace"]
            cm = api.stored("v1", "ConfigMap", obj["spec"]["dir"]["configMapRef"]["name"], ns)
            gen = obj["metadata"]["generation"]
            if fail_with:
                _fail(obj, *fail_with)
                continue
            versions = sorted(k.split("_", 1)[0] for k in (cm or {}).get("data", {}) if k.endswith(".sql"))
            obj["status"] = {
                "observedGeneration": gen,
                "lastAppliedVersion": versions[-1],
                "failed": 0,
                "conditions": [{"type": "Ready", "status": "True", "reason": "Applied", "observedGeneration": gen}],
            }

    return react


def deployment_controller(api: FakeClusterAPI) -> None:
    for key, obj in list(api.objects.items()):
        if key[1] == "Deployment":
            obj["status"] = {
                "replicas": 1,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "observedGeneration": obj["metadata"]["generation"],
                "conditions": [{"type": "Available", "status": "True"}],
            }


def operator_deployments(api: FakeClusterAPI) -> None:
    """What helm would have created (the fake helm changes nothing in the fake API)."""
    api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "atlas-operator"}})
    api.put(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "atlas-operator", "namespace": "atlas-operator"},
            "spec": {},
        }
    )


CNPG_MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: cnpg-controller-manager, namespace: cnpg-system}
spec: {replicas: 1}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: clusters.postgresql.cnpg.io}
spec: {group: postgresql.cnpg.io}
---
apiVersion: v1
kind: Namespace
metadata: {name: cnpg-system}
"""


def seed_cnpg_cache(w: World) -> None:
    p = w.root / ".dbstack" / "cache" / "cnpg-1.30.0.yaml"
    p.parent.mkdir(parents=True)
    p.write_text(CNPG_MANIFEST)


# --------------------------------------------------------------------------- kind


def test_kind_up_creates_only_on_exact_name_and_checks_the_context(world):
    world.cluster("dbstack-old", "my-dbstack")  # substrings of the name do not count
    box = world.box()
    run_steps(kindmod.up_steps(box), dry_run=False, out=box.out)
    assert world.calls() == [
        ["kind", "get", "clusters"],
        ["kind", "create", "cluster", "--name", "dbstack", "--config", "kind/cluster.yaml", "--wait", "120s"],
    ]
    # idempotent: a second run finds the exact line and creates nothing
    run_steps(kindmod.up_steps(world.box()), dry_run=False, out=world.out.append)
    assert [c for c in world.calls() if c[1] == "create"] == [world.calls()[1]]
    assert "points at the local Kind API server" in world.text()


def test_kind_down_deletes_only_a_cluster_dbstack_created(world):
    world.cluster("dbstack")
    with pytest.raises(Refused, match="not created by dbstack"):
        run_steps(kindmod.down_steps(world.box()), dry_run=False, out=world.out.append)
    assert not [c for c in world.calls() if c[1] == "delete"]
    world.api.put(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "dbstack-control-plane", "labels": {"dbstack.io/managed-by": "dbstack"}},
        }
    )
    run_steps(kindmod.down_steps(world.box()), dry_run=False, out=world.out.append)
    assert world.calls()[-1] == ["kind", "delete", "cluster", "--name", "dbstack"]
    assert world.contexts == ["kind-dbstack", "kind-dbstack"]


def test_kind_down_force_skips_the_ownership_check(world):
    world.cluster("dbstack")
    run_steps(kindmod.down_steps(world.box(), force=True), dry_run=False, out=world.out.append)
    assert world.calls()[-1] == ["kind", "delete", "cluster", "--name", "dbstack"]
    assert world.contexts == []


# --------------------------------------------------------------------------- operators


def test_cnpg_install_applies_the_pinned_manifest_server_side_and_waits(world):
    world.cluster("dbstack")
    seed_cnpg_cache(world)
    world.api.reactors.append(deployment_controller)
    box = world.box()
    run_steps(operators.cnpg_install_steps(box), dry_run=False, out=box.out)
    assert world.api.applied() == [
        "Namespace cnpg-system",
        "CustomResourceDefinition clusters.postgresql.cnpg.io",
        "Deployment cnpg-system/cnpg-controller-manager",
    ]
    assert {(c[2], c[3]) for c in world.api.calls if c[0] == "apply"} == {("dbstack", True)}
    assert world.contexts == ["kind-dbstack"]
    assert "Deployment cnpg-system/cnpg-controller-manager: 1/1 ready, Available=True" in world.text()


def test_cnpg_install_timeout_names_the_deployment_and_its_state(world):
    world.cluster("dbstack")
    seed_cnpg_cache(world)
    with pytest.raises(KubernetesError, match=r"cnpg-controller-manager not ready after 300s: .*Available=Unknown"):
        run_steps(operators.cnpg_install_steps(world.box()), dry_run=False, out=world.out.append)
    assert world.clock.t >= 300


def test_atlas_operator_install_is_helm_upgrade_install_pinned_to_the_kind_context(world):
    world.cluster("dbstack")
    operator_deployments(world.api)
    world.api.reactors.append(deployment_controller)
    run_steps(operators.atlas_install_steps(world.box()), dry_run=False, out=world.out.append)
    assert world.calls()[-1] == [
        "helm",
        "upgrade",
        "--install",
        "atlas-operator",
        "oci://ghcr.io/ariga/charts/atlas-operator",
        "--version",
        "0.7.37",
        "--namespace",
        "atlas-operator",
        "--create-namespace",
        "--kube-context",
        "kind-dbstack",
        "--wait",
        "--timeout",
        "300s",
    ]


def test_helm_failure_is_one_message(world):
    world.cluster("dbstack")
    world.env["FAKE_HELM_RC"] = "1"
    with pytest.raises(KubernetesError, match=r"helm upgrade --install .* failed \(exit 1\): Error: fake helm failure"):
        run_steps(operators.atlas_install_steps(world.box()), dry_run=False, out=world.out.append)


# --------------------------------------------------------------------------- deploy


def ready_world(world: World) -> World:
    world.cluster("dbstack")
    world.api.reactors += [cnpg_controller(), atlas_controller()]
    return world


def test_deploy_dev_applies_in_order_and_waits_for_both_ready_conditions(world):
    ready_world(world)
    before = snapshot(world.root)
    deploymod.deploy(world.box(), "dev")
    assert world.api.applied() == [
        "Namespace mydatabase-dev",
        "ConfigMap mydatabase-dev/dev-mydatabase-migrations",
        "Cluster mydatabase-dev/dev-mydatabase-db",
        "AtlasMigration mydatabase-dev/dev-mydatabase-migration",
    ]
    am = world.api.stored("db.atlasgo.io/v1alpha1", "AtlasMigration", "dev-mydatabase-migration", "mydatabase-dev")
    cred = am["spec"]["credentials"]
    assert cred["host"] == "dev-mydatabase-db-rw.mydatabase-dev.svc"
    assert cred["passwordFrom"]["secretKeyRef"] == {"name": "dev-mydatabase-db-app", "key": "password"}
    assert am["status"]["lastAppliedVersion"] == "20240206000001"
    text = world.text()
    assert "Cluster dev-mydatabase-db: phase 'Setting up primary'" in text
    assert (
        "dev is ready: Cluster dev-mydatabase-db in namespace mydatabase-dev, migrations applied up to 20240206000001"
    ) in text
    assert world.contexts == ["kind-dbstack"]
    assert snapshot(world.root) == before  # the committed render was already up to date


def test_deploy_staging_needs_nothing_made_by_hand(world):
    """A fresh clone: CNPG generates the password inside the cluster; no file, no Secret of ours."""
    ready_world(world)
    assert not list(world.root.rglob("credentials.env"))
    before = snapshot(world.root)
    deploymod.deploy(world.box(), "staging")
    assert world.api.applied() == [
        "Namespace mydatabase-staging",
        "ConfigMap mydatabase-staging/staging-mydatabase-migrations",
        "Cluster mydatabase-staging/staging-mydatabase-db",
        "AtlasMigration mydatabase-staging/staging-mydatabase-migration",
    ]
    cl = world.api.stored("postgresql.cnpg.io/v1", "Cluster", "staging-mydatabase-db", "mydatabase-staging")
    assert "secret" not in cl["spec"]["bootstrap"]["initdb"] and cl["spec"]["instances"] == 2
    am = world.api.stored(
        "db.atlasgo.io/v1alpha1", "AtlasMigration", "staging-mydatabase-migration", "mydatabase-staging"
    )
    cred = am["spec"]["credentials"]
    assert cred["host"] == "staging-mydatabase-db-rw.mydatabase-staging.svc" and cred["port"] == 5432
    assert cred["passwordFrom"]["secretKeyRef"] == {"name": "staging-mydatabase-db-app", "key": "password"}
    assert "generated-by-cnpg" not in world.text()
    assert snapshot(world.root) == before


def test_deploy_from_a_credentials_file_needs_the_file_and_changes_nothing_without_it(world):
    ready_world(world).staging_from_file()
    before = snapshot(world.root)
    with pytest.raises(ConfigError) as e:
        deploymod.deploy(world.box(), "staging")
    assert "overlays/staging/credentials.env is missing" in e.value.message
    assert "secrets.token_urlsafe" in e.value.hint and "username=mydatabase" in e.value.hint
    assert world.calls() == [] and world.api.calls == [] and snapshot(world.root) == before


@pytest.mark.parametrize(
    "content, message",
    [
        ("username=someoneelse\npassword=x\n", "has username 'someoneelse', but the database owner is 'mydatabase'"),
        ("username=mydatabase\n", "has no password"),
        ("username=mydatabase\npassword=x\nextra=1\n", "unexpected keys extra"),
    ],
)
def test_deploy_staging_rejects_bad_credentials_without_echoing_them(world, content, message):
    ready_world(world).staging_from_file()
    (world.root / "manifests/cnpg/overlays/staging/credentials.env").write_text(content)
    with pytest.raises(ConfigError) as e:
        deploymod.deploy(world.box(), "staging")
    assert message in e.value.message
    assert "password=x" not in e.value.render()
    assert world.api.calls == []


def test_deploy_from_a_credentials_file_uses_the_generated_secret_for_cluster_and_migration(world):
    ready_world(world).staging_from_file()
    world.credentials()
    deploymod.deploy(world.box(), "staging")
    assert world.api.applied()[:2] == [
        "Namespace mydatabase-staging",
        "Secret mydatabase-staging/staging-mydatabase-db-credentials",
    ]
    cl = world.api.stored("postgresql.cnpg.io/v1", "Cluster", "staging-mydatabase-db", "mydatabase-staging")
    assert cl["spec"]["bootstrap"]["initdb"]["secret"] == {"name": "staging-mydatabase-db-credentials"}
    assert cl["spec"]["instances"] == 2
    am = world.api.stored(
        "db.atlasgo.io/v1alpha1", "AtlasMigration", "staging-mydatabase-migration", "mydatabase-staging"
    )
    cred = am["spec"]["credentials"]
    assert cred["host"] == "staging-mydatabase-db-rw.mydatabase-staging.svc" and cred["port"] == 5432
    assert cred["passwordFrom"]["secretKeyRef"] == {"name": "staging-mydatabase-db-credentials", "key": "password"}
    assert STAGING_PASSWORD not in world.text()


# prod's prerequisites: external-secrets (and its stores), the barman-cloud plugin, the Prometheus operator
ESO_ALL = (
    ESO_KINDS
    | PROD_KINDS
    | {("external-secrets.io/v1", "ClusterSecretStore"), ("external-secrets.io/v1", "SecretStore")}
)


def secret_store(api: FakeClusterAPI, ready: str | None = "True") -> None:
    api.put(
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": "gcp-secret-manager"},
            "spec": {},
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": ready,
                        "reason": "InvalidProviderConfig",
                        "message": "unable to validate store",
                    }
                ]
            }
            if ready
            else {},
        }
    )


def test_deploy_prod_refuses_when_external_secrets_is_not_installed(world):
    world.cluster("dbstack")
    with pytest.raises(KubernetesError) as e:
        deploymod.deploy(world.box(), "prod")
    assert "does not serve ExternalSecret (external-secrets.io/v1)" in e.value.message
    assert "nothing was applied" in e.value.message and "external-secrets" in e.value.hint
    assert world.api.applied() == []


@pytest.mark.parametrize(
    "store, message",
    [
        (None, "ClusterSecretStore gcp-secret-manager does not exist"),
        (
            "False",
            "ClusterSecretStore gcp-secret-manager is not ready: InvalidProviderConfig: unable to validate store",
        ),
    ],
)
def test_deploy_prod_refuses_a_missing_or_failing_store_instead_of_timing_out(tmp_path, store, message):
    w = ready_world(World(tmp_path, kinds=FakeClusterAPI().kinds | ESO_ALL))
    if store:
        secret_store(w.api, store)
    with pytest.raises(KubernetesError) as e:
        deploymod.deploy(w.box(), "prod")
    assert message in e.value.message and "nothing was applied" in e.value.message
    assert w.api.applied() == [] and w.clock.t == 0


def test_deploy_prod_with_external_secrets(tmp_path):
    w = ready_world(World(tmp_path, kinds=FakeClusterAPI().kinds | ESO_ALL))
    secret_store(w.api)
    deploymod.deploy(w.box(), "prod")
    assert "ExternalSecret mydatabase-prod/prod-mydatabase-db-credentials" in w.api.applied()
    cl = w.api.stored("postgresql.cnpg.io/v1", "Cluster", "prod-mydatabase-db", "mydatabase-prod")
    assert cl["spec"]["bootstrap"]["initdb"]["secret"]["name"] == "prod-mydatabase-db-credentials"
    am = w.api.stored("db.atlasgo.io/v1alpha1", "AtlasMigration", "prod-mydatabase-migration", "mydatabase-prod")
    assert am["spec"]["credentials"]["host"] == "prod-mydatabase-db-rw.mydatabase-prod.svc"


@pytest.mark.parametrize(
    "missing, message",
    [
        (
            ("barmancloud.cnpg.io/v1", "ObjectStore"),
            "does not serve ObjectStore (barmancloud.cnpg.io/v1): prod needs the barman-cloud plugin",
        ),
        (
            ("monitoring.coreos.com/v1", "PodMonitor"),
            "does not serve PodMonitor (monitoring.coreos.com/v1): prod needs the Prometheus operator",
        ),
    ],
)
def test_prod_refuses_without_the_backup_plugin_or_the_prometheus_operator(tmp_path, missing, message):
    w = ready_world(World(tmp_path, kinds=(FakeClusterAPI().kinds | ESO_ALL) - {missing}))
    secret_store(w.api)
    with pytest.raises(KubernetesError) as e:
        deploymod.setup(w.box(), "prod")
    assert message in e.value.message and "nothing was applied" in e.value.message
    assert not [c for c in w.calls() if c[0] == "helm" and c[1] != "version"] and w.api.applied() == []


def test_deploy_prod_applies_backups_monitoring_and_waits(tmp_path):
    w = ready_world(World(tmp_path, kinds=FakeClusterAPI().kinds | ESO_ALL))
    secret_store(w.api)
    deploymod.deploy(w.box(), "prod")
    applied = w.api.applied()
    assert (
        applied.index("ObjectStore mydatabase-prod/prod-mydatabase-backup")
        < applied.index("Cluster mydatabase-prod/prod-mydatabase-db")
        < applied.index("ScheduledBackup mydatabase-prod/prod-mydatabase-db-backup")
    )
    assert "PodMonitor mydatabase-prod/prod-mydatabase-db" in applied


def test_setup_prod_on_a_new_kind_cluster_refuses_before_creating_anything(world):
    world.state.write_text("")
    before = snapshot(world.root)
    with pytest.raises(Refused) as e:
        deploymod.setup(world.box(), "prod")
    assert "external-secrets operator (ClusterSecretStore gcp-secret-manager)" in e.value.message
    assert "nothing was created or installed" in e.value.message and "inv kind-up" in e.value.hint
    assert [c for c in world.calls() if c[1] != "version"] == [["kind", "get", "clusters"]]
    assert world.api.calls == [] and snapshot(world.root) == before


@pytest.mark.parametrize(
    "kinds, store, message",
    [
        (None, False, "does not serve ExternalSecret"),
        (ESO_ALL, False, "ClusterSecretStore gcp-secret-manager does not exist"),
    ],
)
def test_setup_prod_refuses_before_installing_operators(tmp_path, kinds, store, message):
    w = World(tmp_path, kinds=(FakeClusterAPI().kinds | kinds) if kinds else None)
    w.cluster("dbstack")
    if store:
        secret_store(w.api)
    with pytest.raises(KubernetesError, match=message):
        deploymod.setup(w.box(), "prod")
    assert not [c for c in w.calls() if c[0] == "helm" and c[1] != "version"]
    assert not [c for c in w.calls() if c[:2] == ["kind", "create"]]
    assert w.api.applied() == []


def test_a_stale_failure_from_before_the_database_was_ready_is_not_reported(world):
    """Applied together, the Cluster boots while the operator fails and backs off; the next attempt works."""
    world.cluster("dbstack")
    state = {"reads": 0}

    def operator(api):
        for key, obj in api.objects.items():
            if key[1] != "AtlasMigration":
                continue
            state["reads"] += 1
            cluster_up = (
                api.stored("postgresql.cnpg.io/v1", "Cluster", "dev-mydatabase-db", "mydatabase-dev") or {}
            ).get("status", {}).get("phase") == "Cluster in healthy state"
            if not cluster_up or state["reads"] < 8:
                if state["reads"] % 2:  # one failed attempt every other read, as with backoff
                    _fail(obj, "Migrating", "dial tcp 10.96.0.12:5432: connect: connection refused")
                continue
            gen = obj["metadata"]["generation"]
            obj["status"] = {
                "observedGeneration": gen,
                "lastAppliedVersion": "20240206000001",
                "failed": 0,
                "conditions": [{"type": "Ready", "status": "True", "reason": "Applied", "observedGeneration": gen}],
            }

    world.api.reactors += [cnpg_controller(after=4), operator]
    deploymod.deploy(world.box(), "dev")
    assert "dev is ready" in world.text()
    assert "connection refused" in world.text()  # it was seen, and not taken for the final answer


def atlas_controller_after(n_reads: int):
    """The operator's next attempt (after its backoff) succeeds: stale status for n_reads reads."""
    reads = {"n": 0}
    ok = atlas_controller()

    def react(api):
        reads["n"] += 1
        if reads["n"] > n_reads:
            ok(api)

    return react


def test_a_failure_before_our_apply_is_not_reported_on_redeploy(world):
    """A redeploy after a fix: the object still says Stalled, failed=7 from the last run."""
    world.cluster("dbstack")
    world.api.reactors.append(cnpg_controller(after=1))
    world.api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mydatabase-dev"}})
    old = {
        "apiVersion": "db.atlasgo.io/v1alpha1",
        "kind": "AtlasMigration",
        "metadata": {"name": "dev-mydatabase-migration", "namespace": "mydatabase-dev", "generation": 1},
        "spec": {"dir": {"configMapRef": {"name": "dev-mydatabase-migrations"}}},
    }
    for _ in range(7):
        _fail(old, "Migrating", "checksum mismatch")
    world.api.put(old)
    world.api.reactors.append(atlas_controller_after(6))
    deploymod.deploy(world.box(), "dev")
    assert "Ready=False reason Migrating: checksum mismatch" in world.text()
    assert "dev is ready" in world.text()


def test_deploy_reports_a_persistent_failure_with_the_operators_message(world):
    world.cluster("dbstack")
    world.api.reactors += [cnpg_controller(), atlas_controller(("Migrating", "checksum mismatch"))]
    with pytest.raises(KubernetesError) as e:
        deploymod.deploy(world.box(), "dev")
    msg = e.value.message
    assert msg.startswith("AtlasMigration dev-mydatabase-migration failed ")
    assert msg.endswith("times: reason Migrating: checksum mismatch")
    # reported only after two more attempts failed once the database was ready (the first poll is the baseline)
    assert "1 failed since the database was ready" in world.text()


def test_deploy_reports_at_once_when_the_operator_gave_up(world):
    """backoffLimit exceeded: the operator stops retrying, waiting would only time out."""
    world.cluster("dbstack")
    f = world.root / "manifests" / "cnpg" / "environments.yaml"
    d = yaml.safe_load(f.read_text())
    d["environments"]["dev"]["migration"] = {"backoff_limit": 1}
    f.write_text(yaml.safe_dump(d))
    world.api.reactors += [cnpg_controller(), atlas_controller(("Migrating", "checksum mismatch"))]
    with pytest.raises(KubernetesError, match=r"backoffLimit 1 exceeded: the operator stopped retrying"):
        deploymod.deploy(world.box(), "dev")


def test_an_instances_change_waits_for_the_new_instances(world):
    """CNPG 1.30's Ready has no observedGeneration: the old Ready=True must not end the wait."""
    ready_world(world)
    deploymod.deploy(world.box(), "staging")
    f = world.root / "manifests" / "cnpg" / "environments.yaml"
    d = yaml.safe_load(f.read_text())
    d["environments"]["staging"]["instances"] = 4
    f.write_text(yaml.safe_dump(d))
    world.out.clear()
    deploymod.deploy(world.box(), "staging")
    text = world.text()
    assert "2/4 instances ready, Ready=True reason ClusterIsReady" in text  # the stale Ready, seen and not taken
    assert "4/4 instances ready, Ready=True" in text
    cl = world.api.stored("postgresql.cnpg.io/v1", "Cluster", "staging-mydatabase-db", "mydatabase-staging")
    assert cl["status"]["readyInstances"] == 4


def test_deploy_times_out_with_the_clusters_phase_reason_and_message(world):
    world.cluster("dbstack")
    world.api.reactors.append(cnpg_controller(after=10**9))
    with pytest.raises(KubernetesError) as e:
        deploymod.deploy(world.box(), "dev")
    assert (
        "Cluster dev-mydatabase-db not ready after 900s: phase 'Setting up primary', 0/1 instances ready, "
        "Ready=False reason ClusterIsNotReady: Cluster Is Not Ready"
    ) in e.value.message
    assert "cnpg-status --env dev" in e.value.hint


def test_deploy_fails_fast_on_a_cnpg_error_phase(world):
    world.cluster("dbstack")

    def broken(api):
        for key, obj in api.objects.items():
            if key[1] == "Cluster":
                obj["status"] = {"phase": "Invalid cluster definition", "phaseReason": "bad imageName"}

    world.api.reactors.append(broken)
    with pytest.raises(KubernetesError, match="phase 'Invalid cluster definition': bad imageName"):
        deploymod.deploy(world.box(), "dev")
    assert world.clock.t == 0


def test_deploy_waits_for_the_new_version_not_a_stale_ready(world):
    """After a ConfigMap change Ready can still be True from the last run."""
    world.cluster("dbstack")
    polls = {"n": 0}

    def stale_then_new(api):
        for key, obj in api.objects.items():
            if key[1] != "AtlasMigration":
                continue
            polls["n"] += 1
            version = "20240205000002" if polls["n"] < 4 else "20240206000001"
            obj["status"] = {
                "observedGeneration": obj["metadata"]["generation"],
                "lastAppliedVersion": version,
                "conditions": [{"type": "Ready", "status": "True", "reason": "Applied"}],
            }

    world.api.reactors += [cnpg_controller(after=1), stale_then_new]
    deploymod.deploy(world.box(), "dev")
    assert "last applied version 20240205000002 (waiting for 20240206000001)" in world.text()
    assert "last applied version 20240206000001" in world.text()


def test_a_kind_context_that_points_elsewhere_is_refused_before_anything(world):
    world.cluster("dbstack", server="https://10.20.30.40:6443")
    before = snapshot(world.root)
    for run in (
        lambda b: deploymod.deploy(b, "dev"),
        lambda b: run_steps(operators.atlas_install_steps(b), dry_run=False, out=b.out),
        lambda b: run_steps(status.status_steps(b, "dev"), dry_run=False, out=b.out),
    ):
        with pytest.raises(KubernetesError) as e:
            run(world.box())
        assert "refusing to use kube context kind-dbstack" in e.value.message
        assert "https://10.20.30.40:6443" in e.value.message
    assert world.contexts == [] and world.api.calls == []
    assert [c for c in world.calls() if c[0] != "kind" or c[1:] != ["get", "clusters"]] == []
    assert snapshot(world.root) == before


def test_a_missing_kind_context_is_one_message(world):
    world.cluster("other")
    world.state.write_text("dbstack\n")  # kind knows it, the kubeconfig does not
    with pytest.raises(KubernetesError, match="kube context kind-dbstack is not in the kubeconfig"):
        deploymod.deploy(world.box(), "dev")


def test_a_missing_cluster_says_to_create_it(world):
    world.cluster("dbstack-old")
    with pytest.raises(KubernetesError) as e:
        deploymod.deploy(world.box(), "dev")
    assert "Kind cluster 'dbstack' does not exist" in e.value.message and "inv kind-up" in e.value.hint


@pytest.mark.parametrize("missing", ["kind", "helm"])
def test_missing_kind_or_helm_is_one_message_and_no_change(world, missing):
    world.cluster("dbstack")
    (world.bin / missing).unlink()
    before = snapshot(world.root)
    with pytest.raises(ToolMissing) as e:
        deploymod.setup(world.box(), "dev")
    assert f"`{missing}` is not installed" in e.value.message and e.value.hint
    assert world.calls() == [] and world.api.calls == [] and snapshot(world.root) == before


def test_missing_kubectl_is_one_message_and_no_change(world, monkeypatch):
    monkeypatch.setattr(programs, "wheel_kubectl", lambda: None)
    world.cluster("dbstack")
    before = snapshot(world.root)
    for dry in (True, False):
        with pytest.raises(ToolMissing, match="`kubectl` is not installed"):
            deploymod.deploy(world.box(), "dev", dry_run=dry)
    assert world.calls() == [] and world.api.calls == [] and snapshot(world.root) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda b: deploymod.deploy(b, "qa"),
        lambda b: deploymod.setup(b, "qa", dry_run=True),
        lambda b: status.status_steps(b, "qa"),
        lambda b: status.logs_steps(b, "qa"),
    ],
)
def test_unknown_environment_is_one_message(world, call):
    world.cluster("dbstack")
    with pytest.raises(UsageError, match=r"unknown environment 'qa' \(known: dev, staging, prod\)"):
        call(world.box())
    assert world.calls() == [] and world.api.calls == []


def test_setup_is_idempotent(world):
    world.state.write_text("")
    seed_cnpg_cache(world)
    operator_deployments(world.api)
    world.api.reactors += [deployment_controller, cnpg_controller(), atlas_controller()]
    deploymod.setup(world.box(), "dev")
    first = world.api.applied()
    deploymod.setup(world.box(), "dev")
    creates = [c for c in world.calls() if c[:2] == ["kind", "create"]]
    assert len(creates) == 1
    assert len([c for c in world.calls() if c[:3] == ["helm", "upgrade", "--install"]]) == 2
    assert world.api.applied() == first + first
    assert world.text().count("dev is ready") == 2
    assert "==> [1/11] check kind, helm, kubectl versions" in world.text()
    assert "tools: kind v0.32.0, helm v3.19.0, kubectl v1." in world.text()
    assert "==> [2/11] Kind cluster dbstack (context kind-dbstack)" in world.text()


@pytest.mark.parametrize(
    "tool, env, value, message",
    [
        (
            "kind",
            "FAKE_KIND_VERSION",
            "kind v0.20.0 go1.20 linux/amd64",
            "`kind` is version 0.20.0 (BIN/kind); dbstack needs 0.32.0 or newer: kind/cluster.yaml pins",
        ),
        (
            "helm",
            "FAKE_HELM_VERSION",
            "v3.7.2+g663a896",
            "`helm` is version 3.7.2 (BIN/helm); dbstack needs 3.8.0 or newer: "
            "the Atlas operator chart is an OCI chart",
        ),
        ("helm", "FAKE_HELM_VERSION", "garbage", "cannot tell the version of `helm`"),
    ],
)
def test_old_tools_are_refused_before_any_change(world, tool, env, value, message):
    world.state.write_text("")
    world.env[env] = value
    before = snapshot(world.root)
    with pytest.raises(ToolMissing) as e:
        deploymod.setup(world.box(), "dev")
    assert message.replace("BIN", str(world.bin)) in e.value.message
    assert [c for c in world.calls() if c[1] != "version"] == []
    assert world.api.calls == [] and snapshot(world.root) == before


def test_helm_4_is_accepted():
    from dbstack.k8s.programs import parse_version, version_problem

    assert version_problem("helm", parse_version("helm", "v4.0.1+g1234")) == ""
    assert parse_version("kubectl", '{"clientVersion": {"gitVersion": "v1.36.2"}}') == (1, 36, 2)
    assert "needs 1.35.0 or newer" in version_problem("kubectl", (1, 33, 0))


# --------------------------------------------------------------------------- dry runs

OTHER_NAMES = {
    env: [f"mydatabase-{e}" for e in ENVS if e != env]
    + [f"{e}-mydatabase" for e in ENVS if e != env]
    + [f"overlays/{e}" for e in ENVS if e != env]
    for env in ENVS
}


@pytest.mark.parametrize("env", ENVS)
def test_dry_run_plan_has_exactly_this_environments_names_and_touches_nothing(world, env):
    world.cluster("dbstack")
    before = snapshot(world.root)
    deploymod.setup(world.box(), env, dry_run=True)
    text = world.text()
    assert text.startswith("Dry run: nothing is changed")
    for name in (
        f"Namespace mydatabase-{env}",
        f"Cluster mydatabase-{env}/{env}-mydatabase-db",
        f"AtlasMigration mydatabase-{env}/{env}-mydatabase-migration",
        f"ConfigMap mydatabase-{env}/{env}-mydatabase-migrations",
        f"$ kubectl kustomize manifests/cnpg/overlays/{env}",
        "--kube-context kind-dbstack",
        "kind create cluster --name dbstack",
        f"connects to {env}-mydatabase-db-rw.mydatabase-{env}.svc:5432",
        "$ kind version  (needs kind >= 0.32.0",
        "$ helm version --short  (needs helm >= 3.8.0",
        "$ kubectl version --client -o json  (needs kubectl >= 1.35.0",
    ):
        assert name in text
    for other in OTHER_NAMES[env]:
        assert other not in text, other
    assert world.calls() == [] and world.api.calls == [] and world.contexts == []
    assert snapshot(world.root) == before


def test_dry_run_staging_without_credentials_still_plans_and_says_what_is_missing(world):
    world.staging_from_file()
    deploymod.deploy(world.box(), "staging", dry_run=True)
    text = world.text()
    assert "Secret mydatabase-staging/staging-mydatabase-db-credentials" in text
    assert "credentials.env is missing" in text and "a real deploy refuses" in text
    assert "placeholder" not in text.lower()


def test_dry_run_of_every_cluster_task_calls_nothing(world):
    world.cluster("dbstack")
    from dbstack.k8s import forward

    box = world.box()
    plans = (
        kindmod.up_steps(box)
        + kindmod.down_steps(box)
        + operators.cnpg_install_steps(box)
        + operators.atlas_install_steps(box)
        + status.status_steps(box, "staging")
        + status.logs_steps(box, "staging")
        + forward.port_forward_steps(box, "staging")
        + forward.migrate_cluster_steps(box, "staging")
    )
    run_steps(plans, dry_run=True, out=box.out)
    text = world.text()
    assert (
        "$ kubectl --context kind-dbstack --namespace mydatabase-staging port-forward "
        "service/staging-mydatabase-db-rw 5433:5432 --address 127.0.0.1"
    ) in text
    assert "list pods -n mydatabase-staging -l cnpg.io/cluster=staging-mydatabase-db,cnpg.io/podRole=instance" in text
    assert "$ kind delete cluster --name dbstack" in text
    assert world.calls() == [] and world.api.calls == []


# --------------------------------------------------------------------------- status, logs


def test_status_shows_phase_instances_instance_pods_only_and_migration(world):
    ready_world(world)
    deploymod.deploy(world.box(), "dev")
    world.api.put(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "staging-mydatabase-db-1",
                "namespace": "mydatabase-staging",
                "labels": {"cnpg.io/cluster": "staging-mydatabase-db", "cnpg.io/podRole": "instance"},
            },
        }
    )
    world.out.clear()
    run_steps(status.status_steps(world.box(), "dev"), dry_run=False, out=world.out.append)
    text = world.text()
    assert (
        "Cluster mydatabase-dev/dev-mydatabase-db: phase 'Cluster in healthy state', instances 1/1 ready, "
        "primary dev-mydatabase-db-1, Ready=True (ClusterIsReady)"
    ) in text
    assert "Pods (cnpg.io/cluster=dev-mydatabase-db,cnpg.io/podRole=instance): 1" in text
    assert "  dev-mydatabase-db-1  primary  Running  ready 1/1  restarts 0" in text
    assert "initdb" not in text and "staging-mydatabase-db-1" not in text
    assert (
        "AtlasMigration mydatabase-dev/dev-mydatabase-migration: Ready=True (Applied), "
        "last applied version 20240206000001"
    ) in text


def test_status_of_an_environment_not_deployed_says_so(world):
    world.cluster("dbstack")
    run_steps(status.status_steps(world.box(), "prod"), dry_run=False, out=world.out.append)
    assert "not found (deploy it with `inv cnpg-deploy --env prod`)" in world.text()


def test_logs_read_each_instance_pod(world):
    ready_world(world)
    deploymod.deploy(world.box(), "dev")
    world.api.pod_logs[("mydatabase-dev", "dev-mydatabase-db-1")] = ["a", "b", "c"]
    world.api.pod_logs[("mydatabase-dev", "dev-mydatabase-db-1-initdb-abcde")] = ["job line"]
    world.out.clear()
    run_steps(status.logs_steps(world.box(), "dev", tail=2), dry_run=False, out=world.out.append)
    assert world.out[-3:] == [
        "--- mydatabase-dev/dev-mydatabase-db-1",
        "[dev-mydatabase-db-1] b",
        "[dev-mydatabase-db-1] c",
    ]
    assert ("logs", "mydatabase-dev/dev-mydatabase-db-1", "postgres", 2, False) in world.api.calls


def test_logs_follow_merges_every_pod(world):
    world.cluster("dbstack")
    for i in (1, 2):
        world.api.put(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"dev-mydatabase-db-{i}",
                    "namespace": "mydatabase-dev",
                    "labels": {"cnpg.io/cluster": "dev-mydatabase-db", "cnpg.io/podRole": "instance"},
                },
            }
        )
        world.api.pod_logs[("mydatabase-dev", f"dev-mydatabase-db-{i}")] = [f"line {i}"]
    run_steps(status.logs_steps(world.box(), "dev", follow=True), dry_run=False, out=world.out.append)
    assert sorted(world.out[-2:]) == ["[dev-mydatabase-db-1] line 1", "[dev-mydatabase-db-2] line 2"]


def test_logs_bad_source_or_tail(world):
    with pytest.raises(UsageError, match="unknown log source"):
        status.logs_steps(world.box(), "dev", what="everything")
    with pytest.raises(UsageError, match="--tail must be 0 or more"):
        status.logs_steps(world.box(), "dev", tail=-1)


def test_dry_run_never_copies_the_credentials_file(world, monkeypatch):
    world.staging_from_file()
    world.credentials()
    seen = []
    real = deploymod.kustomize

    def spy(runner, directory):
        seen.append((directory / "credentials.env").read_text() if (directory / "credentials.env").exists() else "")
        return real(runner, directory)

    monkeypatch.setattr(deploymod, "kustomize", spy)
    deploymod.deploy(world.box(), "staging", dry_run=True)
    assert len(seen) == 1 and STAGING_PASSWORD not in seen[0] and "password=" in seen[0]
    assert STAGING_PASSWORD not in world.text() and "credentials.env is missing" not in world.text()


def test_doctor_shows_versions_and_warns_about_an_old_one(world, monkeypatch):
    from dbstack import doctor

    monkeypatch.setenv("FAKE_TOOLS_LOG", str(world.log))
    monkeypatch.setenv("FAKE_KIND_STATE", str(world.state))
    monkeypatch.setenv("FAKE_HELM_VERSION", "v3.7.0+gabc")
    old = doctor._version_check("helm", str(world.bin / "helm"))
    assert old.level == doctor.WARN and "is 3.7.0; needs 3.8.0 or newer" in old.detail and "Helm 3.8" in old.fix
    monkeypatch.setenv("FAKE_HELM_VERSION", "v4.0.1+gabc")
    assert doctor._version_check("helm", str(world.bin / "helm")) == doctor.Check(
        "helm", doctor.OK, f"{world.bin / 'helm'} (v4.0.1)"
    )
    assert doctor._version_check("kind", str(world.bin / "kind")).detail.endswith("(v0.32.0)")


def test_an_operator_that_stopped_retrying_is_asked_to_try_again(world):
    """failed > backoffLimit (default 20) from an earlier run: the operator requeues no more; a ConfigMap
    update is one of the events it reconciles on."""
    world.cluster("dbstack")
    world.api.reactors.append(cnpg_controller(after=1))
    world.api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mydatabase-dev"}})
    old = {
        "apiVersion": "db.atlasgo.io/v1alpha1",
        "kind": "AtlasMigration",
        "metadata": {"name": "dev-mydatabase-migration", "namespace": "mydatabase-dev", "generation": 1},
        "spec": {"dir": {"configMapRef": {"name": "dev-mydatabase-migrations"}}},
    }
    for _ in range(21):
        _fail(old, "Migrating", "dial tcp 10.96.0.12:5432: connect: connection refused")
    world.api.put(old)
    ok = atlas_controller()

    def operator(api):
        cm = api.stored("v1", "ConfigMap", "dev-mydatabase-migrations", "mydatabase-dev") or {}
        if "dbstack.io/reconcile-requested-at" in (cm.get("metadata", {}).get("annotations") or {}):
            ok(api)

    world.api.reactors.append(operator)
    deploymod.deploy(world.box(), "dev")
    assert "had stopped retrying (backoffLimit exceeded before this deploy)" in world.text()
    assert "dev is ready" in world.text()
    # the annotated ConfigMap is our whole object (server-side apply keeps every key)
    cm = world.api.stored("v1", "ConfigMap", "dev-mydatabase-migrations", "mydatabase-dev")
    assert "atlas.sum" in cm["data"]
