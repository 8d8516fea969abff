"""Which local server backend to use: Docker, embedded, or `auto` between them.

`auto` picks, in order:
1. Docker, when this project's container already exists (whoever created it);
2. the embedded server, when it is already running from this project's data directory;
3. Docker, when the engine answers and the image is present or can be pulled;
4. the embedded server otherwise, saying in one line why Docker was not used.
Steps 1 and 2 keep `auto` on the server that holds the data; commands that
do not start a server (down, logs, status) never pull an image.
"""
from __future__ import annotations

from typing import Callable, Protocol

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


def get_backend(settings: Settings, name: str | None = None, *, out: Callable[[str], None] = print,
                start: bool = True) -> Backend:
    """The backend to use; `start` says whether the caller will start a server (may pull an image)."""
    from .docker import DockerBackend
    from .embedded import EmbeddedBackend

    choice = name or settings.backend
    if choice not in NAMES:
        raise UsageError(f"unknown backend {choice!r}", "use --backend auto, docker or embedded")
    if choice == "docker":
        return DockerBackend(settings, out=out)
    if choice == "embedded":
        return EmbeddedBackend(settings, out=out)

    docker = DockerBackend(settings, out=out)
    embedded = EmbeddedBackend(settings, out=out)
    ok, why = docker.engine_answers()
    if ok and docker.container() is not None:
        return docker
    if (embedded.data_dir / "postmaster.pid").exists() and _quiet(embedded.running):
        return embedded
    if not start:
        if (embedded.data_dir / "PG_VERSION").exists() or not ok:
            return embedded
        return docker
    if ok:
        from .docker import ImageUnavailable

        try:
            docker.ensure_image(pull=True)
            return docker
        except ImageUnavailable as exc:
            why = exc.message
    try:
        embedded.ctl()
    except ToolMissing as exc:
        raise BackendError(f"no local server backend works: Docker: {why}; embedded: {exc.message}",
                           exc.hint) from None
    out(f"Docker is not usable ({why}); using the embedded PostgreSQL in {embedded.data_dir} "
        "(force one with --backend docker|embedded)")
    return embedded


def _quiet(fn):
    try:
        return fn()
    except ToolMissing:
        return None
