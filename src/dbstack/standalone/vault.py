"""Reading the tools' configuration from a HashiCorp Vault KV v2 secret.

``VAULT_PATH=secret/hotpot/config`` means mount ``secret``, secret path
``hotpot/config`` (what ``vault kv get secret/hotpot/config`` reads; the API
call is ``GET /v1/secret/data/hotpot/config``). ``VAULT_MOUNT`` overrides the
mount when it contains a slash. The token comes from ``VAULT_TOKEN`` (else
``~/.vault-token``, as the Vault CLI does) and is never printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class VaultLocation:
    addr: str
    mount: str
    path: str

    def __str__(self) -> str:
        return f"{self.mount}/{self.path} at {self.addr}"


def split_path(vault_path: str, mount: str | None = None) -> tuple[str, str]:
    p = vault_path.strip().strip("/")
    if mount:
        m = mount.strip("/")
        if p.startswith(m + "/"):
            p = p[len(m) + 1 :]
        if not p:
            raise ConfigError(
                f"VAULT_PATH={vault_path!r} names no secret below mount {m!r}",
                "set VAULT_PATH=<mount>/<path>, e.g. secret/hotpot/config",
            )
        return m, p
    m, _, rest = p.partition("/")
    if not m or not rest:
        raise ConfigError(
            f"VAULT_PATH={vault_path!r} must be <mount>/<path>",
            "e.g. VAULT_PATH=secret/hotpot/config (mount `secret`, path `hotpot/config`)",
        )
    # `vault kv get` paths never contain the API's data/ segment; accept the
    # API form too, since people copy it from curl examples.
    if rest.startswith("data/"):
        rest = rest[len("data/") :]
    return m, rest


def _token(env: Mapping[str, str]) -> str:
    tok = env.get("VAULT_TOKEN", "").strip()
    if tok:
        return tok
    home = env.get("HOME") or os.path.expanduser("~")
    f = Path(home) / ".vault-token"
    try:
        tok = f.read_text().strip()
    except OSError:
        tok = ""
    if not tok:
        raise ConfigError(
            "CONFIG_SOURCE=vault but VAULT_TOKEN is not set",
            "export VAULT_TOKEN (or log in with `vault login`, which writes ~/.vault-token)",
        )
    return tok


def read_secret(env: Mapping[str, str]) -> tuple[dict[str, Any], VaultLocation]:
    """The data of the KV v2 secret named by the VAULT_* variables."""
    import hvac
    import hvac.exceptions as hx
    import requests

    addr = env.get("VAULT_ADDR", "").strip()
    if not addr:
        raise ConfigError(
            "CONFIG_SOURCE=vault but VAULT_ADDR is not set",
            "export VAULT_ADDR=https://vault.example:8200 (the Vault server's address)",
        )
    if not addr.startswith(("http://", "https://")):
        raise ConfigError(f"VAULT_ADDR={addr!r} is not an http(s) URL", "e.g. VAULT_ADDR=http://localhost:8200")
    vpath = env.get("VAULT_PATH", "").strip()
    if not vpath:
        raise ConfigError(
            "CONFIG_SOURCE=vault but VAULT_PATH is not set",
            "export VAULT_PATH=<mount>/<path>, e.g. secret/hotpot/config",
        )
    mount, path = split_path(vpath, env.get("VAULT_MOUNT") or None)
    loc = VaultLocation(addr.rstrip("/"), mount, path)
    verify: bool | str = True
    if env.get("VAULT_CACERT"):
        verify = env["VAULT_CACERT"]
    if env.get("VAULT_SKIP_VERIFY", "").lower() in ("1", "true", "yes"):
        verify = False
    timeout = 10.0
    try:
        timeout = float(env.get("VAULT_CLIENT_TIMEOUT", "") or 10.0)
    except ValueError:
        pass
    # hvac hands the timeout to requests, which takes seconds as a float; types-hvac says int.
    client = hvac.Client(
        url=loc.addr,
        token=_token(env),
        verify=verify,
        timeout=timeout,  # type: ignore[arg-type]
        namespace=env.get("VAULT_NAMESPACE") or None,
    )
    try:
        resp = client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount, raise_on_deleted_version=True)
    except hx.Forbidden:
        raise ConfigError(
            f"Vault refused to read {loc}: permission denied (HTTP 403)",
            f"check VAULT_TOKEN: it is wrong, expired, or its policy does not allow `read` on {mount}/data/{path}",
        ) from None
    except hx.Unauthorized:
        raise ConfigError(
            f"Vault refused to read {loc}: missing or invalid token (HTTP 401)", "set VAULT_TOKEN to a valid token"
        ) from None
    except hx.InvalidPath:
        raise ConfigError(
            f"Vault has no secret at {loc} (HTTP 404)",
            "check VAULT_PATH (<mount>/<path> of a KV v2 secret, e.g. secret/hotpot/config) "
            "and that the mount is a KV version 2 engine",
        ) from None
    except hx.VaultDown:
        raise ConfigError(
            f"Vault at {loc.addr} is sealed or in maintenance (HTTP 503)", "unseal Vault or try again later"
        ) from None
    except hx.VaultError as exc:
        status = getattr(exc, "status_code", None) or ""
        raise ConfigError(
            f"Vault could not read {loc}: {type(exc).__name__} {status}".rstrip(),
            "check VAULT_ADDR, VAULT_PATH and the token's policy",
        ) from None
    except requests.exceptions.SSLError:
        raise ConfigError(
            f"cannot reach Vault at {loc.addr}: TLS verification failed",
            "set VAULT_CACERT to the CA bundle that signed Vault's certificate",
        ) from None
    except requests.exceptions.Timeout:
        raise ConfigError(
            f"cannot reach Vault at {loc.addr}: timed out after {timeout:g}s",
            "check VAULT_ADDR and that Vault is running and reachable from here",
        ) from None
    except requests.exceptions.RequestException as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else type(exc).__name__
        raise ConfigError(
            f"cannot reach Vault at {loc.addr}: {reason}",
            "check VAULT_ADDR and that Vault is running and reachable from here",
        ) from None
    data = (resp or {}).get("data") if isinstance(resp, Mapping) else None
    secret = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(secret, Mapping):
        raise ConfigError(
            f"Vault answered for {loc} without KV v2 data", "VAULT_PATH must name a secret in a KV version 2 engine"
        )
    return dict(secret), loc
