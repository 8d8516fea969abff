"""Which local server backend to use: Docker, embedded, or `auto` between them.

`auto` picks, in order:
1. Docker, when this project's container already exists (whoever created it);
2. the embedded server, when it is already running from this project's data directory;
3. Docker, when the engine answers and the image is present or can be pulled;
4. the embedded server otherwise, saying in one line why Docker was not used.
Steps 1 and 2 keep `auto` on the server that holds the data; commands that
do not start a server (down, logs, status) never pull an image.

`choose` is that decision, and the only one: `get_backend` acts on it, and
`inv doctor` asks it (with a Probe that looks the image up in the registry
instead of pulling it) rather than guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import BackendError, ToolMissing, UsageError
from ..settings import ConnSpec, Settings
from .readiness import Readiness

NAMES = ("auto", "docker", "embedded")


class Backend(Protocol):
    name: str
    last_readiness: Readiness | None

    def up(self) -> ConnSpec: ...
    def down(self, volumes: bool = False) -> None: ...
    def logs(self, tail: int = 100, follow: bool = False, write: Callable[[str], None] | None = None) -> str: ...
    def server(self) -> ConnSpec: ...
    def status(self) -> str: ...


@dataclass(frozen=True)
class Choice:
    """The backend to use ("docker" or "embedded"), or None when none can work; why, in one line."""

    name: str | None
    why: str
    hint: str = ""
    note: str = ""  # what a caller that goes ahead tells the user (auto fell back to embedded)


class Probe:
    """What the choice depends on, each asked lazily and at most once.

    pull: a missing image is pulled now (a caller about to start a server), or
    only looked up in the registry (doctor: no download). The Docker SDK and
    the registry are reached only through these methods.
    """

    def __init__(self, settings: Settings, *, out: Callable[[str], None] = print, pull: bool = True) -> None:
        self.settings = settings
        self.out = out
        self.pull = pull
        self._memo: dict[str, Any] = {}

    def _once(self, key: str, fn: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]

    @property
    def docker(self):
        from .docker import DockerBackend

        return self._once("docker", lambda: DockerBackend(self.settings, out=self.out))

    @property
    def embedded(self):
        from .embedded import EmbeddedBackend

        return self._once("embedded", lambda: EmbeddedBackend(self.settings, out=self.out))

    def engine(self) -> tuple[bool, str]:
        """(the Docker engine answers, why not)."""
        return self._once("engine", self.docker.engine_answers)

    def container(self):
        """This project's container (running or not), or None."""
        return self._once("container", lambda: self.docker.container() if self.engine()[0] else None)

    def embedded_running(self) -> bool:
        """The embedded server runs from this project's data directory."""
        return self._once(
            "embedded_running",
            lambda: (self.embedded.data_dir / "postmaster.pid").exists() and bool(_quiet(self.embedded.running)),
        )

    def embedded_data(self) -> bool:
        """This project's embedded data directory holds a cluster."""
        return self._once("embedded_data", lambda: (self.embedded.data_dir / "PG_VERSION").exists())

    def image(self) -> tuple[str, str]:
        """("present" | "pullable" | "unavailable", why it is unavailable); pulls it when self.pull."""
        return self._once("image", self._image)

    def _image(self) -> tuple[str, str]:
        from .docker import ImageUnavailable

        d = self.docker
        if self.pull:
            try:
                d.ensure_image(pull=True)
                return "present", ""
            except ImageUnavailable as exc:
                return "unavailable", exc.message
        if d.local_image() is not None:
            return "present", ""
        found, why = self.registry_has_image()
        if found:
            return "pullable", ""
        return "unavailable", f"image {d.image} is not present locally and cannot be pulled: {why}"

    def registry_has_image(self) -> tuple[bool, str]:
        """Ask the registry, through the engine, whether it has the image (downloads nothing)."""
        import docker
        import requests

        try:
            self.docker.client().images.get_registry_data(self.docker.image)
            return True, ""
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            text = str(getattr(exc, "explanation", None) or exc).strip()
            return False, text.splitlines()[0] if text else type(exc).__name__

    def engine_version(self) -> str:
        """The Docker engine's version, for display."""
        return self._once("engine_version", lambda: self.docker.client().version().get("Version", "?"))

    def binaries(self) -> ToolMissing | None:
        """Why the embedded server cannot run here (no PostgreSQL server binaries), or None."""
        return self._bindir()[1]

    def bindir(self) -> Path | None:
        """Where the PostgreSQL server binaries are, or None (binaries() says why)."""
        return self._bindir()[0]

    def _bindir(self) -> tuple[Path | None, ToolMissing | None]:
        from .pgctl import find_bindir

        def find() -> tuple[Path | None, ToolMissing | None]:
            try:
                return find_bindir(self.settings.embedded.bin_dir), None
            except ToolMissing as exc:
                return None, exc

        return self._once("bindir", find)


def choose(probe: Probe, name: str, *, start: bool = True, verify: bool = False) -> Choice:
    """The one decision between the backends (the module docstring's order), and why.

    start: the caller will start a server (so an image may be pulled, see
    Probe.pull). verify: also check that a backend named explicitly can work
    (doctor); otherwise the named one is used and fails with its own error.
    """
    if name not in NAMES:
        raise UsageError(f"unknown backend {name!r}", "use --backend auto, docker or embedded")
    if name == "docker":
        if verify:
            ok, why = probe.engine()
            if ok:
                state, why = probe.image()
                ok = state != "unavailable"
            if not ok:
                return Choice(
                    None,
                    f"docker (as set): {why}",
                    "start Docker and make the image available, or use --backend embedded",
                )
        return Choice("docker", "set to docker")
    if name == "embedded":
        missing = probe.binaries() if verify else None
        if missing is not None:
            return Choice(None, f"embedded (as set): {missing.message}", missing.hint)
        return Choice("embedded", "set to embedded")

    ok, why = probe.engine()
    if ok and probe.container() is not None:
        return Choice("docker", "this project's container exists")
    if probe.embedded_running():
        return Choice("embedded", "the embedded server runs from this project's data directory")
    if not start:
        if probe.embedded_data() or not ok:
            return Choice("embedded", "this project's data is in the embedded data directory" if ok else why)
        return Choice("docker", "the Docker engine answers")
    if ok:
        state, detail = probe.image()
        if state != "unavailable":
            return Choice("docker", f"the Docker engine answers and the image is {state}")
        why = detail
    missing = probe.binaries()
    if missing is not None:
        return Choice(None, f"no local server backend works: Docker: {why}; embedded: {missing.message}", missing.hint)
    return Choice(
        "embedded",
        f"Docker is not usable: {why}",
        note=f"Docker is not usable ({why}); using the embedded PostgreSQL in {probe.embedded.data_dir} "
        "(force one with --backend docker|embedded)",
    )


def get_backend(
    settings: Settings, name: str | None = None, *, out: Callable[[str], None] = print, start: bool = True
) -> Backend:
    """The backend to use; `start` says whether the caller will start a server (may pull an image)."""
    probe = Probe(settings, out=out, pull=start)
    choice = choose(probe, name or settings.backend, start=start)
    if choice.name is None:
        raise BackendError(choice.why, choice.hint)
    if choice.note:
        out(choice.note)
    return probe.docker if choice.name == "docker" else probe.embedded


def _quiet(fn):
    try:
        return fn()
    except ToolMissing:
        return None
