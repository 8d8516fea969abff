"""Typed settings for the Kubernetes tasks and the per-environment values.

Two sources: the ``k8s`` section of the dbstack settings (Kind cluster name,
pinned operator versions, timeouts) and ``manifests/cnpg/environments.yaml``,
the one source of values the CNPG manifests are rendered from. Both are
validated here so a typo fails with a message instead of a broken manifest.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, KubernetesError, UsageError
from ..settings import Settings, deep_merge

ENVIRONMENTS_FILE = "environments.yaml"

# Kind's own rule for cluster names (pkg/internal/cli validation).
_KIND_NAME = re.compile(r"^[a-z0-9.-]+\Z")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?\Z")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?\Z")
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+\Z")
# The CNPG webhook limits Cluster names to 50 characters
# (cloudnative-pg internal/webhook/v1/cluster_webhook.go, validateName).
CLUSTER_NAME_MAX = 50
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
CREDENTIAL_SOURCES = ("cnpg", "secret-generator", "external-secret")
EXEC_ORDERS = ("linear", "linear-skip", "non-linear")


# --------------------------------------------------------------------------- dbstack.k8s


@dataclass(frozen=True)
class K8sSettings:
    root: Path
    kind_cluster: str
    kind_config: Path
    manifests_dir: Path
    cnpg_version: str
    atlas_operator_chart: str
    atlas_operator_version: str
    operator_timeout: float
    ready_timeout: float
    # Fixed facts, not settings (CNPG docs: installation_upgrade.md; ariga/atlas-operator charts/).
    cnpg_namespace: str = "cnpg-system"
    cnpg_deployment: str = "cnpg-controller-manager"
    atlas_release: str = "atlas-operator"
    atlas_namespace: str = "atlas-operator"
    atlas_deployment: str = "atlas-operator"
    field_manager: str = "dbstack"

    @property
    def context(self) -> str:
        """The only kube context any call may use (kind names it kind-<cluster>)."""
        return f"kind-{self.kind_cluster}"

    @property
    def cnpg_manifest_url(self) -> str:
        major, minor, _ = self.cnpg_version.split(".")
        return (
            "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/"
            f"release-{major}.{minor}/releases/cnpg-{self.cnpg_version}.yaml"
        )

    @property
    def environments_file(self) -> Path:
        return self.manifests_dir / ENVIRONMENTS_FILE

    def rel(self, p: Path) -> str:
        """p relative to the project root when it is inside it (for messages and plans)."""
        try:
            return str(p.relative_to(self.root))
        except ValueError:
            return str(p)


def k8s_settings(settings: Settings) -> K8sSettings:
    raw = settings.raw.get("k8s") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("setting dbstack.k8s must be a mapping", "see the k8s section in src/dbstack/settings.py")
    w = "dbstack.k8s"

    def s(key: str) -> str:
        v = raw.get(key)
        if not isinstance(v, str) or not v:
            raise ConfigError(f"setting {w}.{key} must be a non-empty string, got {v!r}", "fix it in invoke.yaml")
        return v

    def f(key: str) -> float:
        v = raw.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise ConfigError(
                f"setting {w}.{key} must be a positive number of seconds, got {v!r}", "fix it in invoke.yaml"
            )
        return float(v)

    name = s("kind_cluster")
    if not _KIND_NAME.match(name):
        raise ConfigError(
            f"setting {w}.kind_cluster {name!r} is not a valid Kind cluster name",
            "use lowercase letters, digits, '.' and '-' only",
        )
    for key in ("cnpg_version", "atlas_operator_version"):
        if not _VERSION.match(s(key)):
            raise ConfigError(
                f"setting {w}.{key} must be a version like 1.30.0, got {raw.get(key)!r}", "pin an exact release"
            )
    return K8sSettings(
        root=settings.root,
        kind_cluster=name,
        kind_config=settings.resolve(s("kind_config")),
        manifests_dir=settings.resolve(s("manifests_dir")),
        cnpg_version=s("cnpg_version"),
        atlas_operator_chart=s("atlas_operator_chart"),
        atlas_operator_version=s("atlas_operator_version"),
        operator_timeout=f("operator_timeout"),
        ready_timeout=f("ready_timeout"),
    )


# --------------------------------------------------------------------------- environments.yaml


@dataclass(frozen=True)
class Credentials:
    """Where the application user's credentials come from in one environment."""

    source: str  # cnpg | secret-generator | external-secret
    env_file: str = "credentials.env"
    store_kind: str = "ClusterSecretStore"
    store_name: str = ""
    remote_key: str = ""
    username_property: str = "username"
    password_property: str = "password"
    refresh_interval: str = "1h"


