"""TwinAPI: the FakeClusterAPI store made safe for controller threads.

Same ClusterAPI interface as the fake the unit tests use; what it adds is what
controllers running concurrently need: one lock around every read and write,
a resourceVersion bumped on each write (the watches of the Atlas operator
stand-in compare them), and status writes that never touch the spec.
"""

from __future__ import annotations

import copy
import threading
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from fake_cluster_api import FakeClusterAPI

ESO_KINDS = {
    ("external-secrets.io/v1", "ExternalSecret"),
    ("external-secrets.io/v1", "ClusterSecretStore"),
    ("external-secrets.io/v1", "SecretStore"),
}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(conds: list[dict], cond: dict) -> list[dict]:
    """meta.SetStatusCondition: lastTransitionTime changes only when the status does."""
    out = [dict(c) for c in conds]
    for c in out:
        if c["type"] == cond["type"]:
            if c.get("status") != cond.get("status"):
                c["lastTransitionTime"] = now_rfc3339()
            for k in ("status", "reason", "message", "observedGeneration"):
                if k in cond:
                    c[k] = cond[k]
                else:
                    c.pop(k, None)
            return out
    out.append(dict(cond, lastTransitionTime=now_rfc3339()))
    return out


class TwinAPI(FakeClusterAPI):
    def __init__(self, context: str = "kind-dbstack", kinds: Iterable[tuple[str, str]] | None = None) -> None:
        super().__init__(context=context, kinds=kinds)
        self.lock = threading.RLock()
        self._rv = 0

    def _bump(self, key) -> None:
        self._rv += 1
        self.objects[key].setdefault("metadata", {})["resourceVersion"] = str(self._rv)

    def _key_of(self, obj: dict):
        md = obj.get("metadata") or {}
        return self.key(obj["apiVersion"], obj["kind"], md["name"], md.get("namespace"))

    def apply(self, obj: dict, *, field_manager: str, force: bool = False) -> dict:
        with self.lock:
            super().apply(obj, field_manager=field_manager, force=force)
            k = self._key_of(obj)
            self._bump(k)
            return copy.deepcopy(self.objects[k])

    def put(self, obj: dict) -> dict:
        with self.lock:
            super().put(obj)
            self._bump(self._key_of(obj))
            return obj

    def get(self, api_version, kind, name, namespace=None):
        with self.lock:
            return super().get(api_version, kind, name, namespace)

    def list(self, api_version, kind, namespace=None, label_selector=None):
        with self.lock:
            return super().list(api_version, kind, namespace, label_selector)

    # -- for controllers --------------------------------------------------------
    def of_kind(self, kind: str) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(o) for k, o in sorted(self.objects.items()) if k[1] == kind]

    def update_status(self, obj: dict, change: Callable[[dict, dict], dict | None]) -> dict | None:
        """change(current object, current status) -> new status (None: leave it); written when different."""
        with self.lock:
            k = self._key_of(obj)
            cur = self.objects.get(k)
            if cur is None:
                return None
            new = change(copy.deepcopy(cur), copy.deepcopy(cur.get("status") or {}))
            if new is not None and new != cur.get("status"):
                cur["status"] = copy.deepcopy(new)
                self._bump(k)
            return copy.deepcopy(cur)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        with self.lock:
            self.objects.pop(self.key(api_version, kind, name, namespace), None)


class Controller:
    """A reconcile loop in its own thread, as an operator runs one: every `interval` each object of
    `kind` goes to `tick`; an exception is recorded in `errors` and the loop goes on."""

    kind = ""
    join_timeout = 30.0

    def __init__(self, api: TwinAPI, interval: float, thread_name: str) -> None:
        self.api, self.interval = api, interval
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.join_timeout)

    def tick(self, obj: dict) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            for obj in self.api.of_kind(self.kind):
                try:
                    self.tick(obj)
                except Exception:  # noqa: BLE001 - recorded; a controller keeps going
                    self.errors.append(traceback.format_exc())
            self._stop.wait(self.interval)
