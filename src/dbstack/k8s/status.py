"""What is running in one environment: status and logs.

Pods are selected with ``cnpg.io/cluster=<name>,cnpg.io/podRole=instance``:
the bare ``cnpg.io/cluster`` label also matches CNPG's finished job pods
(initdb, join), which the original's selector showed (CNPG docs: labels_annotations.md, cnpg.io/podRole). Logs
are read pod by pod through the API, so there is no --max-log-requests cap.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from ..errors import UsageError
from .config import load_environments
from .deploy import CLUSTER_API, MIGRATION_API
from .steps import Step
from .toolbox import Toolbox
from .wait import condition

LOG_SOURCES = ("db", "atlas", "cnpg")


def instance_selector(cluster: str) -> str:
    return f"cnpg.io/cluster={cluster},cnpg.io/podRole=instance"


def _cond(obj: dict, ctype: str) -> str:
    c = condition(obj, ctype)
    if c is None:
        return f"{ctype}=Unknown"
    text = f"{ctype}={c.get('status')}"
    if c.get("reason"):
        text += f" ({c['reason']})"
    if c.get("message") and c.get("status") != "True":
        text += f": {c['message']}"
    return text


def _pod_line(p: dict) -> str:
    md, st = p.get("metadata") or {}, p.get("status") or {}
    labels = md.get("labels") or {}
    cs = st.get("containerStatuses") or []
    ready = sum(1 for c in cs if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in cs)
    role = labels.get("cnpg.io/instanceRole") or labels.get("role") or "?"
    return f"  {md.get('name')}  {role}  {st.get('phase', '?')}  ready {ready}/{len(cs)}  restarts {restarts}"


def status_steps(box: Toolbox, env: str) -> list[Step]:
    envs = load_environments(box.ks.environments_file)
    envs.get(env)
    n = envs.names(env)
    sel = instance_selector(n.cluster)

    def show() -> None:
        api = box.api()
        out = box.out
        c = api.get(CLUSTER_API, "Cluster", n.cluster, n.namespace)
        if c is None:
            out(f"Cluster {n.namespace}/{n.cluster}: not found (deploy it with `inv cnpg-deploy --env {env}`)")
        else:
            st = c.get("status") or {}
            instances = st.get("instances", (c.get("spec") or {}).get("instances"))
            out(
                f"Cluster {n.namespace}/{n.cluster}: phase {st.get('phase') or '(none yet)'!r}, "
                f"instances {st.get('readyInstances', 0)}/{instances} ready, "
                f"primary {st.get('currentPrimary') or '-'}, {_cond(c, 'Ready')}"
            )
            if st.get("image"):
                out(f"  image {st['image']}")
        pods = api.list("v1", "Pod", n.namespace, sel)
        out(f"Pods ({sel}): {len(pods)}")
        for p in sorted(pods, key=lambda p: p["metadata"]["name"]):
            out(_pod_line(p))
        m = api.get(MIGRATION_API, "AtlasMigration", n.migration, n.namespace)
        if m is None:
            out(f"AtlasMigration {n.namespace}/{n.migration}: not found")
        else:
            st = m.get("status") or {}
            out(
                f"AtlasMigration {n.namespace}/{n.migration}: {_cond(m, 'Ready')}, "
                f"last applied version {st.get('lastAppliedVersion') or 'none'}"
                + (f", failed attempts {st['failed']}" if st.get("failed") else "")
            )
        cm = api.get("v1", "ConfigMap", n.configmap, n.namespace)
        if cm is not None:
            ann = (cm.get("metadata") or {}).get("annotations") or {}
            from .configmap import ANNOTATION_LATEST, ANNOTATION_SUM

            out(
                f"ConfigMap {n.configmap}: latest version {ann.get(ANNOTATION_LATEST, '?')}, "
                f"atlas.sum {ann.get(ANNOTATION_SUM, '?')}"
            )
        for line in troubleshooting_lines(box, env):
            out(line)

    ctx = box.ks.context
    return [
        Step(
            f"status of {env} (namespace {n.namespace})",
            [
                f"read clusters.postgresql.cnpg.io/{n.cluster} -n {n.namespace} (context {ctx})",
                f"list pods -n {n.namespace} -l {sel}",
                f"read atlasmigrations.db.atlasgo.io/{n.migration} and configmap/{n.configmap} -n {n.namespace}",
            ],
            show,
        )
    ]


def troubleshooting_lines(box: Toolbox, env: str) -> list[str]:
    """This environment's real names in the kubectl/psql commands one reaches for when it misbehaves."""
    from .forward import default_port, secret_hint

    envs = load_environments(box.ks.environments_file)
    n = envs.names(env)
    ks = box.ks
    k = f"kubectl --context {ks.context}"
    port = default_port(box)
    return [
        "Troubleshooting commands (the names of this environment):",
        f"  {k} -n {n.namespace} describe atlasmigration {n.migration}",
        f"  {k} -n {n.namespace} get configmap {n.configmap} -o yaml",
        f"  {k} -n {n.namespace} get pods -l {instance_selector(n.cluster)}",
        f"  {k} -n {n.namespace} get events --sort-by=.lastTimestamp",
        f"  {k} -n {ks.cnpg_namespace} logs deployment/cnpg-controller-manager   (or `inv cnpg-logs --env {env} "
        "--source cnpg`)",
        f"  {k} -n {ks.atlas_namespace} logs -l app.kubernetes.io/name=atlas-operator -c manager   "
        f"(or `inv cnpg-logs --env {env} --source atlas`)",
        f'  psql: `inv cnpg-port-forward --env {env}`, then PGPASSWORD="$({secret_hint(box, n)})" '
        f"psql -h 127.0.0.1 -p {port} -U {envs.owner} {envs.database}",
    ]