@dataclass(frozen=True)
class EnvNames:
    """Every name one environment's objects get after kustomize's namePrefix."""

    env: str
    namespace: str
    prefix: str
    cluster: str
    migration: str
    configmap: str
    # The Secret holding the application user's credentials: CNPG's
    # generated <cluster>-app in dev, ours (generated or external) elsewhere.
    credentials_secret: str
    rw_service: str

    @property
    def rw_host(self) -> str:
        """The read-write Service as the Atlas operator must name it: <svc>.<namespace>.svc.

        The operator runs the Atlas CLI in its own pod (namespace atlas-operator);
        a pod's resolver searches only <its namespace>.svc.cluster.local,
        svc.cluster.local and cluster.local, so a short Service name of another
        namespace does not resolve (Kubernetes "DNS for Services and Pods").
        """
        return f"{self.rw_service}.{self.namespace}.svc"


@dataclass(frozen=True)
class EnvValues:
    env: str
    instances: int
    image: str
    storage: str
    resources: Mapping[str, Any]
    parameters: Mapping[str, str]
    extensions: tuple[str, ...]
    sslmode: str
    migration: Mapping[str, Any]
    credentials: Credentials
    # What this environment sets on top of the defaults (the overlay patch).
    overrides: Mapping[str, Any] = field(default_factory=dict)
    # Production knobs (None/empty: off). See _backup, _affinity, _synchronous, _monitoring.
    backup: Mapping[str, Any] | None = None
    affinity: Mapping[str, Any] | None = None
    synchronous: Mapping[str, Any] | None = None
    monitoring: Mapping[str, Any] | None = None


_VALUE_KEYS = {
    "instances",
    "image",
    "storage",
    "resources",
    "parameters",
    "extensions",
    "sslmode",
    "migration",
    "credentials",
    "backup",
    "affinity",
    "synchronous",
    "monitoring",
}
BACKUP_METHODS = ("barman-cloud-plugin", "barman-object-store")
_BACKUP_KEYS = {
    "method",
    "destination_path",
    "endpoint_url",
    "s3_credentials",
    "retention",
    "schedule",
    "wal_compression",
}
_RETENTION = re.compile(r"^[1-9][0-9]*[dwm]\Z")  # CNPG's retentionPolicy pattern (days, weeks, months)
_CRON6 = re.compile(r"^\S+( \S+){5}\Z")  # ScheduledBackup: six fields, seconds first
WAL_COMPRESSIONS = ("gzip", "bzip2", "snappy", "lz4", "xz", "zstd")
_TOP_KEYS = {"name", "database", "owner", "defaults", "environments"}
_CRED_KEYS = {"source", "env_file", "store", "remote_key", "username_property", "password_property", "refresh_interval"}
_MIGRATION_KEYS = {"revisions_schema", "exec_order", "backoff_limit", "baseline"}


