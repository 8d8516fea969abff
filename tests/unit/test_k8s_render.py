"""environments.yaml, Jinja rendering, --check, reference checks and kube context checks."""

from __future__ import annotations

import base64
import copy
import shutil
from pathlib import Path

import pytest
import yaml

from dbstack.errors import ConfigError, KubernetesError, UsageError
from dbstack.k8s import references, render
from dbstack.k8s.config import k8s_settings, load_environments, parse_environments
from dbstack.k8s.kubeconfig import check_kind_context
from dbstack.settings import from_mapping

ROOT = Path(__file__).resolve().parents[2]

ENV_FILE = ROOT / "manifests" / "cnpg" / "environments.yaml"


def raw() -> dict:
    return yaml.safe_load(ENV_FILE.read_text())


def parse(data: dict):
    return parse_environments(data, Path("environments.yaml"))


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(ROOT / "manifests", root / "manifests", ignore=shutil.ignore_patterns("credentials.env"))
    return root


# --------------------------------------------------------------------------- values


def test_the_committed_values_give_the_expected_names_and_sources():
    envs = load_environments(ENV_FILE)
    assert list(envs.envs) == ["dev", "staging", "prod"]
    n = envs.names("staging")
    assert (n.namespace, n.prefix, n.cluster, n.migration, n.configmap, n.credentials_secret, n.rw_service) == (
        "mydatabase-staging",
        "staging-",
        "staging-mydatabase-db",
        "staging-mydatabase-migration",
        "staging-mydatabase-migrations",
        "staging-mydatabase-db-app",
        "staging-mydatabase-db-rw",
    )
    assert n.rw_host == "staging-mydatabase-db-rw.mydatabase-staging.svc"
    assert envs.names("dev").credentials_secret == "dev-mydatabase-db-app"
    assert envs.names("prod").credentials_secret == "prod-mydatabase-db-credentials"
    # staging needs no hand-made file: CNPG generates its password inside the cluster
    assert [envs.envs[e].credentials.source for e in envs.envs] == ["cnpg", "cnpg", "external-secret"]
    assert [envs.envs[e].instances for e in envs.envs] == [1, 2, 3]
    prod = envs.envs["prod"]
    assert prod.parameters["shared_buffers"] == "512MB" and prod.parameters["work_mem"] == "16MB"
    # Guaranteed QoS: requests = limits
    assert prod.resources == {"requests": {"memory": "2Gi", "cpu": "2"}, "limits": {"memory": "2Gi", "cpu": "2"}}
    # prod is production-grade by default; dev and staging carry none of it
    assert prod.backup["method"] == "barman-cloud-plugin" and prod.backup["retention"] == "30d"
    assert prod.affinity == {"pod_anti_affinity": "required", "topology_key": "kubernetes.io/hostname"}
    assert prod.synchronous == {"method": "any", "number": 1, "data_durability": "required"}
    assert prod.monitoring == {"pod_monitor": True}
    for e in ("dev", "staging"):
        v = envs.envs[e]
        assert (v.backup, v.affinity, v.synchronous, v.monitoring) == (None, None, None, None)
    assert envs.envs["dev"].resources["requests"] == {"memory": "256Mi", "cpu": "250m"}
    assert envs.defaults.image.startswith("ghcr.io/cloudnative-pg/postgresql:18.")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["defaults"].update(instancess=2), "unknown key instancess"),
        (lambda d: d["defaults"].update(instances=0), "instances must be an integer >= 1"),
        (lambda d: d["defaults"].update(image="ghcr.io/cloudnative-pg/postgresql:18"), "deprecated plain tag"),
        (lambda d: d["defaults"].update(storage="ten gigs"), "is not a Kubernetes quantity"),
        (lambda d: d["defaults"].update(sslmode="maybe"), "sslmode 'maybe' is not one of"),
        (lambda d: d["environments"]["prod"]["credentials"].pop("remote_key"), "remote_key is required"),
        (lambda d: d["environments"]["staging"].update(credentials={"source": "vault"}), "credentials.source 'vault'"),
        (
            lambda d: d["environments"]["staging"].update(
                credentials={"source": "secret-generator", "env_file": "../x.env"}
            ),
            "plain file name",
        ),
        (lambda d: d["environments"].update({"Prod_2": {}}), "must be a lowercase DNS label"),
        (lambda d: d["environments"].update({"a-very-long-environment-name-for-testing": {}}), "longer than 50"),
        (lambda d: d["defaults"].update(migration={"revision_schema": "x"}), "unknown key revision_schema"),
        (
            lambda d: d["environments"]["prod"]["backup"].update(method="pg_dump"),
            "backup.method 'pg_dump' is not one of",
        ),
        (
            lambda d: d["environments"]["prod"]["backup"].update(destination_path="/backups"),
            "backup.destination_path must be an object store URL",
        ),
        (lambda d: d["environments"]["prod"]["backup"].update(schedule="0 2 * * *"), "must have six cron fields"),
        (lambda d: d["environments"]["prod"]["backup"].update(retention="30 days"), "is not a recovery window"),
        (lambda d: d["environments"]["prod"]["backup"].pop("s3_credentials"), "s3_credentials.secret must name"),
        (
            lambda d: d["environments"]["prod"]["affinity"].update(pod_anti_affinity="sometimes"),
            "pod_anti_affinity must be required or preferred",
        ),
        (
            lambda d: d["environments"]["prod"]["synchronous"].update(number=3),
            r"synchronous.number must be between 1 and instances - 1 \(2\)",
        ),
        (
            lambda d: d["environments"]["prod"]["synchronous"].update(method="all"),
            "synchronous.method must be any or first",
        ),
        (
            lambda d: d["environments"]["prod"]["monitoring"].update(enablePodMonitor=True),
            "unknown key enablePodMonitor",
        ),
        (lambda d: d["environments"]["dev"].update(backups={}), "unknown key backups"),
    ],
)
def test_bad_values_are_one_clear_error(mutate, message):
    d = raw()
    mutate(d)
    with pytest.raises(ConfigError, match=message):
        parse(d)


