"""The one narrow interface to a Kubernetes API server, and its real implementation.

Everything the orchestration needs from a cluster goes through
:class:`ClusterAPI`: server-side apply, get, list, logs and "is this kind
served". :class:`KubernetesClusterAPI` implements it with the official
``kubernetes`` client, always built for one explicit context
(``new_client_from_config(context=...)``), never the current one.
Tests use the test suite's FakeClusterAPI (tests/fake_cluster_api.py) (no API server can run here).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, Literal, Protocol

from ..errors import KubernetesError


class ClusterAPI(Protocol):
    context: str

    def has_kind(self, api_version: str, kind: str) -> bool:
        """Whether the API server serves this kind (its CRD is installed)."""

    def apply(self, obj: dict, *, field_manager: str, force: bool = False) -> dict:
        """Server-side apply of one object; the object as stored."""

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """The object, or None when it does not exist."""

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict]:
        """Objects of a kind, optionally in one namespace and matching an equality selector."""

    def logs(
        self, namespace: str, pod: str, *, container: str | None = None, tail: int | None = None, follow: bool = False
    ) -> Iterator[str]:
        """A pod's log lines (without line ends)."""


def describe(obj: dict) -> str:
    """Kind/namespace/name of an object, as plans and messages show it."""
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{md.get('name')}"


class KubernetesClusterAPI:
    """ClusterAPI over the official client (dynamic client for any kind)."""

    def __init__(self, context: str, config_file: str | None = None) -> None:
        from kubernetes import config, dynamic
        from kubernetes.config.config_exception import ConfigException

        self.context = context
        if config_file is None:
            from .kubeconfig import kubeconfig_paths

            config_file = os.pathsep.join(str(p) for p in kubeconfig_paths())
        try:
            # persist_config=False: never write refreshed tokens back into the user's kubeconfig
            self._client = config.new_client_from_config(config_file=config_file, context=context, persist_config=False)
        except ConfigException as exc:
            raise KubernetesError(
                f"cannot load kube context {context}: {exc}", "create the cluster with `inv kind-up`"
            ) from None
        with self._errors(f"connect to the API server of context {context}"):
            self._dyn = dynamic.DynamicClient(self._client)

    def _errors(self, what: str):
        return _ApiErrors(what, self.context)

    def _resource(self, api_version: str, kind: str):
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self._dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise KubernetesError(
                f"the cluster (context {self.context}) does not serve {kind} ({api_version})",
                "install the operator that provides it (`inv operators-install`)",
            ) from None

    def has_kind(self, api_version: str, kind: str) -> bool:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        with self._errors(f"look up {kind}"):
            try:
                self._dyn.resources.get(api_version=api_version, kind=kind)
                return True
            except ResourceNotFoundError:
                return False

    def apply(self, obj: dict, *, field_manager: str, force: bool = False) -> dict:
        res = self._resource(obj["apiVersion"], obj["kind"])
        md = obj.get("metadata") or {}
        with self._errors(f"apply {describe(obj)}"):
            out = res.server_side_apply(
                body=obj,
                name=md.get("name"),
                namespace=md.get("namespace"),
                field_manager=field_manager,
                force_conflicts=force,
            )
        return out.to_dict()

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        res = self._resource(api_version, kind)
        with self._errors(f"read {kind} {name}"):
            try:
                return res.get(name=name, namespace=namespace).to_dict()
            except NotFoundError:
                return None

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict]:
        res = self._resource(api_version, kind)
        with self._errors(f"list {kind}"):
            out = res.get(namespace=namespace, label_selector=label_selector)
        return list(out.to_dict().get("items") or [])

    def logs(
        self, namespace: str, pod: str, *, container: str | None = None, tail: int | None = None, follow: bool = False
    ) -> Iterator[str]:
        from kubernetes import client

        core = client.CoreV1Api(self._client)
        kw: dict[str, Any] = {"follow": follow, "_preload_content": False}
        if container:
            kw["container"] = container
        if tail is not None:
            kw["tail_lines"] = tail
        with self._errors(f"read logs of pod {namespace}/{pod}"):
            # With _preload_content=False the client returns its raw HTTP response, not the str it is
            # annotated with.
            resp: Any = core.read_namespaced_pod_log(pod, namespace, **kw)
        buf = b""
        stream = resp.stream(4096) if hasattr(resp, "stream") else iter([resp.read()])
        for chunk in stream:
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace")
        if buf:
            yield buf.decode("utf-8", "replace")


class _ApiErrors:
    """Turns client exceptions into one KubernetesError with the server's message."""

    def __init__(self, what: str, context: str) -> None:
        self.what, self.context = what, context

    def __enter__(self) -> None:
        return None

    def __exit__(self, et, exc, tb) -> Literal[False]:  # never swallows: re-raises or replaces
        if exc is None or isinstance(exc, KubernetesError):
            return False
        from kubernetes.client.exceptions import ApiException

        if isinstance(exc, ApiException):
            msg = exc.reason or ""
            try:
                msg = json.loads(exc.body or "{}").get("message") or msg
            except (ValueError, AttributeError):
                pass
            raise KubernetesError(
                f"cannot {self.what}: {exc.status} {msg}",
                "read the API server's message above; nothing after this step was applied",
            ) from None
        if isinstance(exc, (OSError, ConnectionError)) or type(exc).__module__.startswith("urllib3"):
            raise KubernetesError(
                f"cannot {self.what}: the API server of context {self.context} does not answer ({exc})",
                "is the Kind cluster running? `docker ps`, `inv kind-up`",
            ) from None
        return False