@dataclass(frozen=True)
class Environments:
    path: Path
    name: str  # object name stem: <name>-db, <name>-migration(s), namespace <name>-<env>
    database: str  # the PostgreSQL database created at bootstrap
    owner: str  # its owner, the application user
    defaults: EnvValues
    envs: Mapping[str, EnvValues]

    def get(self, env: str | None) -> EnvValues:
        if not env or env not in self.envs:
            known = ", ".join(self.envs) or "none"
            raise UsageError(
                f"unknown environment {env!r} (known: {known})",
                f"pass --env with one of: {known}; environments are defined in {self.path}",
            )
        return self.envs[env]

    def names(self, env: str) -> EnvNames:
        v = self.get(env)
        prefix = f"{env}-"
        cluster = f"{prefix}{self.name}-db"
        cred = f"{cluster}-app" if v.credentials.source == "cnpg" else f"{prefix}{self.name}-db-credentials"
        return EnvNames(
            env=env,
            namespace=f"{self.name}-{env}",
            prefix=prefix,
            cluster=cluster,
            migration=f"{prefix}{self.name}-migration",
            configmap=f"{prefix}{self.name}-migrations",
            credentials_secret=cred,
            rw_service=f"{cluster}-rw",
        )

    @property
    def configmap_name(self) -> str:
        """The migrations ConfigMap's name in base/ (before namePrefix)."""
        return f"{self.name}-migrations"


def load_environments(path: Path) -> Environments:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path} does not exist", "it holds the per-environment values of the CNPG manifests; restore it from git"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", "fix the file") from None
    return parse_environments(data, path)


def parse_environments(data: Any, path: Path) -> Environments:
    where = str(path)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must hold a mapping", "see the comments at its top")
    _no_unknown(data, _TOP_KEYS, where)
    name = _str(data, "name", where)
    database = _str(data, "database", where)
    owner = _str(data, "owner", where)
    if not _DNS_LABEL.match(name):
        raise ConfigError(
            f"{where}: name {name!r} must be a lowercase DNS label (a-z, 0-9, '-')",
            "it becomes part of every object and namespace name",
        )
    defaults_raw = data.get("defaults")
    if not isinstance(defaults_raw, Mapping):
        raise ConfigError(f"{where}: 'defaults' must be a mapping of values", "see the comments in the file")
    envs_raw = data.get("environments")
    if not isinstance(envs_raw, Mapping) or not envs_raw:
        raise ConfigError(
            f"{where}: 'environments' must map environment names to their values",
            "e.g. environments: {dev: {}, staging: {instances: 2}}",
        )
    defaults = _values("defaults", defaults_raw, {}, f"{where}: defaults")
    envs: dict[str, EnvValues] = {}
    for env, over in envs_raw.items():
        if not isinstance(env, str) or not _DNS_LABEL.match(env):
            raise ConfigError(
                f"{where}: environment name {env!r} must be a lowercase DNS label",
                "it becomes the namespace suffix and the name prefix",
            )
        over = over or {}
        if not isinstance(over, Mapping):
            raise ConfigError(f"{where}: environments.{env} must be a mapping", "see the comments in the file")
        merged = deep_merge(defaults_raw, over)
        # credentials are chosen whole per environment, never merged key by key
        if "credentials" in over:
            merged["credentials"] = copy.deepcopy(over["credentials"])
        envs[env] = _values(env, merged, over, f"{where}: environments.{env}")
        cluster = f"{env}-{name}-db"
        if len(cluster) > CLUSTER_NAME_MAX:
            raise ConfigError(
                f"{where}: Cluster name {cluster!r} is longer than {CLUSTER_NAME_MAX} characters",
                "CNPG rejects it; use a shorter name or environment",
            )
        if len(f"{name}-{env}") > 63:
            raise ConfigError(
                f"{where}: namespace {name}-{env!s} is longer than 63 characters", "use a shorter name or environment"
            )
    return Environments(path=path, name=name, database=database, owner=owner, defaults=defaults, envs=envs)


