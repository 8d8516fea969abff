"""Check that every name a built overlay refers to will exist.

A reference is fine when it points at an object in the same build, or at one
that CloudNativePG or external-secrets creates with exactly that name:

* CNPG, per Cluster ``C``: Services ``C-rw``, ``C-ro``, ``C-r`` and, only when
  ``bootstrap.initdb.secret`` is unset, the Secret ``C-app`` (cloudnative-pg pkg/specs/secrets.go,
  api/v1/cluster_types.go);
* external-secrets, per ExternalSecret: a Secret named ``target.name`` or, without
  it, the ExternalSecret's own name, holding its ``data[].secretKey`` keys.

`cnpg-deploy` refuses to apply a build with problems; the manifest tests run
the same check on every environment.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .config import EnvNames

APP_SECRET_KEYS = frozenset(
    {"username", "user", "password", "dbname", "host", "port", "pgpass", "uri", "jdbc-uri", "fqdn-uri", "fqdn-jdbc-uri"}
)
CNPG_SERVICE_SUFFIXES = ("-rw", "-ro", "-r")


@dataclass
class _SecretSource:
    origin: str  # "in the build" / "created by CNPG" / "created by external-secrets"
    keys: frozenset[str]
    type: str = ""
    values: dict[str, str] = field(default_factory=dict)


def _md(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _get(obj: dict, *path: str) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def _service_host(host: str, default_ns: str) -> tuple[str, str, str]:
    """(service, namespace, problem) of a Service host name as the Atlas operator resolves it.

    The operator runs the Atlas CLI in its own pod (namespace atlas-operator),
    whose resolver searches atlas-operator.svc.cluster.local, svc.cluster.local
    and cluster.local: `<svc>.<ns>`, `<svc>.<ns>.svc` and the full
    `<svc>.<ns>.svc.cluster.local` reach a Service in <ns>, a bare `<svc>`
    does not (Kubernetes "DNS for Services and Pods").
    """
    parts = host.split(".")
    if len(parts) == 1:
        return (
            parts[0],
            "",
            (
                f"is not namespace-qualified: the Atlas operator connects from its own namespace "
                f"(atlas-operator), where it does not resolve; use {host}.{default_ns}.svc"
            ),
        )
    if len(parts) == 2 or parts[2:] in (["svc"], ["svc", "cluster", "local"]):
        if parts[1] != default_ns:
            return (
                parts[0],
                parts[1],
                (f"points at namespace {parts[1]!r}, but the Cluster and the AtlasMigration are in {default_ns!r}"),
            )
        return parts[0], parts[1], ""
    return parts[0], "", "is not a Service name of the form <service>.<namespace>.svc"


def check(objects: Iterable[dict], names: EnvNames | None = None, *, owner: str | None = None) -> list[str]:
    """Problems found in a built overlay (empty when every reference resolves)."""
    objs = list(objects)
    problems: list[str] = []
    by_kind: dict[str, list[dict]] = {}
    for o in objs:
        by_kind.setdefault(o.get("kind", ""), []).append(o)

    def ns_of(o: dict) -> str:
        return _md(o).get("namespace") or ""

    if names is not None:
        nss = [_md(o).get("name") for o in by_kind.get("Namespace", [])]
        if nss != [names.namespace]:
            problems.append(f"expected exactly one Namespace {names.namespace}, found {nss or 'none'}")
        for o in objs:
            if o.get("kind") == "Namespace":
                continue
            if ns_of(o) != names.namespace:
                problems.append(
                    f"{o.get('kind')} {_md(o).get('name')} is in namespace {ns_of(o) or '(none)'}, "
                    f"not {names.namespace}"
                )
            if not str(_md(o).get("name", "")).startswith(names.prefix):
                problems.append(f"{o.get('kind')} {_md(o).get('name')} lacks the prefix {names.prefix}")
        clusters = [_md(c).get("name") for c in by_kind.get("Cluster", [])]
        if clusters != [names.cluster]:
            problems.append(f"expected Cluster {names.cluster}, found {clusters or 'none'}")

    # Per (namespace, name); the name is None where a manifest has none.
    secrets: dict[tuple[str, str | None], _SecretSource] = {}
    for s in by_kind.get("Secret", []):
        data = dict(s.get("data") or {})
        values = {}
        for k, v in data.items():
            try:
                values[k] = base64.b64decode(v).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                values[k] = ""
        keys = frozenset(data) | frozenset(s.get("stringData") or {})
        values.update(s.get("stringData") or {})
        secrets[(ns_of(s), _md(s).get("name"))] = _SecretSource("in the build", keys, s.get("type", ""), values)
    for es in by_kind.get("ExternalSecret", []):
        target = _get(es, "spec", "target") or {}
        name = target.get("name") or _md(es).get("name")
        keys = frozenset(d.get("secretKey") for d in (_get(es, "spec", "data") or []) if d.get("secretKey"))
        typ = _get(target, "template", "type") or ""
        secrets[(ns_of(es), name)] = _SecretSource("created by external-secrets", keys, typ)
    services: dict[tuple[str, str], str] = {}
    cluster_db: dict[tuple[str, str], str] = {}
    for c in by_kind.get("Cluster", []):
        cname, cns = _md(c).get("name", ""), ns_of(c)
        for suffix in CNPG_SERVICE_SUFFIXES:
            services[(cns, cname + suffix)] = cname
        initdb = _get(c, "spec", "bootstrap", "initdb") or {}
        cluster_db[(cns, cname)] = initdb.get("database") or "app"
        sec = _get(initdb, "secret", "name")
        if not sec:
            secrets.setdefault(
                (cns, f"{cname}-app"), _SecretSource("created by CNPG", APP_SECRET_KEYS, "kubernetes.io/basic-auth")
            )
            continue
        src = secrets.get((cns, sec))
        if src is None:
            problems.append(
                f"Cluster {cname}: bootstrap.initdb.secret {sec!r} is neither in the build nor "
                "created by external-secrets"
            )
            continue
        if src.type != "kubernetes.io/basic-auth":
            problems.append(
                f"Cluster {cname}: secret {sec} must be of type kubernetes.io/basic-auth, not {src.type or 'unset'}"
            )
        missing = {"username", "password"} - src.keys
        if missing:
            problems.append(f"Cluster {cname}: secret {sec} lacks {', '.join(sorted(missing))}")
        want_owner = initdb.get("owner") or initdb.get("database") or "app"
        if "username" in src.values and src.values["username"] != want_owner:
            problems.append(
                f"Cluster {cname}: secret {sec} has username {src.values['username']!r}, "
                f"but initdb.owner is {want_owner!r}"
            )
        if owner is not None and want_owner != owner:
            problems.append(f"Cluster {cname}: initdb.owner is {want_owner!r}, expected {owner!r}")

    configmaps = {(ns_of(c), _md(c).get("name")): c for c in by_kind.get("ConfigMap", [])}

    def secret_ref(where: str, ns: str, ref: dict | None) -> None:
        if not ref:
            return
        name, key = ref.get("name"), ref.get("key")
        src = secrets.get((ns, name))
        if src is None:
            problems.append(
                f"{where}: secret {name!r} is not in the build and neither CNPG nor external-secrets creates it"
            )
        elif key not in src.keys:
            problems.append(f"{where}: secret {name} ({src.origin}) has no key {key!r}")

    for am in by_kind.get("AtlasMigration", []):
        aname, ans = _md(am).get("name"), ns_of(am)
        spec = am.get("spec") or {}
        where = f"AtlasMigration {aname}"
        cm = _get(spec, "dir", "configMapRef", "name")
        if cm is not None:
            obj = configmaps.get((ans, cm))
            if obj is None:
                problems.append(f"{where}: ConfigMap {cm!r} is not in the build")
            elif "atlas.sum" not in (obj.get("data") or {}):
                problems.append(f"{where}: ConfigMap {cm} has no atlas.sum key")
        elif not _get(spec, "dir", "local") and not _get(spec, "dir", "remote"):
            problems.append(f"{where}: spec.dir names no migrations")
        targets = [k for k in ("url", "urlFrom", "credentials") if spec.get(k)]
        if not targets:
            problems.append(f"{where}: no target database (url, urlFrom or credentials)")
        secret_ref(f"{where} urlFrom", ans, _get(spec, "urlFrom", "secretKeyRef"))
        cred = spec.get("credentials") or {}
        for f in ("userFrom", "passwordFrom", "hostFrom"):
            secret_ref(f"{where} credentials.{f}", ans, _get(cred, f, "secretKeyRef"))
        host = cred.get("host")
        if host:
            svc, hns, why = _service_host(host, ans)
            cluster = services.get((hns, svc)) if hns else None
            if why:
                problems.append(f"{where}: credentials.host {host!r} {why}")
            elif cluster is None:
                problems.append(
                    f"{where}: credentials.host {host!r} is not a Service CNPG creates for a Cluster in the build"
                )
            else:
                if cred.get("database") not in (None, cluster_db[(hns, cluster)]):
                    problems.append(
                        f"{where}: credentials.database {cred.get('database')!r} is not Cluster "
                        f"{cluster}'s database {cluster_db[(hns, cluster)]!r}"
                    )
                if cred.get("port") not in (None, 5432):
                    problems.append(f"{where}: credentials.port {cred.get('port')} is not 5432")
    clusters_here = {(ns_of(c), _md(c).get("name")) for c in by_kind.get("Cluster", [])}
    stores_here = {(ns_of(o), _md(o).get("name")) for o in by_kind.get("ObjectStore", [])}
    for sb in by_kind.get("ScheduledBackup", []):
        cname = _get(sb, "spec", "cluster", "name")
        if (ns_of(sb), cname) not in clusters_here:
            problems.append(f"ScheduledBackup {_md(sb).get('name')}: cluster {cname!r} is not a Cluster in the build")
    for c in by_kind.get("Cluster", []):
        for plugin in _get(c, "spec", "plugins") or []:
            store = (plugin.get("parameters") or {}).get("barmanObjectName")
            if store and (ns_of(c), store) not in stores_here:
                problems.append(
                    f"Cluster {_md(c).get('name')}: plugin {plugin.get('name')} names ObjectStore "
                    f"{store!r}, which is not in the build"
                )
    for pm in by_kind.get("PodMonitor", []):
        want = (_get(pm, "spec", "selector", "matchLabels") or {}).get("cnpg.io/cluster")
        if (ns_of(pm), want) not in clusters_here:
            problems.append(
                f"PodMonitor {_md(pm).get('name')}: selects cnpg.io/cluster={want}, not a Cluster in the build"
            )
    if names is not None and not by_kind.get("AtlasMigration"):
        problems.append(f"no AtlasMigration in the build of {names.env}")
    return problems
