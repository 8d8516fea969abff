"""The twin's Docker network and containers (only what it created, found by label).

Kubernetes DNS is modelled with Docker's embedded resolver: a Service is a
network alias with its full name (``<svc>.<ns>.svc.cluster.local``), and a
pod's resolver gets its namespace's search domains (``--dns-search``), so the
shorter forms resolve exactly where they would in a cluster. The host reaches
a container only through a port published on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from pathlib import Path

LABEL = "dbstack.twin"


def pod_dns_search(namespace: str) -> list[str]:
    """A pod's resolv.conf search list (Kubernetes "DNS for Services and Pods")."""
    return [f"{namespace}.svc.cluster.local", "svc.cluster.local", "cluster.local"]


class DockerNet:
    def __init__(self, client, image: str) -> None:
        self.client = client
        self.image = image
        self.id = uuid.uuid4().hex[:10]
        self.name = f"dbstack-twin-{self.id}"
        self.labels = {LABEL: self.id}
        self.network = client.networks.create(self.name, driver="bridge", labels=self.labels)
        self._tls: Path | None = None

    def tls_dir(self) -> Path:
        """A throwaway self-signed certificate (CNPG serves TLS; sslmode=require must work)."""
        if self._tls is None:
            d = Path(tempfile.mkdtemp(prefix="dbstack-twin-tls-"))
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=dbstack-twin",
                    "-keyout",
                    str(d / "tls.key"),
                    "-out",
                    str(d / "tls.crt"),
                ],
                check=True,
                capture_output=True,
            )
            for p in d.iterdir():
                p.chmod(0o644)
            d.chmod(0o755)
            self._tls = d
        return self._tls

    def run(
        self,
        name: str,
        *,
        command=None,
        entrypoint=None,
        environment=None,
        aliases=(),
        dns_search=None,
        ports=(5432,),
        volumes=None,
        labels=None,
    ) -> tuple[str, dict[int, int]]:
        """Create and start a container on the network; (id, {container port: 127.0.0.1 port})."""
        api = self.client.api
        host_config = api.create_host_config(
            port_bindings=dict.fromkeys(ports, ("127.0.0.1", None)),
            dns_search=dns_search or None,
            binds=volumes or None,
        )
        net_config = api.create_networking_config(
            {self.name: api.create_endpoint_config(aliases=list(aliases) or None)}
        )
        ctr = api.create_container(
            self.image,
            command=command,
            entrypoint=entrypoint,
            name=f"{self.name}-{name}",
            environment=environment or {},
            ports=list(ports),
            host_config=host_config,
            networking_config=net_config,
            labels={**self.labels, **(labels or {})},
            detach=True,
        )
        api.start(ctr["Id"])
        info = api.inspect_container(ctr["Id"])
        published = {}
        for p in ports:
            binding = (info["NetworkSettings"]["Ports"] or {}).get(f"{p}/tcp") or []
            published[p] = int(binding[0]["HostPort"])
        return ctr["Id"], published

    def remove(self, cid: str) -> None:
        try:
            self.client.api.remove_container(cid, force=True, v=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    def logs(self, cid: str) -> str:
        try:
            return self.client.api.logs(cid).decode("utf-8", "replace")
        except Exception:  # noqa: BLE001
            return ""

    def close(self) -> None:
        for c in self.client.containers.list(all=True, filters={"label": f"{LABEL}={self.id}"}):
            c.remove(force=True, v=True)
        try:
            self.network.remove()
        except Exception:  # noqa: BLE001
            pass
        if self._tls is not None:
            for p in self._tls.iterdir():
                p.unlink()
            self._tls.rmdir()
