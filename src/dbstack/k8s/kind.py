"""The Kind cluster: create it from kind/cluster.yaml, delete it (only ours).

Existence is an exact line of `kind get clusters` (the original's grep
matched substrings). kind-down deletes only a cluster whose nodes carry the
label our kind/cluster.yaml sets, unless forced.
"""

from __future__ import annotations

from ..errors import KubernetesError, Refused
from .programs import display
from .steps import Step
from .toolbox import Toolbox

OWNER_LABEL = "dbstack.io/managed-by"
OWNER_VALUE = "dbstack"
CREATE_WAIT = "120s"


def create_argv(box: Toolbox) -> list[str]:
    ks = box.ks
    return [
        "kind",
        "create",
        "cluster",
        "--name",
        ks.kind_cluster,
        "--config",
        ks.rel(ks.kind_config),
        "--wait",
        CREATE_WAIT,
    ]


def delete_argv(box: Toolbox) -> list[str]:
    return ["kind", "delete", "cluster", "--name", box.ks.kind_cluster]


def up_steps(box: Toolbox) -> list[Step]:
    ks = box.ks

    def action() -> None:
        if not ks.kind_config.is_file():
            raise KubernetesError(f"Kind config {ks.kind_config} does not exist", "restore kind/cluster.yaml from git")
        if box.cluster_exists():
            box.out(f"Kind cluster {ks.kind_cluster} exists; not creating it")
        else:
            box.runner.run(create_argv(box), timeout=900)
        box.check_context()
        box.out(f"context {ks.context} points at the local Kind API server")

    return [
        Step(
            f"Kind cluster {ks.kind_cluster} (context {ks.context})",
            [
                "$ kind get clusters",
                f"  (exact line {ks.kind_cluster!r}) when absent:",
                f"$ {display(create_argv(box))}",
                f"check kube context {ks.context} exists and points at a local API server",
            ],
            action,
        )
    ]


def down_steps(box: Toolbox, *, force: bool = False) -> list[Step]:
    ks = box.ks
    selector = f"{OWNER_LABEL}={OWNER_VALUE}"

    def action() -> None:
        if not box.cluster_exists():
            box.out(f"Kind cluster {ks.kind_cluster} does not exist; nothing to delete")
            return
        if not force:
            try:
                nodes = box.api().list("v1", "Node", label_selector=selector)
            except KubernetesError as exc:
                raise Refused(
                    f"cannot verify that Kind cluster {ks.kind_cluster} was created by dbstack: {exc.message}",
                    "start it (`docker start` its nodes) or pass --force to delete it anyway",
                ) from None
            if not nodes:
                raise Refused(
                    f"Kind cluster {ks.kind_cluster} was not created by dbstack (no node has the label {selector})",
                    "it is not ours, so it is left alone; pass --force to delete it anyway",
                )
        box.runner.run(delete_argv(box), timeout=600)

    plan = ["$ kind get clusters", f"  (exact line {ks.kind_cluster!r}) when present:"]
    if not force:
        plan.append(f"check nodes carry {selector} (API, context {ks.context}); refuse otherwise")
    plan.append(f"$ {display(delete_argv(box))}")
    return [Step(f"delete Kind cluster {ks.kind_cluster}", plan, action)]
