"""The whole twin: API store, Docker network, CNPG, the Atlas operator, external-secrets,
and the Deployment readiness the operator installs wait for."""

from __future__ import annotations

import base64

from .api import ESO_KINDS, Controller, TwinAPI, set_condition
from .atlas import AtlasOperator
from .cnpg import CNPGController
from .docker_net import DockerNet

ESO_API = "external-secrets.io/v1"


class ExternalSecretsController(Controller):
    """external-secrets.io with a fake provider: ClusterSecretStore -> {remote key: {property: value}}."""

    kind = "ExternalSecret"
    join_timeout = 10.0

    def __init__(self, api: TwinAPI, provider: dict[str, dict[str, str]], interval: float = 0.2) -> None:
        super().__init__(api, interval, "twin-eso")
        self.provider = provider

    def tick(self, es: dict) -> None:
        self.reconcile(es)

    def reconcile(self, es: dict) -> None:
        spec, md = es.get("spec") or {}, es["metadata"]
        ref = spec.get("secretStoreRef") or {}
        store = self.api.stored(
            ESO_API,
            ref.get("kind", "SecretStore"),
            ref.get("name"),
            md["namespace"] if ref.get("kind") == "SecretStore" else None,
        )
        if store is None:
            return self._ready(es, "False", "SecretSyncedError", f"could not get store {ref.get('name')}")
        data = {}
        for d in spec.get("data") or []:
            remote = d.get("remoteRef") or {}
            value = (self.provider.get(remote.get("key")) or {}).get(remote.get("property"))
            if value is None:
                return self._ready(es, "False", "SecretSyncedError", f"key {remote.get('key')} not found")
            data[d["secretKey"]] = base64.b64encode(value.encode()).decode()
        target = spec.get("target") or {}
        name = target.get("name") or md["name"]
        if self.api.stored("v1", "Secret", name, md["namespace"]) is None:
            self.api.put(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": ((target.get("template") or {}).get("type")) or "Opaque",
                    "metadata": {"name": name, "namespace": md["namespace"]},
                    "data": data,
                }
            )
        self._ready(es, "True", "SecretSynced", "secret synced")

    def _ready(self, es: dict, status: str, reason: str, message: str) -> None:
        self.api.update_status(
            es,
            lambda cur, st: dict(
                st,
                conditions=set_condition(
                    st.get("conditions") or [],
                    {"type": "Ready", "status": status, "reason": reason, "message": message},
                ),
            ),
        )


class DeploymentController(Controller):
    """Deployments become Available (the operators' own pods are not modelled)."""

    kind = "Deployment"
    join_timeout = 10.0

    def __init__(self, api: TwinAPI, interval: float = 0.2) -> None:
        super().__init__(api, interval, "twin-deployments")

    def tick(self, d: dict) -> None:
        gen = d["metadata"].get("generation", 1)
        self.api.update_status(
            d,
            lambda cur, st: {
                "replicas": 1,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "observedGeneration": gen,
                "conditions": [{"type": "Available", "status": "True"}],
            },
        )


class Twin:
    def __init__(
        self,
        docker_client,
        image: str,
        *,
        retry_unit: float = 1.0,
        eso: bool = False,
        provider: dict[str, dict[str, str]] | None = None,
    ) -> None:
        from fake_cluster_api import BUILTIN_KINDS, OPERATOR_KINDS, PROD_KINDS

        # eso: the cluster also has prod's prerequisites (external-secrets, the barman-cloud plugin's
        # ObjectStore and the Prometheus operator's PodMonitor: stored, not acted on)
        kinds = set(BUILTIN_KINDS | OPERATOR_KINDS | (ESO_KINDS | PROD_KINDS if eso else set()))
        self.api = TwinAPI(kinds=kinds)
        self.net = DockerNet(docker_client, image)
        self.parts: list = []
        try:
            self.cnpg = CNPGController(self.api, self.net)
            self.atlas = AtlasOperator(self.api, self.net, retry_unit=retry_unit)
            self.deployments = DeploymentController(self.api)
            self.parts = [self.cnpg, self.atlas, self.deployments]
            if eso:
                self.eso = ExternalSecretsController(self.api, provider or {})
                self.parts.append(self.eso)
            # what `helm upgrade --install` of the Atlas chart creates (helm is a fake here)
            self.api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "atlas-operator"}})
            self.api.put(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "atlas-operator", "namespace": "atlas-operator"},
                    "spec": {},
                }
            )
            for p in self.parts:
                p.start()
        except BaseException:
            self.close()
            raise

    def errors(self) -> list[str]:
        return [e for p in self.parts for e in getattr(p, "errors", [])]

    def close(self) -> None:
        for p in self.parts:
            p.stop()
        self.net.close()