def _values(env: str, m: Mapping[str, Any], over: Mapping[str, Any], where: str) -> EnvValues:
    _no_unknown(m, _VALUE_KEYS, where)
    inst = m.get("instances")
    if isinstance(inst, bool) or not isinstance(inst, int) or inst < 1:
        raise ConfigError(f"{where}: instances must be an integer >= 1, got {inst!r}", "fix the value")
    image = _str(m, "image", where)
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    if "@" not in image and re.fullmatch(r"[0-9]+(\.[0-9]+)?", tag):
        raise ConfigError(
            f"{where}: image {image!r} uses a deprecated plain tag (it points at the bullseye system image)",
            "use MM.mm-TYPE-OS, e.g. ghcr.io/cloudnative-pg/postgresql:18.6-minimal-trixie",
        )
    storage = _quantity(m.get("storage"), f"{where}: storage")
    resources = m.get("resources") or {}
    if not isinstance(resources, Mapping):
        raise ConfigError(f"{where}: resources must be a mapping (requests/limits)", "fix the value")
    _no_unknown(resources, {"requests", "limits"}, f"{where}: resources")
    res: dict[str, dict[str, str]] = {}
    for part, vals in resources.items():
        if not isinstance(vals, Mapping):
            raise ConfigError(f"{where}: resources.{part} must map cpu/memory to quantities", "fix the value")
        res[part] = {str(k): _quantity(v, f"{where}: resources.{part}.{k}") for k, v in vals.items()}
    params = m.get("parameters") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where}: parameters must map PostgreSQL settings to values", "fix the value")
    parameters = {str(k): _pg_value(v, f"{where}: parameters.{k}") for k, v in params.items()}
    exts = m.get("extensions") or []
    if not isinstance(exts, list) or not all(isinstance(e, str) and e for e in exts):
        raise ConfigError(f"{where}: extensions must be a list of extension names", "fix the value")
    sslmode = m.get("sslmode", "require")
    if sslmode not in SSLMODES:
        raise ConfigError(f"{where}: sslmode {sslmode!r} is not one of {', '.join(SSLMODES)}", "fix the value")
    mig = m.get("migration") or {}
    if not isinstance(mig, Mapping):
        raise ConfigError(f"{where}: migration must be a mapping", "fix the value")
    _no_unknown(mig, _MIGRATION_KEYS, f"{where}: migration")
    if mig.get("exec_order", "linear") not in EXEC_ORDERS:
        raise ConfigError(f"{where}: migration.exec_order must be one of {', '.join(EXEC_ORDERS)}", "fix the value")
    if "backoff_limit" in mig and (isinstance(mig["backoff_limit"], bool) or not isinstance(mig["backoff_limit"], int)):
        raise ConfigError(f"{where}: migration.backoff_limit must be an integer", "fix the value")
    for key in ("revisions_schema", "baseline"):
        if key in mig and not isinstance(mig[key], str):
            raise ConfigError(f"{where}: migration.{key} must be a string (quote versions)", "fix the value")
    return EnvValues(
        env=env,
        instances=inst,
        image=image,
        storage=storage,
        resources=res,
        parameters=parameters,
        extensions=tuple(exts),
        sslmode=sslmode,
        migration=dict(mig),
        credentials=_credentials(m.get("credentials"), where),
        overrides=copy.deepcopy(dict(over)),
        backup=_backup(m.get("backup"), where),
        affinity=_affinity(m.get("affinity"), where),
        synchronous=_synchronous(m.get("synchronous"), inst, where),
        monitoring=_monitoring(m.get("monitoring"), where),
    )


def _knob(v: Any, keys: set[str], where: str, name: str) -> Mapping[str, Any] | None:
    """A production knob: absent, null or `enabled: false` is off; otherwise a mapping of known keys."""
    if v is None or v is False:
        return None
    if not isinstance(v, Mapping):
        raise ConfigError(f"{where}: {name} must be a mapping (or false to turn it off)", "see the README section")
    if v.get("enabled", True) is False:
        return None
    _no_unknown(v, keys | {"enabled"}, f"{where}: {name}")
    return {k: x for k, x in v.items() if k != "enabled"}