def test_knobs_can_be_switched_off_per_environment():
    d = raw()
    d["environments"]["prod"].update(backup=False, monitoring={"enabled": False})
    prod = parse(d).envs["prod"]
    assert prod.backup is None and prod.monitoring is None and prod.affinity is not None


def test_yaml_booleans_become_postgres_on_off():
    d = raw()
    d["defaults"]["parameters"]["log_connections"] = True
    assert parse(d).envs["dev"].parameters["log_connections"] == "on"


def test_unknown_environment():
    with pytest.raises(UsageError, match=r"unknown environment 'qa' \(known: dev, staging, prod\)"):
        load_environments(ENV_FILE).get("qa")


def test_k8s_settings_from_dbstack_settings(tmp_path):
    ks = k8s_settings(from_mapping({"k8s": {"kind_cluster": "mine"}}, tmp_path))
    assert ks.context == "kind-mine" and ks.cnpg_version == "1.30.0" and ks.atlas_operator_version == "0.7.37"
    assert ks.cnpg_manifest_url.endswith("/release-1.30/releases/cnpg-1.30.0.yaml")
    for bad in ({"kind_cluster": "Has Space"}, {"cnpg_version": "latest"}, {"ready_timeout": 0}):
        with pytest.raises(ConfigError):
            k8s_settings(from_mapping({"k8s": bad}, tmp_path))


# --------------------------------------------------------------------------- rendering


def test_the_committed_manifests_are_the_rendered_ones():
    r = render.render_for(from_mapping({}, ROOT))
    assert r.stale() == []


def test_rendering_is_deterministic():
    s = from_mapping({}, ROOT)
    assert render.render_for(s).files == render.render_for(s).files


def test_check_names_stale_missing_and_orphaned_files(project):
    s = from_mapping({}, project)
    base = project / "manifests/cnpg"
    (base / "overlays/dev/cluster-patch.yaml").write_text("# hand edit\n")
    (base / "base/namespace.yaml").unlink()
    (base / "overlays/qa").mkdir()
    (base / "overlays/qa/kustomization.yaml").write_text(render.HEADER + "\n")
    (base / "overlays/dev/notes.yaml").write_text("# not ours\n")
    with pytest.raises(KubernetesError) as e:
        render.run(s, check=True, out=lambda x: None)
    msg = e.value.message
    assert "overlays/dev/cluster-patch.yaml (differs)" in msg and "base/namespace.yaml (missing)" in msg
    assert "overlays/qa/kustomization.yaml (no longer rendered)" in msg and "notes.yaml" not in msg
    assert "inv cnpg-render" in e.value.hint
    out: list[str] = []
    render.run(s, out=out.append)
    render.run(s, check=True, out=out.append)
    assert out[-1].startswith("ok: ")
    assert not (base / "overlays/qa/kustomization.yaml").exists() and (base / "overlays/dev/notes.yaml").exists()


def test_a_new_migration_makes_the_committed_configmap_stale(project):
    from dbstack.migrations.directory import MigrationDir

    d = project / "manifests/migrations/mydatabase"
    (d / "20240301000001_x.sql").write_text("SELECT 1;\n")
    MigrationDir(d).write_sum()
    with pytest.raises(KubernetesError, match=r"base/migrations-configmap.yaml \(differs\)"):
        render.run(from_mapping({}, project), check=True, out=lambda x: None)


