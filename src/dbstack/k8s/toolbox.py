"""What the cluster tasks work with: settings, programs, the API, a clock.

One object carries the outside world (subprocess runner, API factory, clock,
environment) so tests swap in fakes at one place: fake kind/helm/kubectl
executables on PATH and the test suite's FakeClusterAPI (tests/fake_cluster_api.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import KubernetesError
from ..settings import Settings
from .api import ClusterAPI
from .config import K8sSettings, k8s_settings
from .kubeconfig import check_kind_context, kubeconfig_paths
from .programs import (
    MIN_VERSIONS,
    VERSION_ARGV,
    VERSION_WHY,
    Runner,
    check_version,
    display,
    find_tool,
    min_version_text,
)
from .wait import Clock


@dataclass
class Toolbox:
    settings: Settings
    out: Callable[[str], None] = print
    # context -> ClusterAPI; None: the kubernetes client on this environment's kubeconfig
    api_factory: Callable[[str], ClusterAPI] | None = None
    clock: Clock = field(default_factory=Clock)
    environ: Mapping[str, str] | None = None
    poll_interval: float = 2.0
    _api: ClusterAPI | None = field(default=None, init=False, repr=False)
    _runner: Runner | None = field(default=None, init=False, repr=False)

    @property
    def ks(self) -> K8sSettings:
        return k8s_settings(self.settings)

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = Runner(self.out, self.env, cwd=self.settings.root)
        return self._runner

    def require_tools(self, *names: str) -> None:
        """Fail before any change when a program is missing."""
        for n in names:
            find_tool(n, self.env)

    def check_versions(self, *names: str) -> list[str]:
        """Fail before any change when a program is missing or too old; 'name vX.Y.Z' of each."""
        self.require_tools(*names)
        return [check_version(n, self.env) for n in names]

    def versions_step(self, *names: str):
        """A plan step naming each version check; its action runs them (first, before any change)."""
        from .steps import Step

        plan = [
            f"$ {display(VERSION_ARGV[n])}  (needs {n} >= {min_version_text(n)}: {VERSION_WHY[n]})"
            for n in names
            if n in MIN_VERSIONS
        ]

        def action() -> None:
            self.out("tools: " + ", ".join(self.check_versions(*names)))

        return Step(f"check {', '.join(names)} versions", plan, action)

    def kind_clusters(self) -> list[str]:
        cp = self.runner.run(["kind", "get", "clusters"])
        # One name per line on stdout; "No kind clusters found." goes to stderr.
        return [line.strip() for line in cp.stdout.splitlines() if line.strip()]

    def cluster_exists(self) -> bool:
        return self.ks.kind_cluster in self.kind_clusters()

    def check_context(self) -> None:
        check_kind_context(self.ks.context, self.ks.kind_config, self.env)

    def _real_api(self, context: str) -> ClusterAPI:
        from .api import KubernetesClusterAPI

        # Explicit: the client otherwise reads $KUBECONFIG once, at import.
        files = os.pathsep.join(str(p) for p in kubeconfig_paths(self.env))
        return KubernetesClusterAPI(context, config_file=files)

    def check_cluster(self) -> None:
        """The Kind cluster exists (exact name) and its context points at a local API server."""
        ks = self.ks
        if not self.cluster_exists():
            raise KubernetesError(
                f"Kind cluster {ks.kind_cluster!r} does not exist (`kind get clusters` does not list it)",
                "create it with `inv kind-up` (or `inv kind-cnpg-setup`)",
            )
        self.check_context()

    def api(self) -> ClusterAPI:
        """The API of the Kind cluster (context kind-<name>), after check_cluster."""
        if self._api is None:
            self.check_cluster()
            self._api = (self.api_factory or self._real_api)(self.ks.context)
        return self._api
