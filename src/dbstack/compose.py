"""The local Postgres service as docker-compose.yml defines it.

dbstack and `docker compose` share this one definition: image, environment,
published ports, volumes and command all come from the compose file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class PortMapping:
    host_ip: str
    host_port: int
    container_port: int


@dataclass(frozen=True)
class ComposeService:
    project: str
    name: str
    image: str
    environment: dict[str, str] = field(repr=False)
    ports: tuple[PortMapping, ...]
    volumes: tuple[tuple[str, str], ...]  # (source, target)
    named_volumes: tuple[str, ...]  # top-level volumes (without project prefix)
    command: tuple[str, ...]
    path: Path | None = None
    # Top-level `volumes:` entries with an explicit `name:`, and `external` ones
    # (compose neither creates nor removes those; neither do we).
    custom_volume_names: tuple[tuple[str, str], ...] = ()
    external_volumes: tuple[str, ...] = ()

    # Compose v2's names; v1 used `_` in container names, both use
    # `<project>_<volume>` for volumes.
    @property
    def container_name(self) -> str:
        return f"{self.project}-{self.name}-1"

    def volume_name(self, key: str) -> str:
        custom = dict(self.custom_volume_names)
        return custom.get(key) or f"{self.project}_{key}"

    def data_volume(self) -> tuple[str, str] | None:
        """(volume key, mount target) of the first named volume the service mounts."""
        for src, tgt in self.volumes:
            if src in self.named_volumes and tgt:
                return src, tgt
        return None

    def server_settings(self) -> tuple[str, ...]:
        """The `name=value` server settings of a `postgres -c name=value …` command."""
        out: list[str] = []
        args = list(self.command[1:] if self.command[:1] == ("postgres",) else self.command)
        i = 0
        while i < len(args):
            a = args[i]
            if a == "-c" and i + 1 < len(args):
                out.append(args[i + 1])
                i += 2
                continue
            if a.startswith("-c") and "=" in a:
                out.append(a[2:])
            elif a.startswith("--") and "=" in a:
                name, _, value = a[2:].partition("=")
                out.append(f"{name.replace('-', '_')}={value}")
            i += 1
        return tuple(out)

    def published_port(self, container_port: int) -> int | None:
        for p in self.ports:
            if p.container_port == container_port:
                return p.host_port
        return None


_PORT = re.compile(r"^(?:(?P<ip>\[[^\]]+\]|[0-9.]+):)?(?P<host>\d+):(?P<ctr>\d+)(?:/tcp)?$")


def _project_name(data: dict[str, Any], path: Path) -> str:
    # Compose's default: the directory name, lower-cased, [a-z0-9_-] only.
    name = data.get("name") or path.parent.name
    return re.sub(r"[^a-z0-9_-]", "", str(name).lower())


def _env(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    out: dict[str, str] = {}
    for item in raw or []:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def load_service(path: Path, service: str) -> ComposeService:
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read compose file {path}: {exc.strerror}", "restore docker-compose.yml or set dbstack.compose.file"
        ) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", "fix the compose file") from None
    svc = (data.get("services") or {}).get(service)
    if not isinstance(svc, dict):
        raise ConfigError(f"{path} has no service {service!r}", "add it or set dbstack.compose.service")
    ports = []
    for p in svc.get("ports") or []:
        m = _PORT.match(str(p))
        if not m:
            raise ConfigError(
                f"{path}: cannot read port mapping {p!r} of service {service!r}", 'write it as "127.0.0.1:5432:5432"'
            )
        ip = (m.group("ip") or "0.0.0.0").strip("[]")
        ports.append(PortMapping(ip, int(m.group("host")), int(m.group("ctr"))))
    vols = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            vols.append((str(v.get("source", "")), str(v.get("target", ""))))
        else:
            src, _, tgt = str(v).partition(":")
            vols.append((src, tgt.split(":")[0]))
    cmd = svc.get("command") or ()
    if isinstance(cmd, str):
        import shlex

        cmd = shlex.split(cmd)
    top_vols = data.get("volumes") or {}
    custom, external = [], []
    for key, spec in top_vols.items():
        if isinstance(spec, dict):
            if spec.get("name"):
                custom.append((str(key), str(spec["name"])))
            if spec.get("external"):
                external.append(str(key))
    return ComposeService(
        project=_project_name(data, Path(path)),
        name=service,
        image=str(svc.get("image") or ""),
        environment=_env(svc.get("environment")),
        ports=tuple(ports),
        volumes=tuple(vols),
        named_volumes=tuple((data.get("volumes") or {}).keys()),
        command=tuple(str(c) for c in cmd),
        path=Path(path).absolute(),
        custom_volume_names=tuple(custom),
        external_volumes=tuple(external),
    )