def test_changing_a_value_changes_only_its_overlay(project):
    f = project / "manifests/cnpg/environments.yaml"
    d = yaml.safe_load(f.read_text())
    d["environments"]["staging"]["instances"] = 4
    f.write_text(yaml.safe_dump(d))
    out: list[str] = []
    render.run(from_mapping({}, project), out=out.append)
    assert [x for x in out if x.startswith("wrote")] == ["wrote manifests/cnpg/overlays/staging/cluster-patch.yaml"]
    patch = yaml.safe_load((project / "manifests/cnpg/overlays/staging/cluster-patch.yaml").read_text())
    assert patch["spec"]["instances"] == 4


def test_extensions_are_created_in_the_application_database():
    cluster = yaml.safe_load((ROOT / "manifests/cnpg/base/cluster.yaml").read_text())
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    assert "postInitSQL" not in initdb
    assert initdb["postInitApplicationSQL"] == [
        'CREATE EXTENSION IF NOT EXISTS "pgcrypto"',
        'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"',
    ]


def test_no_committed_manifest_holds_a_password():
    for p in (ROOT / "manifests/cnpg").rglob("*"):
        if p.is_file():
            text = p.read_text()
            assert "password=" not in text.replace("username=mydatabase and password=...", ""), p
            assert "change-me" not in text, p


# --------------------------------------------------------------------------- references


def built_staging() -> list[dict]:
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mydatabase-staging"}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/basic-auth",
            "metadata": {"name": "staging-mydatabase-db-credentials", "namespace": "mydatabase-staging"},
            "data": {"username": b64("mydatabase"), "password": b64("pw")},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "staging-mydatabase-migrations", "namespace": "mydatabase-staging"},
            "data": {"atlas.sum": "h1:x\n"},
        },
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "staging-mydatabase-db", "namespace": "mydatabase-staging"},
            "spec": {
                "instances": 2,
                "bootstrap": {
                    "initdb": {
                        "database": "mydatabase",
                        "owner": "mydatabase",
                        "secret": {"name": "staging-mydatabase-db-credentials"},
                    }
                },
            },
        },
        {
            "apiVersion": "db.atlasgo.io/v1alpha1",
            "kind": "AtlasMigration",
            "metadata": {"name": "staging-mydatabase-migration", "namespace": "mydatabase-staging"},
            "spec": {
                "dir": {"configMapRef": {"name": "staging-mydatabase-migrations"}},
                "credentials": {
                    "scheme": "postgres",
                    "host": "staging-mydatabase-db-rw.mydatabase-staging.svc",
                    "port": 5432,
                    "database": "mydatabase",
                    "userFrom": {"secretKeyRef": {"name": "staging-mydatabase-db-credentials", "key": "username"}},
                    "passwordFrom": {"secretKeyRef": {"name": "staging-mydatabase-db-credentials", "key": "password"}},
                },
            },
        },
    ]


def names_of(env):
    return load_environments(ENV_FILE).names(env)


def test_references_of_a_good_build_resolve():
    assert references.check(built_staging(), names_of("staging"), owner="mydatabase") == []


def _break(fn):
    objs = copy.deepcopy(built_staging())
    fn({o["kind"]: o for o in objs})
    return references.check(objs, names_of("staging"), owner="mydatabase")


