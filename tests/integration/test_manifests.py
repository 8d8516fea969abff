"""The rendered overlays through real `kubectl kustomize`, validated like an API server would.

Built-in kinds against the Kubernetes schemas (kubernetes-validate, strict);
Cluster, AtlasMigration and ExternalSecret strictly against the CRDs in
../shared/crds (additionalProperties: false injected, as kubectl's strict
field validation rejects unknown fields); every reference resolved.
"""

from __future__ import annotations

import csv
import shutil
from functools import cache
from pathlib import Path

import pytest
import yaml

from dbstack.k8s import configmap as cm
from dbstack.k8s import references
from dbstack.k8s.config import load_environments
from dbstack.k8s.programs import Runner, find_tool, kustomize
from dbstack.migrations.directory import MigrationDir
from dbstack.migrations.layers import Layers

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
ATLAS_DIRS = SHARED / "testdata" / "atlas-dirs"

pytestmark = pytest.mark.manifests

CRDS = SHARED / "crds"
needs_crds = pytest.mark.skipif(not CRDS.exists(), reason="../shared/crds is absent")
K8S_VERSION = "1.36.0"  # Kind v0.32's node; CNPG 1.30 supports 1.34-1.36
CRD_FILES = {
    ("postgresql.cnpg.io/v1", "Cluster"): "postgresql.cnpg.io_clusters.yaml",
    ("db.atlasgo.io/v1alpha1", "AtlasMigration"): "db.atlasgo.io_atlasmigrations.yaml",
    ("external-secrets.io/v1", "ExternalSecret"): "external-secrets.io_externalsecrets.yaml",
}
EXPECTED_KINDS = {
    "dev": ["Namespace", "ConfigMap", "AtlasMigration", "Cluster"],
    "staging": ["Namespace", "ConfigMap", "AtlasMigration", "Cluster"],
    "prod": [
        "Namespace",
        "ConfigMap",
        "AtlasMigration",
        "Cluster",
        "ExternalSecret",
        "ObjectStore",
        "ScheduledBackup",
        "PodMonitor",
    ],
}
# No CRD for these in ../shared/crds: their shape is checked by test_prod_is_production_grade and
# their references by dbstack.k8s.references.
NO_CRD = {
    ("barmancloud.cnpg.io/v1", "ObjectStore"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
}


def strictify(node):
    """additionalProperties: false wherever the schema lists properties and allows no extras."""
    if isinstance(node, dict):
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for v in node.values():
            strictify(v)
    elif isinstance(node, list):
        for v in node:
            strictify(v)
    return node


@cache
def crd_validator(api_version: str, kind: str):
    from jsonschema import Draft7Validator

    docs = [d for d in yaml.safe_load_all((CRDS / CRD_FILES[(api_version, kind)]).read_text()) if d]
    crd = docs[0]
    version = api_version.split("/")[1]
    v = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    assert v["served"], f"{api_version} {kind} is not served by the CRD"
    return Draft7Validator(strictify(v["schema"]["openAPIV3Schema"]))


def validate(obj: dict) -> list[str]:
    import kubernetes_validate

    key = (obj["apiVersion"], obj["kind"])
    if key in NO_CRD:
        return []
    if key in CRD_FILES:
        return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in crd_validator(*key).iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [str(exc)]
    return []


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, list[dict]]:
    root = tmp_path_factory.mktemp("manifests") / "cnpg"
    # What a fresh clone has: only committed files (no credentials.env or any other hand-made file).
    shutil.copytree(ROOT / "manifests" / "cnpg", root, ignore=shutil.ignore_patterns("credentials.env"))
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    runner = Runner(out=lambda s: None)
    out = {env: kustomize(runner, root / "overlays" / env) for env in EXPECTED_KINDS}
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    return out


ENVS = load_environments(ROOT / "manifests" / "cnpg" / "environments.yaml")


@needs_crds
@pytest.mark.parametrize("env", list(EXPECTED_KINDS))
def test_overlay_builds_and_every_object_validates_strictly(builds, env):
    objs = builds[env]
    assert sorted(o["kind"] for o in objs) == sorted(EXPECTED_KINDS[env])
    problems = {f"{o['kind']} {o['metadata']['name']}": validate(o) for o in objs}
    assert all(not p for p in problems.values()), problems


@pytest.mark.parametrize("env", list(EXPECTED_KINDS))
def test_every_reference_points_at_an_object_that_will_exist(builds, env):
    assert references.check(builds[env], ENVS.names(env), owner=ENVS.owner) == []


