"""Install the CloudNativePG and Atlas operators, pinned, idempotently.

CNPG: its release manifest for the pinned version (1.30.0 supports
PostgreSQL 18; the original's 1.24.0 did not), applied server-side (the CRDs
are too big for client-side apply), then a wait on its controller Deployment:
its webhooks reject Clusters until it is Available. Atlas operator: `helm
upgrade --install` of the pinned OCI chart (plain `helm install` fails on a
re-run), then the same wait.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import KubernetesError
from .programs import display
from .steps import Step
from .toolbox import Toolbox
from .wait import deployment_ready, wait_for

# Cluster-scoped prerequisites first: later objects live in or refer to them.
APPLY_ORDER = (
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "ClusterRole",
    "Role",
    "ClusterRoleBinding",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "Deployment",
)


def apply_order(objs: list[dict]) -> list[dict]:
    def rank(o: dict) -> int:
        k = o.get("kind", "")
        return APPLY_ORDER.index(k) if k in APPLY_ORDER else len(APPLY_ORDER)

    return sorted(objs, key=rank)  # stable: keeps the manifest's order within a kind


def cnpg_cache(box: Toolbox) -> Path:
    return box.settings.root / ".dbstack" / "cache" / f"cnpg-{box.ks.cnpg_version}.yaml"


def cnpg_manifest(box: Toolbox) -> list[dict]:
    """The pinned release manifest's objects (downloaded once, then cached)."""
    import yaml

    ks = box.ks
    cache = cnpg_cache(box)
    if not cache.is_file():
        import urllib.request

        box.out(f"downloading {ks.cnpg_manifest_url}")
        try:
            with urllib.request.urlopen(ks.cnpg_manifest_url, timeout=60) as resp:
                data = resp.read()
        except OSError as exc:
            raise KubernetesError(
                f"cannot download the CNPG {ks.cnpg_version} manifest from {ks.cnpg_manifest_url}: {exc}",
                f"check the network, or save the file as {cache} and re-run",
            ) from None
        from ..files import atomic_write

        atomic_write(cache, data)
    try:
        objs = [d for d in yaml.safe_load_all(cache.read_text(encoding="utf-8")) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise KubernetesError(f"cannot read the CNPG manifest {cache}: {exc}", f"delete {cache} and re-run") from None
    if not any(
        o.get("kind") == "Deployment" and (o.get("metadata") or {}).get("name") == ks.cnpg_deployment for o in objs
    ):
        raise KubernetesError(
            f"{cache} is not a CNPG release manifest (no Deployment {ks.cnpg_deployment})", f"delete {cache} and re-run"
        )
    return objs


def cnpg_install_steps(box: Toolbox) -> list[Step]:
    ks = box.ks
    dep = f"{ks.cnpg_namespace}/{ks.cnpg_deployment}"

    def install() -> None:
        api = box.api()
        objs = apply_order(cnpg_manifest(box))
        for o in objs:
            api.apply(o, field_manager=ks.field_manager, force=True)
        box.out(f"applied {len(objs)} objects server-side (context {ks.context})")
        _wait_for_deployment(box, api, ks.cnpg_namespace, ks.cnpg_deployment)

    return [
        Step(
            f"CloudNativePG {ks.cnpg_version} operator",
            [
                f"manifest {ks.cnpg_manifest_url}",
                f"  (downloaded once into {ks.rel(cnpg_cache(box))})",
                f"server-side apply of every object in it (field manager {ks.field_manager}, force conflicts), "
                f"context {ks.context}",
                f"  (what `kubectl --context {ks.context} apply --server-side --force-conflicts -f <manifest>` does)",
                f"wait for Deployment {dep} Available (timeout {ks.operator_timeout:.0f}s)",
            ],
            install,
        )
    ]


def _wait_for_deployment(box: Toolbox, api, namespace: str, name: str) -> None:
    """Wait until an operator's Deployment is Available (the operator timeout), naming the kubectl that shows why."""
    ks = box.ks
    wait_for(
        f"Deployment {namespace}/{name}",
        lambda: api.get("apps/v1", "Deployment", name, namespace),
        deployment_ready,
        timeout=ks.operator_timeout,
        clock=box.clock,
        out=box.out,
        interval=box.poll_interval,
        hint=f"kubectl --context {ks.context} -n {namespace} describe deployment {name}",
    )


def helm_argv(box: Toolbox) -> list[str]:
    ks = box.ks
    return [
        "helm",
        "upgrade",
        "--install",
        ks.atlas_release,
        ks.atlas_operator_chart,
        "--version",
        ks.atlas_operator_version,
        "--namespace",
        ks.atlas_namespace,
        "--create-namespace",
        "--kube-context",
        ks.context,
        "--wait",
        "--timeout",
        f"{ks.operator_timeout:.0f}s",
    ]


def atlas_install_steps(box: Toolbox) -> list[Step]:
    ks = box.ks
    dep = f"{ks.atlas_namespace}/{ks.atlas_deployment}"

    def install() -> None:
        api = box.api()
        box.runner.run(helm_argv(box), timeout=ks.operator_timeout + 120)
        _wait_for_deployment(box, api, ks.atlas_namespace, ks.atlas_deployment)

    return [
        Step(
            f"Atlas operator {ks.atlas_operator_version}",
            [
                f"$ {display(helm_argv(box))}",
                f"wait for Deployment {dep} Available (timeout {ks.operator_timeout:.0f}s)",
            ],
            install,
        )
    ]
