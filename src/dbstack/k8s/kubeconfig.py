"""Refuse any kube context that is not the local Kind cluster.

Every call is pinned to ``kind-<cluster>``; this check makes sure that
context exists and points at a local API server (Kind publishes it on
127.0.0.1 unless kind/cluster.yaml says otherwise), so a stale or hijacked
context of the same name cannot send our objects to a real cluster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import KubernetesError

LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def kubeconfig_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    environ = os.environ if environ is None else environ
    value = environ.get("KUBECONFIG", "")
    if value:
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    home = environ.get("HOME") or str(Path.home())
    return [Path(home) / ".kube" / "config"]


@dataclass(frozen=True)
class ContextInfo:
    name: str
    cluster: str
    server: str


def read_contexts(environ: Mapping[str, str] | None = None) -> dict[str, ContextInfo]:
    """Contexts with their cluster's server, merged like kubectl (first file wins)."""
    import yaml

    contexts: dict[str, dict[str, Any]] = {}
    clusters: dict[str, str] = {}
    for p in kubeconfig_paths(environ):
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except FileNotFoundError:
            continue
        except (OSError, yaml.YAMLError) as exc:
            raise KubernetesError(f"cannot read kubeconfig {p}: {exc}", "fix or remove the file") from None
        for c in data.get("contexts") or []:
            if isinstance(c, dict) and c.get("name") and c["name"] not in contexts:
                contexts[c["name"]] = c.get("context") or {}
        for c in data.get("clusters") or []:
            if isinstance(c, dict) and c.get("name") and c["name"] not in clusters:
                clusters[c["name"]] = str((c.get("cluster") or {}).get("server", ""))
    return {
        name: ContextInfo(name, str(ctx.get("cluster", "")), clusters.get(str(ctx.get("cluster", "")), ""))
        for name, ctx in contexts.items()
    }


def kind_api_address(kind_config: Path) -> str | None:
    """networking.apiServerAddress from kind/cluster.yaml, if set."""
    import yaml

    try:
        data = yaml.safe_load(kind_config.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    addr = (data.get("networking") or {}).get("apiServerAddress")
    return str(addr) if addr else None


def check_kind_context(context: str, kind_config: Path, environ: Mapping[str, str] | None = None) -> ContextInfo:
    """The context, if it exists and points at a local (Kind) API server; else refuse."""
    paths = ", ".join(str(p) for p in kubeconfig_paths(environ))
    cluster_name = context.removeprefix("kind-")
    if not context.startswith("kind-"):
        raise KubernetesError(
            f"refusing to use kube context {context!r}: it is not a Kind context (kind-<name>)",
            "dbstack only deploys to its own Kind cluster; set dbstack.k8s.kind_cluster",
        )
    info = read_contexts(environ).get(context)
    if info is None:
        raise KubernetesError(
            f"kube context {context} is not in the kubeconfig ({paths})",
            f"create the cluster with `inv kind-up`, or restore the context with "
            f"`kind export kubeconfig --name {cluster_name}`",
        )
    host = urlsplit(info.server).hostname or ""
    allowed = set(LOOPBACK)
    extra = kind_api_address(kind_config)
    if extra:
        allowed.add(extra)
    if host not in allowed:
        raise KubernetesError(
            f"refusing to use kube context {context}: its cluster {info.cluster!r} points at "
            f"{info.server or 'no server'}, "
            "not at a local Kind API server",
            f"this context is not the Kind cluster {cluster_name!r}; fix it with "
            f"`kind export kubeconfig --name {cluster_name}` (nothing was changed)",
        )
    return info
