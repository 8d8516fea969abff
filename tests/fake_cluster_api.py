"""FakeClusterAPI: a narrow in-memory stand-in for the Kubernetes API server.

No API server can run on the machines that test this project (no container
registry, no images), so the orchestration is tested against this fake of
:class:`dbstack.k8s.api.ClusterAPI`. It does only what that interface
promises: server-side apply stores objects (keeping their ``status`` and
bumping ``metadata.generation`` when the spec changes), get/list read them
back (list understands equality label selectors), ``has_kind`` answers from
a set of served kinds, and logs come from a dict. Controllers are simulated
by *reactors*: callables run on every read, which tests use to move a
Cluster or AtlasMigration through its conditions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator

from dbstack.errors import KubernetesError

BUILTIN_KINDS = {
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "Node"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
}
OPERATOR_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("db.atlasgo.io/v1alpha1", "AtlasMigration"),
}
# Served only when the barman-cloud plugin / the Prometheus operator is installed.
PROD_KINDS = {("barmancloud.cnpg.io/v1", "ObjectStore"), ("monitoring.coreos.com/v1", "PodMonitor")}
ESO_KINDS = {("external-secrets.io/v1", "ExternalSecret")}
CLUSTER_SCOPED = {
    "Namespace",
    "Node",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
}

Key = tuple[str, str, str, str]  # apiVersion, kind, namespace, name
Reactor = Callable[["FakeClusterAPI"], None]


class FakeClusterAPI:
    def __init__(self, context: str = "kind-dbstack", kinds: Iterable[tuple[str, str]] | None = None) -> None:
        self.context = context
        self.kinds = set(BUILTIN_KINDS | OPERATOR_KINDS if kinds is None else kinds)
        self.objects: dict[Key, dict] = {}
        self.calls: list[tuple] = []
        self.reactors: list[Reactor] = []
        self.pod_logs: dict[tuple[str, str], list[str]] = {}
        self.managers: dict[Key, str] = {}

    # -- helpers for tests ----------------------------------------------------
    def key(self, api_version: str, kind: str, name: str, namespace: str | None) -> Key:
        return (api_version, kind, "" if kind in CLUSTER_SCOPED else (namespace or ""), name)

    def put(self, obj: dict) -> dict:
        """Store an object as a controller would (status included), no call recorded."""
        md = obj.setdefault("metadata", {})
        md.setdefault("generation", 1)
        self.objects[self.key(obj["apiVersion"], obj["kind"], md["name"], md.get("namespace"))] = copy.deepcopy(obj)
        return obj

    def set_status(self, api_version: str, kind: str, name: str, namespace: str | None, status: dict) -> None:
        self.objects[self.key(api_version, kind, name, namespace)]["status"] = copy.deepcopy(status)

    def stored(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        return self.objects.get(self.key(api_version, kind, name, namespace))

    def applied(self) -> list[str]:
        """'Kind namespace/name' of every apply call, in order."""
        return [c[1] for c in self.calls if c[0] == "apply"]

    # -- ClusterAPI -------------------------------------------------------------
    def _react(self) -> None:
        for r in list(self.reactors):
            r(self)

    def has_kind(self, api_version: str, kind: str) -> bool:
        self.calls.append(("has_kind", f"{api_version} {kind}"))
        return (api_version, kind) in self.kinds

    def apply(self, obj: dict, *, field_manager: str, force: bool = False) -> dict:
        av, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        md = obj.get("metadata") or {}
        ns = md.get("namespace")
        label = f"{kind} {ns + '/' if ns and kind not in CLUSTER_SCOPED else ''}{md.get('name')}"
        self.calls.append(("apply", label, field_manager, force))
        if (av, kind) not in self.kinds:
            raise KubernetesError(
                f"cannot apply {label}: no matches for kind {kind!r} in version {av!r}",
                "install the operator that provides it",
            )
        if (
            kind not in CLUSTER_SCOPED
            and ns
            and ("v1", "Namespace") in self.kinds
            and self.key("v1", "Namespace", ns, None) not in self.objects
            and kind != "Namespace"
        ):
            raise KubernetesError(f'cannot apply {label}: namespaces "{ns}" not found', "apply the Namespace first")
        k = self.key(av, kind, md["name"], ns)
        prev = self.objects.get(k)
        new = copy.deepcopy(obj)
        new.pop("status", None)
        nmd = new.setdefault("metadata", {})
        if prev is None:
            nmd["generation"] = 1
        else:
            old_spec = {x: y for x, y in prev.items() if x not in ("metadata", "status")}
            new_spec = {x: y for x, y in new.items() if x not in ("metadata", "status")}
            nmd["generation"] = prev["metadata"].get("generation", 1) + (old_spec != new_spec)
            if "status" in prev:
                new["status"] = prev["status"]
        self.managers[k] = field_manager
        self.objects[k] = new
        return copy.deepcopy(new)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        self.calls.append(("get", f"{kind} {namespace + '/' if namespace else ''}{name}"))
        self._react()
        obj = self.objects.get(self.key(api_version, kind, name, namespace))
        return copy.deepcopy(obj) if obj is not None else None

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict]:
        self.calls.append(("list", f"{kind} {namespace or ''} {label_selector or ''}".strip()))
        self._react()
        want = _parse_selector(label_selector)
        out = []
        for (av, k, ns, _), obj in sorted(self.objects.items()):
            if av != api_version or k != kind or (namespace and ns != namespace):
                continue
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if all((labels.get(lk) == lv) if lv is not None else lk in labels for lk, lv in want):
                out.append(copy.deepcopy(obj))
        return out

    def logs(
        self, namespace: str, pod: str, *, container: str | None = None, tail: int | None = None, follow: bool = False
    ) -> Iterator[str]:
        self.calls.append(("logs", f"{namespace}/{pod}", container, tail, follow))
        lines = self.pod_logs.get((namespace, pod), [])
        return iter(lines[-tail:] if tail else lines)


def _parse_selector(sel: str | None) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for part in (sel or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part or " in " in part or " notin " in part:
            raise ValueError(f"FakeClusterAPI supports only equality selectors, got {part!r}")
        if "=" in part:
            k, v = part.split("=", 1)
            out.append((k.strip().rstrip("="), v.strip()))
        else:
            out.append((part, None))
    return out
