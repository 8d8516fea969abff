"""The local server as a Docker container, defined by docker-compose.yml.

The container and its named volume carry Docker Compose's labels, so
`docker compose ps` lists them and `docker compose up/down` treat them as the
project's own; dbstack in turn finds containers compose created. Only objects
labelled with this compose project and service are ever stopped or removed.

The Docker SDK is imported inside the functions that use it (`inv --list`
must not pay for it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from ..compose import ComposeService, load_service
from ..errors import BackendError, ConfigError
from ..settings import ConnSpec, Settings
from .pgctl import port_free
from .readiness import Readiness, wait_ready

if TYPE_CHECKING:  # the SDK itself is imported where it is used (it is slow to import)
    from docker import DockerClient

L_PROJECT = "com.docker.compose.project"
L_SERVICE = "com.docker.compose.service"
L_NUMBER = "com.docker.compose.container-number"
L_ONEOFF = "com.docker.compose.oneoff"
L_WORKDIR = "com.docker.compose.project.working_dir"
L_CONFIG = "com.docker.compose.project.config_files"
L_VOLUME = "com.docker.compose.volume"
L_DBSTACK = "io.dbstack.managed-by"

CONTAINER_PORT = 5432
# The port inside the container is PostgreSQL's default; compose files may
# publish it on any host port.


class DockerUnavailable(BackendError):
    """The Docker engine does not answer."""

    default_hint = (
        "start the Docker engine (e.g. `sudo systemctl start docker`) and check DOCKER_HOST, "
        "or use the embedded server: --backend embedded"
    )


class ImageUnavailable(BackendError):
    """The image is not present locally and cannot be pulled."""


def data_mount(image_config: dict[str, Any], service_env: dict[str, str], compose_target: str) -> str:
    """Where the image keeps its data: the declared VOLUME holding PGDATA, else PGDATA, else compose's.

    PostgreSQL 18 images declare VOLUME /var/lib/postgresql (PGDATA below it),
    older ones /var/lib/postgresql/data. Mounting ours anywhere else makes
    Docker add an anonymous volume at the declared path, and the data would
    be lost when the container is recreated.
    """
    env = {}
    for item in image_config.get("Env") or []:
        k, _, v = item.partition("=")
        env[k] = v
    env.update(service_env)
    pgdata = env.get("PGDATA", "")
    volumes = sorted((image_config.get("Volumes") or {}).keys())

    def holds(parent: str, child: str) -> bool:
        p, c = PurePosixPath(parent), PurePosixPath(child)
        return p == c or p in c.parents

    if pgdata:
        owners = [v for v in volumes if holds(v, pgdata)]
        if owners:
            return max(owners, key=len)
        if compose_target and holds(compose_target, pgdata):
            return compose_target
        return pgdata
    if len(volumes) == 1:
        return volumes[0]
    return compose_target


def _docker_errors():
    import docker
    import requests

    return (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


def _explain(exc: Exception) -> str:
    text = str(getattr(exc, "explanation", None) or exc).strip()
    # requests/urllib3 wrap the socket error several times; the errno text is what helps.
    if "FileNotFoundError" in text or "No such file or directory" in text:
        return "no socket there"
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return "connection refused"
    if "PermissionError" in text or "Permission denied" in text:
        return "permission denied (is your user in the docker group?)"
    if "timed out" in text.lower():
        return "timed out"
    return text.splitlines()[0] if text else type(exc).__name__


def _embedded_port(settings: Settings) -> int | None:
    """The port of this project's embedded server if its postmaster.pid names one."""
    try:
        from .embedded import data_location

        return int((data_location(settings.embedded.data_dir)[0] / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, ValueError, IndexError):
        return None


class DockerBackend:
    """The compose service's container, driven through the Docker SDK."""

    name = "docker"

    def __init__(self, settings: Settings, *, out: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.out = out
        self.svc: ComposeService = load_service(settings.compose.file, settings.compose.service)
        self.image = settings.compose.image or self.svc.image
        if not self.image:
            raise ConfigError(
                f"service {self.svc.name!r} in {settings.compose.file} has no image",
                "add `image: postgres:18` to it or set dbstack.compose.image",
            )
        vol = self.svc.data_volume()
        if vol is None:
            raise ConfigError(
                f"service {self.svc.name!r} in {settings.compose.file} mounts no named volume, "
                "so its data would be lost with the container",
                "add `volumes: [pgdata:/var/lib/postgresql]` to the service and `volumes: {pgdata: {}}` "
                "at the top level",
            )
        self.volume_key, self.compose_mount = vol
        self.volume_name = self.svc.volume_name(self.volume_key)
        self.container_name = self.svc.container_name
        self._client: DockerClient | None = None
        self.last_readiness: Readiness | None = None

    # -- engine ---------------------------------------------------------------------
    @property
    def where(self) -> str:
        return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    def client(self):
        """A connected Docker client; DockerUnavailable when the engine does not answer."""
        if self._client is not None:
            return self._client
        import docker

        try:
            client = docker.from_env(timeout=30)
            client.ping()
        except _docker_errors() as exc:
            raise DockerUnavailable(f"the Docker engine at {self.where} does not answer ({_explain(exc)})") from None
        self._client = client
        return client

    def engine_answers(self) -> tuple[bool, str]:
        try:
            self.client()
            return True, ""
        except DockerUnavailable as exc:
            return False, exc.message

    # -- image ----------------------------------------------------------------------
    def local_image(self):
        """The image if present locally, else None (never pulls)."""
        import docker

        try:
            return self.client().images.get(self.image)
        except docker.errors.ImageNotFound:
            return None
        except _docker_errors() as exc:
            raise DockerUnavailable(f"cannot inspect image {self.image} ({_explain(exc)})") from None

    def ensure_image(self, pull: bool = True):
        """The image; a missing one is pulled with progress (an image present locally never is)."""
        img = self.local_image()
        if img is not None:
            return img
        if not pull:
            raise ImageUnavailable(f"image {self.image} is not present locally", self._image_hint())
        self._pull()
        img = self.local_image()
        if img is None:
            raise ImageUnavailable(f"pulling {self.image} finished but the image is not present", self._image_hint())
        return img

    def _image_hint(self) -> str:
        return (
            f"pull it where a registry is reachable (`docker pull {self.image}`), load it "
            f"(`docker load`), point dbstack.compose.image at a local image, or use --backend embedded"
        )

    def _pull(self) -> None:
        from docker.utils import parse_repository_tag

        repo, tag = parse_repository_tag(self.image)
        self.out(f"pulling {self.image} ...")
        layers: dict[str, str] = {}
        last_report = 0.0
        try:
            for ev in self.client().api.pull(repo, tag=tag or "latest", stream=True, decode=True):
                if "error" in ev:
                    raise ImageUnavailable(
                        f"image {self.image} is not present locally and could not be pulled: {ev['error']}",
                        self._image_hint(),
                    )
                status, layer = ev.get("status", ""), ev.get("id", "")
                if layer and status in ("Downloading", "Extracting"):
                    now = time.monotonic()
                    if now - last_report >= 1.0:
                        last_report = now
                        self.out(f"  {layer}: {status.lower()} {ev.get('progress', '').split(']')[-1].strip()}")
                    continue
                if layer and layers.get(layer) != status:
                    layers[layer] = status
                    self.out(f"  {layer}: {status}")
                elif not layer and status:
                    self.out(f"  {status}")
        except ImageUnavailable:
            raise
        except _docker_errors() as exc:
            raise ImageUnavailable(
                f"image {self.image} is not present locally and could not be pulled: {_explain(exc)}",
                self._image_hint(),
            ) from None

    # -- objects of this project -------------------------------------------------------
    def _labels(self) -> dict[str, str]:
        assert self.svc.path is not None
        return {
            L_PROJECT: self.svc.project,
            L_SERVICE: self.svc.name,
            L_NUMBER: "1",
            L_ONEOFF: "False",
            L_WORKDIR: str(self.svc.path.parent),
            L_CONFIG: str(self.svc.path),
            L_DBSTACK: "dbstack",
        }

    def containers(self) -> list:
        """This project's service containers (ours or compose's), by label."""
        flt = {"label": [f"{L_PROJECT}={self.svc.project}", f"{L_SERVICE}={self.svc.name}", f"{L_ONEOFF}=False"]}
        try:
            found = self.client().containers.list(all=True, filters=flt)
        except _docker_errors() as exc:
            raise BackendError(f"cannot list containers ({_explain(exc)})") from None
        return sorted(found, key=lambda c: (c.labels.get(L_NUMBER) != "1", c.name))

    def container(self):
        found = self.containers()
        return found[0] if found else None

    def _foreign_by_name(self):
        import docker

        try:
            c = self.client().containers.get(self.container_name)
        except docker.errors.NotFound:
            return None
        labels = c.labels or {}
        if labels.get(L_PROJECT) == self.svc.project and labels.get(L_SERVICE) == self.svc.name:
            return None
        return c

    def volume(self):
        """This project's data volume, None if absent; refuses a same-named volume of someone else."""
        import docker

        try:
            v = self.client().volumes.get(self.volume_name)
        except docker.errors.NotFound:
            return None
        except _docker_errors() as exc:
            raise BackendError(f"cannot inspect volume {self.volume_name} ({_explain(exc)})") from None
        if self.volume_key in self.svc.external_volumes:
            return v
        labels = v.attrs.get("Labels") or {}
        if labels.get(L_PROJECT) != self.svc.project:
            raise BackendError(
                f"a volume named {self.volume_name} exists but does not belong to compose project "
                f"{self.svc.project!r}; dbstack will not use or remove it",
                "remove or rename that volume yourself, or change `name:` in the compose file",
            )
        return v

    def _ensure_volume(self):
        v = self.volume()
        if v is not None:
            return v
        if self.volume_key in self.svc.external_volumes:
            raise BackendError(
                f"volume {self.volume_name} is declared external but does not exist",
                f"create it: docker volume create {self.volume_name}",
            )
        labels = {L_PROJECT: self.svc.project, L_VOLUME: self.volume_key, L_DBSTACK: "dbstack"}
        try:
            return self.client().volumes.create(name=self.volume_name, labels=labels)
        except _docker_errors() as exc:
            raise BackendError(f"cannot create volume {self.volume_name} ({_explain(exc)})") from None

    # -- the server ---------------------------------------------------------------------
    def server(self) -> ConnSpec:
        return self.settings.local_server()

    def _environment(self) -> dict[str, str]:
        env = dict(self.svc.environment)
        # Settings that override the compose credentials must reach the
        # image's init script too, or the server would not know them.
        if self.settings.local.user:
            env["POSTGRES_USER"] = self.settings.local.user
        if self.settings.local.password:
            env["POSTGRES_PASSWORD"] = self.settings.local.password
        return env

    def _matches(self, ctr, image, mount: str, port: int) -> bool:
        cfg, host = ctr.attrs.get("Config") or {}, ctr.attrs.get("HostConfig") or {}
        if ctr.attrs.get("Image") != image.id:
            return False
        bindings = (host.get("PortBindings") or {}).get(f"{CONTAINER_PORT}/tcp") or []
        if [(b.get("HostIp"), str(b.get("HostPort"))) for b in bindings] != [("127.0.0.1", str(port))]:
            return False
        if self.svc.command and tuple(cfg.get("Cmd") or ()) != self.svc.command:
            return False
        mounts = {m.get("Destination"): m.get("Name") for m in ctr.attrs.get("Mounts") or []}
        return mounts.get(mount) == self.volume_name

    def _check_port(self, port: int) -> None:
        if port_free(port, "127.0.0.1"):
            return
        if _embedded_port(self.settings) == port:
            raise BackendError(
                f"port 127.0.0.1:{port} is in use by this project's embedded PostgreSQL, so the "
                f"{self.svc.name} container cannot publish it",
                "stop it first: `inv db-down --backend embedded` (its data is kept)",
            )
        raise BackendError(
            f"port 127.0.0.1:{port} is already in use by another program, so the "
            f"{self.svc.name} container cannot publish it",
            f"stop whatever listens there (`ss -ltnp | grep :{port}`), or pick another port: "
            "set dbstack.local.port in invoke.yaml (or INVOKE_DBSTACK_LOCAL_PORT)",
        )

    def up(self) -> ConnSpec:
        """Start (creating if needed) the container and wait until it accepts connections."""
        import docker

        conn = self.server()
        image = self.ensure_image(pull=True)
        mount = data_mount(image.attrs.get("Config") or {}, self._environment(), self.compose_mount)
        ctr = self.container()
        if ctr is not None and not self._matches(ctr, image, mount, conn.port):
            self.out(
                f"recreating container {ctr.name}: its image, port, command or mount changed "
                f"(the data in volume {self.volume_name} is kept)"
            )
            self._stop_and_remove(ctr)
            ctr = None
        if ctr is None:
            foreign = self._foreign_by_name()
            if foreign is not None:
                raise BackendError(
                    f"a container named {self.container_name} exists but does not belong to "
                    f"compose project {self.svc.project!r}; dbstack will not touch it",
                    "remove or rename it yourself, or change `name:` in the compose file",
                )
            self._check_port(conn.port)
            self._ensure_volume()
            try:
                ctr = self.client().containers.create(
                    image.id,
                    command=list(self.svc.command) or None,
                    name=self.container_name,
                    environment=self._environment(),
                    labels=self._labels(),
                    ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", conn.port)},
                    volumes={self.volume_name: {"bind": mount, "mode": "rw"}},
                    detach=True,
                )
            except _docker_errors() as exc:
                raise BackendError(f"cannot create container {self.container_name} ({_explain(exc)})") from None
            self.out(
                f"created container {ctr.name} from {self.image} (volume {self.volume_name} at {mount}, "
                f"127.0.0.1:{conn.port})"
            )
        ctr.reload()
        if ctr.status != "running":
            self._check_port(conn.port)
            try:
                ctr.start()
            except docker.errors.APIError as exc:
                text = _explain(exc)
                hint = (
                    "another program holds the port: set dbstack.local.port"
                    if "port" in text.lower() or "address already in use" in text.lower()
                    else "see `inv db-logs`"
                )
                raise BackendError(f"cannot start container {ctr.name} ({text})", hint) from None
        self.last_readiness = self.wait(ctr, conn)
        return conn

    def wait(self, ctr, conn: ConnSpec) -> Readiness:
        def alive() -> str | None:
            try:
                ctr.reload()
            except _docker_errors():
                return f"container {ctr.name} disappeared"
            if ctr.status in ("exited", "dead"):
                return f"container {ctr.name} exited with code {ctr.attrs['State'].get('ExitCode')}"
            return None

        return wait_ready(
            conn,
            timeout=self.settings.ready_timeout,
            what=f"container {ctr.name}",
            alive=alive,
            logs=lambda n: self._tail(ctr, n),
        )

    @staticmethod
    def _tail(ctr, n: int) -> str:
        try:
            return ctr.logs(tail=n).decode("utf-8", "replace").rstrip()
        except Exception:  # noqa: BLE001 - the logs are a courtesy in an error message
            return ""

    def _stop_and_remove(self, ctr) -> None:
        import docker

        try:
            ctr.reload()
            if ctr.status in ("running", "restarting", "paused"):
                # PostgreSQL's fast shutdown (what the official image's
                # STOPSIGNAL asks for); plain SIGTERM would wait for clients.
                ctr.kill(signal="SIGINT")
                try:
                    ctr.wait(timeout=30)
                except Exception:  # noqa: BLE001 - still running after 30 s: stop it for good
                    ctr.kill()
            ctr.remove(v=False)
        except docker.errors.NotFound:
            pass
        except _docker_errors() as exc:
            raise BackendError(f"cannot remove container {ctr.name} ({_explain(exc)})") from None

    def down(self, volumes: bool = False) -> None:
        """Stop and remove this project's container; with volumes, also its data volume."""
        import docker

        removed = False
        for ctr in self.containers():
            self._stop_and_remove(ctr)
            self.out(f"removed container {ctr.name}")
            removed = True
        if not removed:
            self.out(f"no container of compose project {self.svc.project!r} service {self.svc.name!r}")
        if volumes:
            v = self.volume()
            if v is None:
                self.out(f"no volume {self.volume_name}")
            elif self.volume_key in self.svc.external_volumes:
                self.out(f"kept volume {self.volume_name}: it is declared external")
            else:
                try:
                    v.remove()
                except docker.errors.APIError as exc:
                    raise BackendError(
                        f"cannot remove volume {self.volume_name} ({_explain(exc)})",
                        f"another container still uses it: `docker ps -a --filter volume={self.volume_name}`",
                    ) from None
                self.out(f"removed volume {self.volume_name}")

    def logs(self, tail: int = 100, follow: bool = False, write: Callable[[str], None] | None = None) -> str:
        ctr = self.container()
        if ctr is None:
            raise BackendError(
                f"no container of compose project {self.svc.project!r} service {self.svc.name!r}",
                "start it with `inv db-up`",
            )
        if not follow:
            return self._tail(ctr, tail)
        write = write or (lambda s: print(s, end="", flush=True))
        for chunk in ctr.logs(tail=tail, stream=True, follow=True):
            write(chunk.decode("utf-8", "replace"))
        return ""

    def status(self) -> str:
        ctr = self.container()
        if ctr is None:
            vol = self.volume()
            return f"docker: no container for {self.svc.project}/{self.svc.name}" + (
                f" (volume {self.volume_name} exists)" if vol is not None else ""
            )
        return (
            f"docker: container {ctr.name} {ctr.status} (image {self.image}, "
            f"127.0.0.1:{self.server().port}, volume {self.volume_name})"
        )
