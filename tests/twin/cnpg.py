"""CloudNativePG stand-in: each Cluster instance is a real PostgreSQL container.

Modelled on cloudnative-pg v1.30.0:
* the ``<cluster>-app`` Secret (pkg/specs/secrets.go CreateSecret: username,
  user, password, dbname, host, port, pgpass, uri and jdbc-uri with
  ``<svc>.<ns>:5432``, fqdn-uri and fqdn-jdbc-uri with
  ``<svc>.<ns>.svc.cluster.local:5432``) is written when the Cluster is first
  reconciled and only when ``bootstrap.initdb.secret`` is unset; otherwise the
  owner's password comes from that Secret;
* status carries phase, phaseReason, instances, readyInstances,
  currentPrimary/targetPrimary, instanceNames, image and a Ready condition
  derived from the phase alone (pkg/resources/status SetClusterReadyCondition)
  — no observedGeneration anywhere;
* instances are created one at a time (phase "Setting up primary", then
  "Creating a new replica"); a scale-down removes the highest-numbered one.

What it does not model: replication (a replica is an independent server that
only has to boot), failover, the instance manager, PVCs, pod scheduling.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field

from .api import Controller, TwinAPI, set_condition
from .docker_net import DockerNet, pod_dns_search

API = "postgresql.cnpg.io/v1"
HEALTHY = "Cluster in healthy state"
FIRST_PRIMARY = "Setting up primary"
CREATING_REPLICA = "Creating a new replica"
SCALING_DOWN = "Scaling down replicas"
TLS_WRAPPER = (
    "install -o postgres -g postgres -m 600 /twin-tls/tls.key /tmp/tls.key && "
    "install -o postgres -g postgres -m 644 /twin-tls/tls.crt /tmp/tls.crt && "
    "exec docker-entrypoint.sh postgres -c ssl=on -c ssl_cert_file=/tmp/tls.crt "
    '-c ssl_key_file=/tmp/tls.key "$@"'
)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def app_secret(cluster: str, ns: str, dbname: str, user: str, password: str) -> dict:
    """CNPG's <cluster>-app Secret, keys and values as pkg/specs/secrets.go builds them."""
    from urllib.parse import quote

    svc = f"{cluster}-rw"
    ns_host, fqdn_host = f"{svc}.{ns}:5432", f"{svc}.{ns}.svc.cluster.local:5432"
    cred = f"{quote(user, safe='')}:{quote(password, safe='')}"
    data = {
        "username": user,
        "user": user,
        "password": password,
        "dbname": dbname,
        "host": svc,
        "port": "5432",
        "pgpass": f"{svc}:5432:{dbname}:{user}:{password}\n",
        "uri": f"postgresql://{cred}@{ns_host}/{dbname}",
        "jdbc-uri": f"jdbc:postgresql://{ns_host}/{dbname}?password={quote(password)}&user={quote(user)}",
        "fqdn-uri": f"postgresql://{cred}@{fqdn_host}/{dbname}",
        "fqdn-jdbc-uri": f"jdbc:postgresql://{fqdn_host}/{dbname}?password={quote(password)}&user={quote(user)}",
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/basic-auth",
        "metadata": {
            "name": f"{cluster}-app",
            "namespace": ns,
            "labels": {
                "cnpg.io/userType": "app",
                "cnpg.io/reload": "true",
                "app.kubernetes.io/managed-by": "cloudnative-pg",
            },
        },
        "data": {k: b64(v) for k, v in data.items()},
    }


@dataclass
class Instance:
    n: int
    cid: str
    port: int
    ready: bool = False
    started: float = field(default_factory=time.monotonic)


@dataclass
class ClusterState:
    superuser_password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    instances: list[Instance] = field(default_factory=list)
    bootstrapped: bool = False
    owner_password: str | None = field(default=None, repr=False)