def _backup(v: Any, where: str) -> Mapping[str, Any] | None:
    """Continuous backup (WAL archive + base backups) to an object store, and a ScheduledBackup.

    barman-cloud-plugin: an ObjectStore (barmancloud.cnpg.io/v1) and the
    Cluster's plugins entry, the way CNPG 1.26+ recommends; barman-object-store:
    the in-tree spec.backup.barmanObjectStore (deprecated upstream, kept for
    clusters that already use it).
    """
    b = _knob(v, _BACKUP_KEYS, where, "backup")
    if b is None:
        return None
    w = f"{where}: backup"
    out: dict[str, Any] = {
        "method": b.get("method", "barman-cloud-plugin"),
        "retention": b.get("retention", "30d"),
        "schedule": b.get("schedule", "0 0 2 * * *"),
        "wal_compression": b.get("wal_compression", "gzip"),
    }
    if out["method"] not in BACKUP_METHODS:
        raise ConfigError(f"{w}.method {out['method']!r} is not one of {', '.join(BACKUP_METHODS)}", "fix the value")
    dest = b.get("destination_path")
    if not isinstance(dest, str) or not re.match(r"^(s3|gs|https?)://\S+\Z", dest):
        raise ConfigError(
            f"{w}.destination_path must be an object store URL, got {dest!r}", "e.g. s3://my-bucket/mydatabase/prod"
        )
    out["destination_path"] = dest
    if "endpoint_url" in b:
        if not isinstance(b["endpoint_url"], str) or not re.match(r"^https?://\S+\Z", b["endpoint_url"]):
            raise ConfigError(f"{w}.endpoint_url must be an http(s) URL", "e.g. https://s3.eu-west-1.amazonaws.com")
        out["endpoint_url"] = b["endpoint_url"]
    cred = b.get("s3_credentials")
    if not isinstance(cred, Mapping) or not isinstance(cred.get("secret"), str) or not _DNS_LABEL.match(cred["secret"]):
        raise ConfigError(
            f"{w}.s3_credentials.secret must name the Secret holding the object store keys",
            "e.g. s3_credentials: {secret: backup-s3, access_key_id: ACCESS_KEY_ID, "
            "secret_access_key: ACCESS_SECRET_KEY}",
        )
    _no_unknown(cred, {"secret", "access_key_id", "secret_access_key"}, f"{w}.s3_credentials")
    out["s3_credentials"] = {
        "secret": cred["secret"],
        "access_key_id": str(cred.get("access_key_id", "ACCESS_KEY_ID")),
        "secret_access_key": str(cred.get("secret_access_key", "ACCESS_SECRET_KEY")),
    }
    if not isinstance(out["retention"], str) or not _RETENTION.match(out["retention"]):
        raise ConfigError(
            f"{w}.retention {out['retention']!r} is not a recovery window like 30d, 4w or 6m",
            "CNPG's retentionPolicy: a number and d, w or m",
        )
    if not isinstance(out["schedule"], str) or not _CRON6.match(out["schedule"]):
        raise ConfigError(
            f"{w}.schedule {out['schedule']!r} must have six cron fields (seconds first)",
            "e.g. '0 0 2 * * *' for 02:00 every day (CNPG's ScheduledBackup format)",
        )
    if out["wal_compression"] not in WAL_COMPRESSIONS:
        raise ConfigError(f"{w}.wal_compression must be one of {', '.join(WAL_COMPRESSIONS)}", "fix the value")
    return out


def _affinity(v: Any, where: str) -> Mapping[str, Any] | None:
    a = _knob(v, {"pod_anti_affinity", "topology_key"}, where, "affinity")
    if a is None:
        return None
    kind = a.get("pod_anti_affinity", "required")
    if kind not in ("required", "preferred"):
        raise ConfigError(
            f"{where}: affinity.pod_anti_affinity must be required or preferred, got {kind!r}",
            "required: never two instances on one node (CNPG's podAntiAffinityType)",
        )
    key = a.get("topology_key", "kubernetes.io/hostname")
    if not isinstance(key, str) or not key:
        raise ConfigError(f"{where}: affinity.topology_key must be a node label key", "e.g. kubernetes.io/hostname")
    return {"pod_anti_affinity": kind, "topology_key": key}


def _synchronous(v: Any, instances: int, where: str) -> Mapping[str, Any] | None:
    s = _knob(v, {"method", "number", "data_durability"}, where, "synchronous")
    if s is None:
        return None
    method, number = s.get("method", "any"), s.get("number", 1)
    durability = s.get("data_durability", "required")
    if method not in ("any", "first"):
        raise ConfigError(f"{where}: synchronous.method must be any or first, got {method!r}", "fix the value")
    if durability not in ("required", "preferred"):
        raise ConfigError(f"{where}: synchronous.data_durability must be required or preferred", "fix the value")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number < instances:
        raise ConfigError(
            f"{where}: synchronous.number must be between 1 and instances - 1 ({instances - 1}), got {number!r}",
            "synchronous replicas are standbys: use more instances or a smaller number",
        )
    return {"method": method, "number": number, "data_durability": durability}


