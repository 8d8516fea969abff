"""Atlas operator stand-in, modelled on ariga/atlas-operator v0.7.37.

internal/controller/atlasmigration_controller.go and api/v1alpha1:
* a new object first gets Ready=False reason Reconciling (SetReconciling) and
  is requeued;
* extractData reads the ConfigMap and the credentials Secrets and builds the
  URL; when Ready and the hash of that data changed, SetReconciling (which
  resets failed) and requeue;
* `migrate status` (atlas.sum checked, then the database), then `migrate
  apply` when files are pending, else Ready with the current version;
* a failure: SetNotReady(reason, message) — Ready=False, Reconciling=False,
  Stalled=True, failed+1 — and a requeue after failed x 5 s
  (backoffDelayAt); no requeue once failed > spec.backoffLimit (when set);
* success: SetReady — observedHash, lastApplied, lastAppliedVersion,
  failed 0, Ready=True reason Applied, Stalled=False;
* every condition carries observedGeneration (setCondition); reconciles are
  triggered by a generation change (GenerationChangedPredicate), a change of
  the ConfigMap or of the password Secret (watchRefs), or the requeue.

The Atlas CLI's work is done by dbstack's engine (Atlas-compatible), run here
on the host; every connection it makes is resolved and dialled from inside
the operator's container (namespace atlas-operator's DNS search list) through
a relay (relay.pl) and reached from the host through a port published on
127.0.0.1. Not modelled: the dev database (GettingDevDB), Atlas Cloud,
migrate down, events.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from .api import Controller, TwinAPI, set_condition
from .docker_net import DockerNet, pod_dns_search

NAMESPACE = "atlas-operator"
RELAY = (Path(__file__).parent / "relay.pl").read_text()


class DialError(Exception):
    pass


class Failure(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


class AtlasOperator(Controller):
    kind = "AtlasMigration"
    join_timeout = 60.0

    def __init__(self, api: TwinAPI, net: DockerNet, *, retry_unit: float = 5.0, interval: float = 0.1) -> None:
        super().__init__(api, interval, "twin-atlas-operator")
        self.net, self.retry_unit = net, retry_unit
        self.cid, ports = net.run(
            "atlas-operator",
            entrypoint=["perl", "-e", RELAY],
            command=[],
            dns_search=pod_dns_search(NAMESPACE),
            ports=(7000,),
        )
        self.relay_port = ports[7000]
        self.attempts: list[tuple[str, str, str]] = []  # (namespace/name, result, message) per reconcile
        self._next: dict[tuple, float] = {}
        self._seen: dict[tuple, tuple] = {}
        deadline = time.monotonic() + 30
        while "relay listening" not in net.logs(self.cid):
            if time.monotonic() > deadline:
                raise RuntimeError("the Atlas operator stand-in did not start: " + net.logs(self.cid))
            time.sleep(0.1)

    # -- the network, as seen from the operator's pod ----------------------------
    def dial(self, host: str, port: int, timeout: float = 20.0) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.relay_port), timeout=timeout)
        s.sendall(f"{host} {port}\n".encode())
        line = b""
        while not line.endswith(b"\n"):
            ch = s.recv(1)
            if not ch:
                s.close()
                raise DialError(f"dial tcp: lookup {host}: relay closed the connection")
            line += ch
        text = line.decode().strip()
        if text.startswith("ERR "):
            s.close()
            msg = text[4:]
            raise DialError(msg if msg.startswith("dial tcp") else f"dial tcp: {msg}")
        s.settimeout(None)
        return s

    @contextmanager
    def forwarder(self, host: str, port: int):
        """127.0.0.1:<port> on the host whose connections go to host:port as the operator's pod dials it."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        stop = threading.Event()

        def pipe(a: socket.socket, b: socket.socket) -> None:
            try:
                while True:
                    data = a.recv(65536)
                    if not data:
                        break
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for x in (a, b):
                    try:
                        x.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        def serve() -> None:
            srv.settimeout(0.2)
            while not stop.is_set():
                try:
                    c, _ = srv.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                try:
                    up = self.dial(host, port)
                except (DialError, OSError):
                    c.close()
                    continue
                threading.Thread(target=pipe, args=(c, up), daemon=True).start()
                threading.Thread(target=pipe, args=(up, c), daemon=True).start()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            yield srv.getsockname()[1]
        finally:
            stop.set()
            t.join(timeout=5)
            srv.close()

    # -- the controller -----------------------------------------------------------
    def tick(self, obj: dict) -> None:
        if self._due(obj):
            self.reconcile(obj)

    def _watched(self, obj: dict) -> tuple:
        """What triggers a reconcile: generation, the ConfigMap's and the password Secret's versions."""
        md, spec, ns = obj["metadata"], obj.get("spec") or {}, obj["metadata"]["namespace"]
        cm_name = ((spec.get("dir") or {}).get("configMapRef") or {}).get("name")
        cm = self.api.stored("v1", "ConfigMap", cm_name, ns) if cm_name else None
        pw = (((spec.get("credentials") or {}).get("passwordFrom") or {}).get("secretKeyRef") or {}).get("name") or (
            ((spec.get("urlFrom") or {}).get("secretKeyRef")) or {}
        ).get("name")
        sec = self.api.stored("v1", "Secret", pw, ns) if pw else None
        rv = lambda o: (o or {}).get("metadata", {}).get("resourceVersion")  # noqa: E731
        return md.get("generation"), rv(cm), rv(sec)

    def _due(self, obj: dict) -> bool:
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        watched = self._watched(obj)
        if self._seen.get(key) != watched:
            self._seen[key] = watched
            return True
        return time.monotonic() >= self._next.get(key, float("inf"))

    def _requeue(self, obj: dict, after: float | None) -> None:
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        self._next[key] = float("inf") if after is None else time.monotonic() + after

    def reconcile(self, obj: dict) -> None:
        st = obj.get("status") or {}
        gen = obj["metadata"].get("generation", 1)
        where = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
        if not st.get("conditions"):
            self._write(obj, self._reconciling(st, gen, "Reconciling"))
            self._requeue(obj, 0)
            return
        try:
            data = self._extract(obj)
            if _is_ready(st) and st.get("observedHash") != data["hash"]:
                self._write(obj, self._reconciling(st, gen, "Current migration data has changed"))
                self._requeue(obj, 0)
                return
            version, applied_at = self._migrate(obj, data)
        except Failure as f:
            self.attempts.append((where, "failed", f.message))
            new = self._not_ready(st, gen, f.reason, f.message)
            self._write(obj, new)
            # the CRD defaults spec.backoffLimit to 20 (this store applies no CRD defaults)
            limit = int((obj.get("spec") or {}).get("backoffLimit", 20))
            self._requeue(obj, None if limit and new["failed"] > limit else new["failed"] * self.retry_unit)
            return
        self.attempts.append((where, "applied", version))
        self._write(obj, self._ready(gen, data["hash"], version, applied_at, st))
        self._requeue(obj, None)

    # extractData
    def _extract(self, obj: dict) -> dict:
        spec, ns = obj.get("spec") or {}, obj["metadata"]["namespace"]

        def secret_value(ref: dict) -> str:
            sec = self.api.get("v1", "Secret", ref["name"], ns)
            if sec is None:
                raise Failure("ReadingMigrationData", f'secrets "{ref["name"]}" not found')
            if ref["key"] not in (sec.get("data") or {}):
                raise Failure("ReadingMigrationData", f'secret "{ref["name"]}" has no key "{ref["key"]}"')
            return base64.b64decode(sec["data"][ref["key"]]).decode()

        cred = spec.get("credentials") or {}
        if spec.get("urlFrom"):
            url = secret_value(spec["urlFrom"]["secretKeyRef"])
            from urllib.parse import urlsplit

            u = urlsplit(url)
            host, port, user, password = u.hostname, u.port or 5432, u.username, u.password
            database, params = u.path.lstrip("/"), {}
        elif cred:
            user = cred.get("user") or secret_value(cred["userFrom"]["secretKeyRef"])
            password = cred.get("password") or secret_value(cred["passwordFrom"]["secretKeyRef"])
            host, port = cred["host"], int(cred.get("port") or 5432)
            database, params = cred.get("database", ""), dict(cred.get("parameters") or {})
            url = (
                f"{cred.get('scheme', 'postgres')}://{quote(user, safe='')}:{quote(password, safe='')}@"
                f"{host}:{port}/{database}"
                + ("?" + "&".join(f"{k}={v}" for k, v in sorted(params.items())) if params else "")
            )
        else:
            raise Failure("ReadingMigrationData", "no target database defined")
        cm_name = ((spec.get("dir") or {}).get("configMapRef") or {}).get("name")
        cm = self.api.get("v1", "ConfigMap", cm_name, ns)
        if cm is None:
            raise Failure("ReadingMigrationData", f'configmaps "{cm_name}" not found')
        files = dict(cm.get("data") or {})
        h = hashlib.sha256(url.encode())
        for k in sorted(files):
            h.update(k.encode())
            h.update(files[k].encode())
        return {
            "host": host,
            "port": port,
            "user": user,
            "password": password,
            "database": database,
            "params": params,
            "files": files,
            "hash": h.hexdigest(),
            "spec": spec,
        }

    # migrate status, then migrate apply
    def _migrate(self, obj: dict, d: dict) -> tuple[str, int]:
        from dbstack.errors import DbstackError
        from dbstack.migrations import engine
        from dbstack.migrations.executor import ApplyOptions
        from dbstack.migrations.layers import Layers
        from dbstack.settings import ConnSpec

        tmp = Path(tempfile.mkdtemp(prefix="twin-atlas-"))
        try:
            for name, text in d["files"].items():
                (tmp / name).write_bytes(text.encode("utf-8"))
            layers = Layers.of([tmp])
            try:
                layers.validate()
            except DbstackError as exc:
                # the real operator's working directory is temporary too; keep messages stable
                raise Failure("Migrating", exc.message.strip().replace(str(tmp), "migrations")) from None
            try:
                self.dial(d["host"], d["port"]).close()
            except DialError as exc:
                raise Failure("Migrating", f"Error: postgres: scanning system variables: {exc}") from None
            spec = d["spec"]
            with self.forwarder(d["host"], d["port"]) as port:
                conn = ConnSpec(
                    host="127.0.0.1",
                    port=port,
                    user=d["user"],
                    password=d["password"],
                    dbname=d["database"],
                    params=tuple(sorted(d["params"].items())),
                )
                try:
                    st = engine.status(conn, layers, revisions_schema=spec.get("revisionsSchema") or None)
                    if not st.pending:
                        return st.current, int(time.time())
                    rep = engine.apply(
                        conn,
                        layers,
                        ApplyOptions(
                            baseline=spec.get("baseline") or None,
                            exec_order=spec.get("execOrder") or "linear",
                            revisions_schema=spec.get("revisionsSchema") or None,
                        ),
                    )
                except DbstackError as exc:
                    raise Failure("Migrating", exc.message.strip()) from None
                return rep.target or rep.current, int(time.time())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # -- status, as api/v1alpha1/atlasmigration_types.go writes it ------------------
    def _write(self, obj: dict, status: dict) -> None:
        self.api.update_status(obj, lambda cur, _st: status)

    @staticmethod
    def _conds(st: dict, gen: int, *conds: dict) -> list[dict]:
        out = st.get("conditions") or []
        for c in conds:
            out = set_condition(out, dict(c, observedGeneration=gen))
        return out

    def _reconciling(self, st: dict, gen: int, message: str) -> dict:
        new = dict(st, observedGeneration=gen, failed=0)
        new["conditions"] = self._conds(
            st,
            gen,
            {"type": "Ready", "status": "False", "reason": "Reconciling", "message": message},
            {"type": "Reconciling", "status": "True", "reason": "Reconciling", "message": message},
            {"type": "Stalled", "status": "False", "reason": "Reconciling"},
        )
        return new

    def _not_ready(self, st: dict, gen: int, reason: str, message: str) -> dict:
        new = dict(st, observedGeneration=gen, failed=int(st.get("failed") or 0) + 1)
        new["conditions"] = self._conds(
            st,
            gen,
            {"type": "Ready", "status": "False", "reason": reason, "message": message},
            {"type": "Reconciling", "status": "False", "reason": reason, "message": message},
            {"type": "Stalled", "status": "True", "reason": reason, "message": message},
        )
        return new

    def _ready(self, gen: int, h: str, version: str, applied_at: int, st: dict) -> dict:
        new = {
            "observedGeneration": gen,
            "observedHash": h,
            "lastApplied": applied_at,
            "lastAppliedVersion": version,
            "failed": 0,
        }
        new["conditions"] = self._conds(
            st,
            gen,
            {"type": "Ready", "status": "True", "reason": "Applied"},
            {"type": "Reconciling", "status": "False", "reason": "Applied"},
            {"type": "Stalled", "status": "False", "reason": "Applied"},
        )
        return new


def _is_ready(st: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