@pytest.mark.parametrize("env", list(EXPECTED_KINDS))
def test_names_namespace_and_credentials_per_environment(builds, env):
    n = ENVS.names(env)
    by_kind = {o["kind"]: o for o in builds[env]}
    cluster, am = by_kind["Cluster"], by_kind["AtlasMigration"]
    assert cluster["metadata"]["name"] == n.cluster == f"{env}-mydatabase-db" and len(n.cluster) <= 50
    assert {o["metadata"].get("namespace", o["metadata"]["name"]) for o in builds[env]} == {f"mydatabase-{env}"}
    assert cluster["spec"]["imageName"].startswith("ghcr.io/cloudnative-pg/postgresql:18.")
    assert am["spec"]["dir"]["configMapRef"]["name"] == f"{env}-mydatabase-migrations"
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    c = am["spec"]["credentials"]
    # namespace-qualified: the operator connects from namespace atlas-operator
    assert (c["host"], c["port"], c["database"], c["parameters"]) == (
        f"{env}-mydatabase-db-rw.mydatabase-{env}.svc",
        5432,
        "mydatabase",
        {"sslmode": "require"},
    )
    assert "urlFrom" not in am["spec"]
    if env in ("dev", "staging"):
        # CNPG generates <cluster>-app (a random password that never leaves the cluster)
        assert "secret" not in initdb
        assert c["userFrom"]["secretKeyRef"] == {"name": f"{env}-mydatabase-db-app", "key": "username"}
        assert c["passwordFrom"]["secretKeyRef"] == {"name": f"{env}-mydatabase-db-app", "key": "password"}
    else:
        assert initdb["secret"]["name"] == f"{env}-mydatabase-db-credentials"
        assert (
            c["userFrom"]["secretKeyRef"]["name"]
            == c["passwordFrom"]["secretKeyRef"]["name"]
            == initdb["secret"]["name"]
        )
    if env == "prod":
        es = by_kind["ExternalSecret"]
        assert es["apiVersion"] == "external-secrets.io/v1"
        assert "name" not in es["spec"]["target"] and es["metadata"]["name"] == initdb["secret"]["name"]
        assert es["spec"]["target"]["template"]["type"] == "kubernetes.io/basic-auth"


def test_prod_is_production_grade(builds):
    """Backups with a schedule, required anti-affinity, synchronous replication, a PodMonitor, Guaranteed QoS."""
    by_kind = {o["kind"]: o for o in builds["prod"]}
    spec = by_kind["Cluster"]["spec"]
    assert spec["affinity"] == {
        "enablePodAntiAffinity": True,
        "podAntiAffinityType": "required",
        "topologyKey": "kubernetes.io/hostname",
    }
    assert spec["postgresql"]["synchronous"] == {"method": "any", "number": 1, "dataDurability": "required"}
    assert spec["resources"]["requests"] == spec["resources"]["limits"]
    assert spec["plugins"] == [
        {
            "name": "barman-cloud.cloudnative-pg.io",
            "isWALArchiver": True,
            "parameters": {"barmanObjectName": "prod-mydatabase-backup"},
        }
    ]
    store = by_kind["ObjectStore"]
    assert store["metadata"]["name"] == "prod-mydatabase-backup" and store["spec"]["retentionPolicy"] == "30d"
    assert store["spec"]["configuration"]["destinationPath"].startswith("s3://")
    assert store["spec"]["configuration"]["s3Credentials"]["accessKeyId"]["name"] == "mydatabase-backup-s3"
    sb = by_kind["ScheduledBackup"]["spec"]
    assert sb["cluster"] == {"name": "prod-mydatabase-db"} and sb["method"] == "plugin"
    assert sb["pluginConfiguration"] == {"name": "barman-cloud.cloudnative-pg.io"}
    assert len(sb["schedule"].split()) == 6
    pm = by_kind["PodMonitor"]["spec"]
    assert pm["selector"]["matchLabels"] == {"cnpg.io/cluster": "prod-mydatabase-db", "cnpg.io/podRole": "instance"}
    assert pm["podMetricsEndpoints"] == [{"port": "metrics"}]


def test_the_in_tree_backup_method_validates_against_the_crd(tmp_path):
    from dbstack.k8s import render
    from dbstack.k8s.config import k8s_settings, parse_environments
    from dbstack.settings import from_mapping

    data = yaml.safe_load((ROOT / "manifests/cnpg/environments.yaml").read_text())
    data["environments"]["prod"]["backup"].update(method="barman-object-store", endpoint_url="https://s3.example.com")
    envs = parse_environments(data, tmp_path / "environments.yaml")
    root = tmp_path / "cnpg"
    render.render(
        k8s_settings(from_mapping({}, ROOT)),
        envs,
        (ROOT / "manifests/cnpg/base/migrations-configmap.yaml").read_text(),
        root=root,
    ).write()
    objs = kustomize(Runner(out=lambda s: None), root / "overlays" / "prod")
    cluster = next(o for o in objs if o["kind"] == "Cluster")
    assert cluster["spec"]["backup"]["barmanObjectStore"]["endpointURL"] == "https://s3.example.com"
    assert "plugins" not in cluster["spec"] and not [o for o in objs if o["kind"] == "ObjectStore"]
    assert next(o for o in objs if o["kind"] == "ScheduledBackup")["spec"]["method"] == "barmanObjectStore"
    if CRDS.exists():
        assert validate(cluster) == []
    assert references.check(objs, envs.names("prod"), owner=envs.owner) == []