@pytest.mark.parametrize(
    "fn, problem",
    [
        (
            lambda o: o["AtlasMigration"]["spec"]["dir"]["configMapRef"].update(name="mydatabase-migrations"),
            "ConfigMap 'mydatabase-migrations' is not in the build",
        ),
        (
            lambda o: o["AtlasMigration"]["spec"]["credentials"].update(
                host="dev-mydatabase-db-rw.mydatabase-staging.svc"
            ),
            "credentials.host 'dev-mydatabase-db-rw.mydatabase-staging.svc' is not a Service CNPG creates",
        ),
        # the operator runs in namespace atlas-operator: a short name does not resolve there
        (
            lambda o: o["AtlasMigration"]["spec"]["credentials"].update(host="staging-mydatabase-db-rw"),
            "credentials.host 'staging-mydatabase-db-rw' is not namespace-qualified: the Atlas operator connects from "
            "its own namespace (atlas-operator), where it does not resolve; use "
            "staging-mydatabase-db-rw.mydatabase-staging.svc",
        ),
        (
            lambda o: o["AtlasMigration"]["spec"]["credentials"].update(
                host="staging-mydatabase-db-rw.mydatabase-dev.svc"
            ),
            "points at namespace 'mydatabase-dev'",
        ),
        (
            lambda o: o["AtlasMigration"]["spec"]["credentials"]["passwordFrom"]["secretKeyRef"].update(key="uri"),
            "has no key 'uri'",
        ),
        (
            lambda o: o["AtlasMigration"]["spec"].update(
                urlFrom={"secretKeyRef": {"name": "staging-mydatabase-db-app", "key": "uri"}}
            ),
            "secret 'staging-mydatabase-db-app' is not in the build",
        ),  # CNPG creates no -app once initdb.secret is set
        (
            lambda o: o["Cluster"]["spec"]["bootstrap"]["initdb"]["secret"].update(name="mydatabase-db-credentials"),
            "bootstrap.initdb.secret 'mydatabase-db-credentials' is neither in the build",
        ),
        (lambda o: o["Secret"].update(type="Opaque"), "must be of type kubernetes.io/basic-auth"),
        (
            lambda o: o["Secret"]["data"].update(username=base64.b64encode(b"root").decode()),
            "has username 'root', but initdb.owner is 'mydatabase'",
        ),
        (lambda o: o["ConfigMap"]["metadata"].update(namespace="mydatabase-dev"), "not mydatabase-staging"),
        (lambda o: o["Cluster"]["metadata"].update(name="dev-mydatabase-db"), "expected Cluster staging-mydatabase-db"),
        (
            lambda o: o["AtlasMigration"]["spec"]["credentials"].update(database="postgres"),
            "credentials.database 'postgres' is not Cluster",
        ),
    ],
)
def test_broken_references_are_found(fn, problem):
    problems = _break(fn)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    "host",
    [
        "staging-mydatabase-db-rw.mydatabase-staging",
        "staging-mydatabase-db-rw.mydatabase-staging.svc",
        "staging-mydatabase-db-rw.mydatabase-staging.svc.cluster.local",
    ],
)
def test_every_namespace_qualified_form_of_the_service_resolves(host):
    objs = copy.deepcopy(built_staging())
    next(o for o in objs if o["kind"] == "AtlasMigration")["spec"]["credentials"]["host"] = host
    assert references.check(objs, names_of("staging"), owner="mydatabase") == []


def test_cnpg_app_secret_counts_only_without_initdb_secret():
    objs = copy.deepcopy(built_staging())
    cluster = next(o for o in objs if o["kind"] == "Cluster")
    del cluster["spec"]["bootstrap"]["initdb"]["secret"]
    am = next(o for o in objs if o["kind"] == "AtlasMigration")
    del am["spec"]["credentials"]
    am["spec"]["urlFrom"] = {"secretKeyRef": {"name": "staging-mydatabase-db-app", "key": "uri"}}
    assert references.check(objs, names_of("staging")) == []


# --------------------------------------------------------------------------- kube context


def kubeconfig(tmp_path, server: str, name="kind-dbstack"):
    p = tmp_path / "kc"
    p.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": name, "cluster": {"server": server}}],
                "contexts": [{"name": name, "context": {"cluster": name}}],
            }
        )
    )
    return {"KUBECONFIG": str(p)}


def test_a_local_kind_context_is_accepted(tmp_path):
    info = check_kind_context(
        "kind-dbstack", ROOT / "kind/cluster.yaml", kubeconfig(tmp_path, "https://127.0.0.1:39001")
    )
    assert info.server == "https://127.0.0.1:39001"


@pytest.mark.parametrize("server", ["https://35.1.2.3:443", "https://prod.example.com:6443", ""])
def test_a_kind_context_pointing_elsewhere_is_refused(tmp_path, server):
    with pytest.raises(KubernetesError, match="refusing to use kube context kind-dbstack"):
        check_kind_context("kind-dbstack", ROOT / "kind/cluster.yaml", kubeconfig(tmp_path, server))


def test_only_kind_contexts(tmp_path):
    with pytest.raises(KubernetesError, match="not a Kind context"):
        check_kind_context(
            "gke_prod", ROOT / "kind/cluster.yaml", kubeconfig(tmp_path, "https://127.0.0.1:1", "gke_prod")
        )
    with pytest.raises(KubernetesError, match="not in the kubeconfig"):
        check_kind_context("kind-other", ROOT / "kind/cluster.yaml", kubeconfig(tmp_path, "https://127.0.0.1:1"))


def test_kind_config_pins_a_supported_node_and_our_label():
    cfg = yaml.safe_load((ROOT / "kind/cluster.yaml").read_text())
    node = cfg["nodes"][0]
    assert node["image"].startswith("kindest/node:v1.36.") and "@sha256:" in node["image"]
    assert node["labels"] == {"dbstack.io/managed-by": "dbstack"}
    assert cfg["networking"]["apiServerAddress"] == "127.0.0.1"