class CNPGController(Controller):
    kind = "Cluster"

    def __init__(self, api: TwinAPI, net: DockerNet, *, interval: float = 0.2) -> None:
        super().__init__(api, interval, "twin-cnpg")
        self.net = net
        self.state: dict[tuple[str, str], ClusterState] = {}

    # -- what tests read --------------------------------------------------------
    def primary_port(self, ns: str, cluster: str) -> int:
        return self.state[(ns, cluster)].instances[0].port

    def containers(self, ns: str, cluster: str) -> list[Instance]:
        return list(self.state[(ns, cluster)].instances)

    # -- loop -------------------------------------------------------------------
    def tick(self, obj: dict) -> None:
        self.reconcile(obj)

    def reconcile(self, obj: dict) -> None:
        md, spec = obj["metadata"], obj.get("spec") or {}
        name, ns = md["name"], md["namespace"]
        st = self.state.setdefault((ns, name), ClusterState())
        initdb = ((spec.get("bootstrap") or {}).get("initdb")) or {}
        dbname, owner = initdb.get("database") or "app", initdb.get("owner") or initdb.get("database") or "app"
        if st.owner_password is None:
            sec_name = (initdb.get("secret") or {}).get("name")
            if sec_name:
                sec = self.api.get("v1", "Secret", sec_name, ns)
                if sec is None:
                    self._status(obj, FIRST_PRIMARY, f"waiting for secret {sec_name}", st)
                    return
                st.owner_password = base64.b64decode(sec["data"]["password"]).decode()
            else:
                st.owner_password = secrets.token_urlsafe(24)
                self.api.put(app_secret(name, ns, dbname, owner, st.owner_password))
        want = int(spec.get("instances") or 1)
        # boot progress: a real connection to each instance
        for inst in st.instances:
            if not inst.ready and self._accepts(inst.port, st.superuser_password):
                if inst.n == 1 and not st.bootstrapped:
                    self._bootstrap(inst.port, st, dbname, owner, initdb)
                    st.bootstrapped = True
                inst.ready = True
        phase, reason = HEALTHY, ""
        if len(st.instances) > want:
            last = st.instances.pop()
            self.net.remove(last.cid)
            self.api.delete("v1", "Pod", f"{name}-{last.n}", ns)
            phase = SCALING_DOWN
        elif all(i.ready for i in st.instances) and len(st.instances) < want:
            n = len(st.instances) + 1
            st.instances.append(self._start_instance(name, ns, n, spec, st))
            phase = FIRST_PRIMARY if n == 1 else CREATING_REPLICA
        elif not all(i.ready for i in st.instances):
            phase = FIRST_PRIMARY if not st.bootstrapped else CREATING_REPLICA
        self._pods(name, ns, st)
        self._status(obj, phase, reason, st)

    def _start_instance(self, name: str, ns: str, n: int, spec: dict, st: ClusterState) -> Instance:
        params = (spec.get("postgresql") or {}).get("parameters") or {}
        args = [x for k, v in sorted(params.items()) for x in ("-c", f"{k}={v}")]
        aliases = (
            [f"{name}-rw.{ns}.svc.cluster.local", f"{name}-{n}.{ns}.svc.cluster.local"]
            if n == 1
            else [f"{name}-{n}.{ns}.svc.cluster.local"]
        )
        cid, ports = self.net.run(
            f"{ns}-{name}-{n}",
            entrypoint=["sh", "-c", TLS_WRAPPER, "sh"],
            command=args,
            environment={
                "POSTGRES_USER": "postgres",
                "POSTGRES_PASSWORD": st.superuser_password,
                "POSTGRES_DB": "postgres",
            },
            aliases=aliases,
            dns_search=pod_dns_search(ns),
            volumes=[f"{self.net.tls_dir()}:/twin-tls:ro"],
            labels={"cnpg.io/cluster": name},
        )
        return Instance(n=n, cid=cid, port=ports[5432])

    @staticmethod
    def _accepts(port: int, password: str) -> bool:
        import psycopg

        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=port,
                user="postgres",
                password=password,
                dbname="postgres",
                connect_timeout=2,
                sslmode="require",
            ):
                return True
        except psycopg.Error:
            return False

    @staticmethod
    def _bootstrap(port: int, st: ClusterState, dbname: str, owner: str, initdb: dict) -> None:
        """initdb's work: the owner role, its database, postInitApplicationSQL as superuser in it."""
        import psycopg
        from psycopg import sql

        kw = {
            "host": "127.0.0.1",
            "port": port,
            "user": "postgres",
            "password": st.superuser_password,
            "connect_timeout": 5,
            "sslmode": "require",
            "autocommit": True,
        }
        with psycopg.connect(dbname="postgres", **kw) as c:
            c.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(owner), sql.Literal(st.owner_password)
                )
            )
            c.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(owner)))
        with psycopg.connect(dbname=dbname, **kw) as c:
            for stmt in initdb.get("postInitApplicationSQL") or []:
                c.execute(stmt)

    def _pods(self, name: str, ns: str, st: ClusterState) -> None:
        for inst in st.instances:
            pod = self.api.stored("v1", "Pod", f"{name}-{inst.n}", ns)
            if pod is not None and pod["status"]["containerStatuses"][0]["ready"] == inst.ready:
                continue
            self.api.put(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{name}-{inst.n}",
                        "namespace": ns,
                        "labels": {
                            "cnpg.io/cluster": name,
                            "cnpg.io/podRole": "instance",
                            "cnpg.io/instanceRole": "primary" if inst.n == 1 else "replica",
                        },
                    },
                    "status": {
                        "phase": "Running" if inst.ready else "Pending",
                        "containerStatuses": [{"ready": inst.ready, "restartCount": 0}],
                    },
                }
            )

    def _status(self, obj: dict, phase: str, reason: str, st: ClusterState) -> None:
        name = obj["metadata"]["name"]
        ready = sum(1 for i in st.instances if i.ready)
        image = (obj.get("spec") or {}).get("imageName", "")

        def change(cur: dict, status: dict) -> dict:
            healthy = phase == HEALTHY
            new = dict(status)
            new.update(
                {
                    "phase": phase,
                    "instances": len(st.instances),
                    "readyInstances": ready,
                    "instanceNames": [f"{name}-{i.n}" for i in st.instances],
                    "image": image,
                }
            )
            if reason:
                new["phaseReason"] = reason
            else:
                new.pop("phaseReason", None)
            if st.instances:
                new["currentPrimary"] = new["targetPrimary"] = f"{name}-1"
            new["conditions"] = set_condition(
                status.get("conditions") or [],
                {
                    "type": "Ready",
                    "status": "True" if healthy else "False",
                    "reason": "ClusterIsReady" if healthy else "ClusterIsNotReady",
                    "message": "Cluster is Ready" if healthy else "Cluster Is Not Ready",
                },
            )
            return new

        self.api.update_status(obj, change)

    def close(self) -> None:
        self.stop()