def test_no_scheduled_backup_or_pdb_and_no_stale_fields(builds):
    for env, objs in builds.items():
        assert not [o for o in objs if o["kind"] == "PodDisruptionBudget"]
        assert bool([o for o in objs if o["kind"] == "ScheduledBackup"]) == (env == "prod")
        for o in objs:
            text = yaml.safe_dump(o)
            assert "zerg" not in text and "enablePodMonitor" not in text and "revisionSchema:" not in text


def test_no_build_holds_a_secret_or_password(builds):
    for env, objs in builds.items():
        assert not [o for o in objs if o["kind"] == "Secret"], env
        assert "password:" not in yaml.safe_dump(objs).replace("passwordFrom:", "")


@pytest.mark.parametrize("name", ["web-app", "my-rw", "app-rw-app"])
def test_names_containing_app_or_rw_keep_every_reference(tmp_path, name):
    """Names are spelled out per environment, not cut at '-app'/'-rw' (web-app gave dev-web-app-db-app-db-app)."""
    from dbstack.k8s import render
    from dbstack.k8s.config import k8s_settings, parse_environments
    from dbstack.settings import from_mapping

    data = yaml.safe_load((ROOT / "manifests/cnpg/environments.yaml").read_text())
    data["name"] = name
    envs = parse_environments(data, tmp_path / "environments.yaml")
    root = tmp_path / "cnpg"
    cmap = (
        (ROOT / "manifests/cnpg/base/migrations-configmap.yaml")
        .read_text()
        .replace("name: mydatabase-migrations", f"name: {name}-migrations")
    )
    render.render(k8s_settings(from_mapping({}, ROOT)), envs, cmap, root=root).write()
    runner = Runner(out=lambda s: None)
    for env in EXPECTED_KINDS:
        objs = kustomize(runner, root / "overlays" / env)
        n = envs.names(env)
        assert references.check(objs, n, owner=envs.owner) == [], env
        c = next(o for o in objs if o["kind"] == "AtlasMigration")["spec"]["credentials"]
        assert c["host"] == f"{env}-{name}-db-rw.{name}-{env}.svc"
        assert c["passwordFrom"]["secretKeyRef"]["name"] == n.credentials_secret


@needs_crds
def test_strict_validation_has_teeth(builds):
    am = yaml.safe_load(yaml.safe_dump(next(o for o in builds["dev"] if o["kind"] == "AtlasMigration")))
    am["spec"]["revisionSchema"] = "atlas"  # the original's misspelling of revisionsSchema
    assert any("revisionSchema" in p for p in validate(am))
    cluster = yaml.safe_load(yaml.safe_dump(next(o for o in builds["dev"] if o["kind"] == "Cluster")))
    cluster["spec"]["monitoring"] = {"enablePodMonitr": False}
    assert validate(cluster)
    cmap = yaml.safe_load(yaml.safe_dump(next(o for o in builds["dev"] if o["kind"] == "ConfigMap")))
    cmap["data"]["x.sql"] = 1
    assert validate(cmap)


def test_the_projects_configmap_round_trips_to_the_exact_files(builds, tmp_path):
    src = ROOT / "manifests" / "migrations" / "mydatabase"
    data = next(o for o in builds["dev"] if o["kind"] == "ConfigMap")["data"]
    for name, text in data.items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))
    assert sorted(data) == sorted(p.name for p in src.iterdir() if p.name.endswith(".sql") or p.name == "atlas.sum")
    for name in data:
        assert (tmp_path / name).read_bytes() == (src / name).read_bytes(), name
    MigrationDir(tmp_path).validate()


# --------------------------------------------------------------------------- round trip of real directories

MANIFEST = list(csv.DictReader(open(ATLAS_DIRS / "MANIFEST.tsv"), delimiter="\t")) if ATLAS_DIRS.exists() else []
MATCH = [r for r in MANIFEST if r["expected_result"] == "match"]


@pytest.mark.skipif(not MATCH, reason="../shared/testdata is absent")
@pytest.mark.parametrize("row", MATCH, ids=[r["slug"] for r in MATCH])
def test_configmap_round_trip_through_kustomize_is_exact(row, tmp_path):
    src = ATLAS_DIRS / row["slug"]
    made = cm.build(Layers.of([src], row["format"]), "migrations")
    kdir = tmp_path / "k"
    kdir.mkdir()
    (kdir / "migrations.yaml").write_text(made.to_yaml(), encoding="utf-8")
    (kdir / "kustomization.yaml").write_text("resources: [migrations.yaml]\nnamePrefix: dev-\nnamespace: x\n")
    (out,) = kustomize(Runner(out=lambda s: None), kdir)
    assert out["metadata"]["name"] == "dev-migrations"
    back = tmp_path / "back"
    back.mkdir()
    for name, text in out["data"].items():
        (back / name).write_bytes(text.encode("utf-8"))
    # every file's bytes are the source's, and our atlas.sum check passes on what came back
    for f in MigrationDir(src, row["format"]).files():
        assert (back / f.name).read_bytes() == f.read(), f.name
    MigrationDir(back).validate()
    assert (back / "atlas.sum").read_bytes() == (src / "atlas.sum").read_bytes()


def test_kubectl_is_available():
    """CI must have a kubectl (the pinned wheel); this fails, never skips, without one."""
    assert find_tool("kubectl")
