"""KubernetesClusterAPI (the real adapter) on the wire, against a minimal HTTP stub.

The stub answers only the discovery documents and the few requests the
adapter makes, and records them: this checks what FakeClusterAPI cannot,
that server-side apply really is a PATCH with application/apply-patch+yaml,
our field manager and force, to the right path, on the pinned context.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from dbstack.errors import KubernetesError
from dbstack.k8s.api import KubernetesClusterAPI

CORE = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "namespaces",
            "singularName": "namespace",
            "namespaced": False,
            "kind": "Namespace",
            "verbs": ["get", "list", "patch"],
        },
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["get", "list"]},
        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
        {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret", "verbs": ["get", "patch"]},
    ],
}
CNPG = {
    "kind": "APIResourceList",
    "groupVersion": "postgresql.cnpg.io/v1",
    "resources": [
        {
            "name": "clusters",
            "singularName": "cluster",
            "namespaced": True,
            "kind": "Cluster",
            "verbs": ["get", "list", "patch"],
        }
    ],
}
GROUPS = {
    "kind": "APIGroupList",
    "apiVersion": "v1",
    "groups": [
        {
            "name": "postgresql.cnpg.io",
            "versions": [{"groupVersion": "postgresql.cnpg.io/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "postgresql.cnpg.io/v1", "version": "v1"},
        }
    ],
}


class Stub(BaseHTTPRequestHandler):
    requests: list[dict] = []
    objects: dict[str, dict] = {}

    def log_message(self, *a):  # quiet
        pass

    def _send(self, code: int, body, ctype="application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body: bytes = b"") -> tuple[str, dict]:
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        self.requests.append(
            {
                "method": self.command,
                "path": u.path,
                "query": q,
                "content_type": self.headers.get("Content-Type"),
                "auth": self.headers.get("Authorization"),
                "body": body,
            }
        )
        return u.path, q

    def do_GET(self):
        path, q = self._record()
        docs = {
            "/version": {"major": "1", "minor": "36", "gitVersion": "v1.36.1"},
            "/api": {"kind": "APIVersions", "versions": ["v1"]},
            "/apis": GROUPS,
            "/api/v1": CORE,
            "/apis/postgresql.cnpg.io/v1": CNPG,
        }
        if path in docs:
            return self._send(200, docs[path])
        if path.endswith("/log"):
            return self._send(200, b"one\ntwo\nthree\n", "text/plain")
        if path == "/api/v1/namespaces/ns/pods":
            return self._send(
                200,
                {
                    "kind": "PodList",
                    "apiVersion": "v1",
                    "metadata": {},
                    "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c-1", "namespace": "ns"}}],
                },
            )
        if path in self.objects:
            return self._send(200, self.objects[path])
        self._send(
            404,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "message": "not found",
                "code": 404,
            },
        )

    def do_PATCH(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        path, q = self._record(body)
        obj = json.loads(body)
        if obj["kind"] == "Cluster" and obj["spec"].get("instances") == 0:
            return self._send(
                422,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "code": 422,
                    "reason": "Invalid",
                    "message": 'Cluster.postgresql.cnpg.io "c" is invalid: '
                    "spec.instances: Invalid value: 0: should be greater than or equal to 1",
                },
            )
        self.objects[path] = obj
        self._send(200, obj)


@pytest.fixture
def api(tmp_path, monkeypatch):
    Stub.requests, Stub.objects = [], {}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    kc = tmp_path / "kubeconfig"
    server = f"http://127.0.0.1:{srv.server_address[1]}"
    kc.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "prod-cluster",
                "clusters": [
                    {"name": "kind-dbstack", "cluster": {"server": server}},
                    {"name": "prod", "cluster": {"server": "http://127.0.0.1:9"}},
                ],
                "contexts": [
                    {"name": "kind-dbstack", "context": {"cluster": "kind-dbstack", "user": "kind"}},
                    {"name": "prod-cluster", "context": {"cluster": "prod", "user": "prod"}},
                ],
                "users": [
                    {"name": "kind", "user": {"token": "kind-token"}},
                    {"name": "prod", "user": {"token": "prod-token"}},
                ],
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kc))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the dynamic client's discovery cache
    yield KubernetesClusterAPI("kind-dbstack")
    srv.shutdown()


def test_server_side_apply_is_a_pinned_apply_patch(api):
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}
    cl = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "c", "namespace": "ns"},
        "spec": {"instances": 1},
    }
    assert api.apply(ns, field_manager="dbstack", force=True)["metadata"]["name"] == "ns"
    api.apply(cl, field_manager="dbstack", force=True)
    patches = [r for r in Stub.requests if r["method"] == "PATCH"]
    assert [r["path"] for r in patches] == [
        "/api/v1/namespaces/ns",
        "/apis/postgresql.cnpg.io/v1/namespaces/ns/clusters/c",
    ]
    for r in patches:
        assert r["content_type"] == "application/apply-patch+yaml"
        assert r["query"] == {"fieldManager": "dbstack", "force": "true"}
    assert json.loads(patches[1]["body"]) == cl
    # every request went to the kind-dbstack context's server with its credentials, never the current context
    assert {r["auth"] for r in Stub.requests} == {"Bearer kind-token"}


def test_get_list_logs_and_kinds(api):
    assert api.get("postgresql.cnpg.io/v1", "Cluster", "missing", "ns") is None
    api.apply(
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "c", "namespace": "ns"},
            "spec": {"instances": 2},
        },
        field_manager="dbstack",
    )
    assert api.get("postgresql.cnpg.io/v1", "Cluster", "c", "ns")["spec"]["instances"] == 2
    pods = api.list("v1", "Pod", "ns", "cnpg.io/cluster=c,cnpg.io/podRole=instance")
    assert [p["metadata"]["name"] for p in pods] == ["c-1"]
    listing = next(r for r in Stub.requests if r["path"] == "/api/v1/namespaces/ns/pods")
    assert listing["query"]["labelSelector"] == "cnpg.io/cluster=c,cnpg.io/podRole=instance"
    assert list(api.logs("ns", "c-1", container="postgres", tail=3)) == ["one", "two", "three"]
    logreq = next(r for r in Stub.requests if r["path"].endswith("/log"))
    assert logreq["path"] == "/api/v1/namespaces/ns/pods/c-1/log"
    assert logreq["query"] == {"container": "postgres", "tailLines": "3", "follow": "false"}
    assert api.has_kind("postgresql.cnpg.io/v1", "Cluster")
    assert not api.has_kind("external-secrets.io/v1", "ExternalSecret")


def test_api_errors_carry_the_servers_message(api):
    bad = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "c", "namespace": "ns"},
        "spec": {"instances": 0},
    }
    with pytest.raises(KubernetesError, match=r"cannot apply Cluster ns/c: 422 .*should be greater than or equal to 1"):
        api.apply(bad, field_manager="dbstack")
    with pytest.raises(KubernetesError, match="does not serve ExternalSecret"):
        api.apply(
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": {"name": "x", "namespace": "ns"},
            },
            field_manager="dbstack",
        )


def test_an_unreachable_server_is_one_message(tmp_path, monkeypatch):
    kc = tmp_path / "kc"
    kc.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "kind-dbstack", "cluster": {"server": "http://127.0.0.1:9"}}],
                "contexts": [{"name": "kind-dbstack", "context": {"cluster": "kind-dbstack", "user": "u"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kc))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with pytest.raises(KubernetesError) as e:
        KubernetesClusterAPI("kind-dbstack")
    assert "does not answer" in e.value.message and "inv kind-up" in e.value.hint