def _log_targets(box: Toolbox, env: str, what: str) -> tuple[str, str, str | None]:
    """(namespace, label selector, container) of the pods whose logs `what` means."""
    ks = box.ks
    if what == "db":
        envs = load_environments(ks.environments_file)
        envs.get(env)
        n = envs.names(env)
        return n.namespace, instance_selector(n.cluster), "postgres"
    if what == "atlas":
        return ks.atlas_namespace, "app.kubernetes.io/name=atlas-operator", "manager"
    if what == "cnpg":
        return ks.cnpg_namespace, "app.kubernetes.io/name=cloudnative-pg", None
    raise UsageError(f"unknown log source {what!r}", f"use one of: {', '.join(LOG_SOURCES)}")


def logs_steps(box: Toolbox, env: str, *, what: str = "db", tail: int = 100, follow: bool = False) -> list[Step]:
    if tail < 0:
        raise UsageError(f"--tail must be 0 or more, got {tail}", "pass e.g. --tail 200")
    if what == "db":  # validates the environment even for a dry run
        load_environments(box.ks.environments_file).get(env)
    ns, sel, container = _log_targets(box, env, what)

    def show() -> None:
        api = box.api()
        pods = sorted(api.list("v1", "Pod", ns, sel), key=lambda p: p["metadata"]["name"])
        if not pods:
            box.out(f"no pods in {ns} match {sel}")
            return
        if not follow:
            for p in pods:
                name = p["metadata"]["name"]
                box.out(f"--- {ns}/{name}")
                for line in api.logs(ns, name, container=container, tail=tail):
                    box.out(f"[{name}] {line}")
            return
        for name, line in _merged(api, ns, [p["metadata"]["name"] for p in pods], container, tail):
            box.out(f"[{name}] {line}")

    return [
        Step(
            f"logs of {what} pods in {ns}",
            [
                f"list pods -n {ns} -l {sel} (context {box.ks.context})",
                f"read each pod's log{' (container ' + container + ')' if container else ''}, last {tail} lines"
                + (", then follow all of them" if follow else ""),
            ],
            show,
        )
    ]


def _merged(api, ns: str, pods: list[str], container: str | None, tail: int) -> Iterator[tuple[str, str]]:
    """Follow several pods at once (one reader thread each), lines as they come."""
    q: queue.Queue = queue.Queue()
    done = object()

    def reader(pod: str) -> None:
        try:
            for line in api.logs(ns, pod, container=container, tail=tail, follow=True):
                q.put((pod, line))
        except Exception as exc:  # noqa: BLE001 - one pod's stream ending must not stop the others
            q.put((pod, f"(log stream ended: {exc})"))
        finally:
            q.put(done)

    for p in pods:
        threading.Thread(target=reader, args=(p,), daemon=True).start()
    live = len(pods)
    while live:
        item = q.get()
        if item is done:
            live -= 1
            continue
        yield item