def _monitoring(v: Any, where: str) -> Mapping[str, Any] | None:
    m = _knob(v, {"pod_monitor"}, where, "monitoring")
    if m is None or not m.get("pod_monitor", True):
        return None
    if not isinstance(m.get("pod_monitor", True), bool):
        raise ConfigError(f"{where}: monitoring.pod_monitor must be true or false", "fix the value")
    return {"pod_monitor": True}


def _credentials(c: Any, where: str) -> Credentials:
    if not isinstance(c, Mapping):
        raise ConfigError(
            f"{where}: credentials must be a mapping with a source", f"source is one of {', '.join(CREDENTIAL_SOURCES)}"
        )
    _no_unknown(c, _CRED_KEYS, f"{where}: credentials")
    source = c.get("source")
    if source not in CREDENTIAL_SOURCES:
        raise ConfigError(
            f"{where}: credentials.source {source!r} is not one of {', '.join(CREDENTIAL_SOURCES)}",
            "cnpg: CNPG generates <cluster>-app; secret-generator: a git-ignored env file; "
            "external-secret: an external-secrets.io ExternalSecret",
        )
    kw: dict[str, str] = {"source": source}
    for key in ("env_file", "remote_key", "username_property", "password_property", "refresh_interval"):
        if key in c:
            if not isinstance(c[key], str) or not c[key]:
                raise ConfigError(f"{where}: credentials.{key} must be a non-empty string", "fix the value")
            kw[key] = c[key]
    if "env_file" in kw and ("/" in kw["env_file"] or kw["env_file"].startswith(".")):
        raise ConfigError(
            f"{where}: credentials.env_file must be a plain file name in the overlay directory", "e.g. credentials.env"
        )
    if source == "external-secret":
        store = c.get("store")
        if not isinstance(store, Mapping) or not store.get("name"):
            raise ConfigError(
                f"{where}: credentials.store must name the secret store (kind, name)",
                "e.g. store: {kind: ClusterSecretStore, name: gcp-secret-manager}",
            )
        _no_unknown(store, {"kind", "name"}, f"{where}: credentials.store")
        kind = store.get("kind", "ClusterSecretStore")
        if kind not in ("SecretStore", "ClusterSecretStore"):
            raise ConfigError(f"{where}: credentials.store.kind must be SecretStore or ClusterSecretStore", "fix it")
        kw["store_kind"], kw["store_name"] = kind, str(store["name"])
        if "remote_key" not in kw:
            raise ConfigError(
                f"{where}: credentials.remote_key is required for external-secret",
                "the key of the credentials in your secret store",
            )
    return Credentials(**kw)


def _no_unknown(m: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in m if k not in allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            f"allowed: {', '.join(sorted(allowed))}",
        )


def _str(m: Mapping[str, Any], key: str, where: str) -> str:
    v = m.get(key)
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{where}: {key} must be a non-empty string, got {v!r}", "fix the value")
    return v


def _quantity(v: Any, where: str) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
    if not isinstance(v, str) or not _QUANTITY.match(v):
        raise ConfigError(f"{where}: {v!r} is not a Kubernetes quantity", "e.g. 10Gi, 512Mi, 250m, 1")
    return v


def _pg_value(v: Any, where: str) -> str:
    # YAML 1.1 reads on/off/yes as booleans; PostgreSQL wants on/off.
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, (int, float, str)):
        return str(v)
    raise ConfigError(f"{where}: must be a scalar, got {v!r}", "CNPG takes every parameter as a string")


def write_manifest(path: Path, data: bytes) -> bool:
    """Write a rendered manifest unless it already holds ``data``; True when it changed."""
    from ..files import write_if_changed

    try:
        return write_if_changed(path, data)
    except OSError as exc:
        raise KubernetesError(f"cannot write {path}: {exc.strerror}", "check the directory's permissions") from None
