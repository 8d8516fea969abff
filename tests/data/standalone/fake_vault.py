"""FAKE: a tiny in-process stand-in for HashiCorp Vault's KV v2 read API.

No Vault server can run on these machines, so the tests of
``dbstack.standalone.vault`` talk to this instead. It answers exactly one
call, ``GET /v1/<mount>/data/<path>`` with the ``X-Vault-Token`` header:
200 with ``{"data": {"data": …, "metadata": …}}`` for a known secret and the
right token, 403 ``permission denied`` for any other token, 404 for an
unknown path. It listens on 127.0.0.1 only and records every request.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeVault:
    def __init__(self, token: str, secrets: dict[str, dict[str, Any]] | None = None) -> None:
        self.token = token
        self.secrets = dict(secrets or {})  # "mount/path" -> data
        self.requests: list[tuple[str, str, str]] = []  # (method, path, token)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                token = self.headers.get("X-Vault-Token", "")
                fake.requests.append(("GET", self.path, token))
                path = self.path.split("?", 1)[0]
                parts = path.strip("/").split("/")
                if len(parts) < 4 or parts[0] != "v1" or parts[2] != "data":
                    self._send(404, {"errors": []})
                    return
                if token != fake.token:
                    self._send(403, {"errors": ["permission denied"]})
                    return
                key = parts[1] + "/" + "/".join(parts[3:])
                if key not in fake.secrets:
                    self._send(404, {"errors": []})
                    return
                self._send(
                    200,
                    {
                        "request_id": "fake",
                        "lease_id": "",
                        "renewable": False,
                        "lease_duration": 0,
                        "data": {
                            "data": fake.secrets[key],
                            "metadata": {
                                "created_time": "2024-01-01T00:00:00Z",
                                "custom_metadata": None,
                                "deletion_time": "",
                                "destroyed": False,
                                "version": 1,
                            },
                        },
                        "wrap_info": None,
                        "warnings": None,
                        "auth": None,
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeVault:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
