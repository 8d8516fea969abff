"""The local server without Docker: initdb/pg_ctl in a project-local data directory.

Same port, user, password and database as the compose service (settings may
override them), and the compose command's `-c name=value` settings, so the
embedded server and the container are interchangeable for every task.
The data directory (default `.dbstack/pgdata`, git-ignored) carries a marker
file; `db-down --volumes` deletes only a directory that has it.

As root the server runs as `postgres`, which cannot reach a checkout under
root's home or any 0700 directory. Then the data lives in a directory of its
own under /var/lib/dbstack (root-owned), named after the checkout's data
directory, so each checkout keeps its own server; every task finds it the same
way (`data_location`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from ..compose import load_service
from ..errors import BackendError
from ..settings import ConnSpec, Settings
from .pgctl import PgCtl, can_search, find_bindir, port_free, server_account
from .readiness import Readiness, wait_ready

MARKER = "dbstack-owned"
# Where root keeps data directories the server account cannot reach in the checkout.
PRIVATE_ROOT = Path("/var/lib/dbstack")


def data_location(configured: Path) -> tuple[Path, str | None]:
    """The data directory to use for `configured`, and why it moved (None when it did not)."""
    configured = Path(configured).absolute()
    account = server_account()
    if account is None or can_search(configured.parent, account):
        return configured, None
    key = hashlib.sha256(str(configured).encode()).hexdigest()[:16]
    return (
        PRIVATE_ROOT / key / configured.name,
        f"the '{account.pw_name}' account the server runs as cannot reach {configured.parent}",
    )


def _private_dir(path: Path) -> None:
    """Create a root-owned directory that nobody else may write, or accept only such a one."""
    try:
        os.mkdir(path, 0o755)
        return
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise BackendError(
            f"{path} exists but is not a root-owned directory closed to other users; dbstack "
            "keeps the embedded server's data there when running as root",
            f"remove {path} if nothing of yours is in it, or set dbstack.embedded.data_dir "
            "to a directory the 'postgres' account can reach",
        )


class EmbeddedBackend:
    """A PostgreSQL server run by dbstack with the machine's (or a wheel's) binaries."""

    name = "embedded"

    def __init__(self, settings: Settings, *, out: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.out = out
        self.svc = load_service(settings.compose.file, settings.compose.service)
        self.data_dir, self.moved_because = data_location(settings.embedded.data_dir)
        self._ctl: PgCtl | None = None
        self.last_readiness: Readiness | None = None

    # -- pieces -------------------------------------------------------------------------
    def server(self) -> ConnSpec:
        return self.settings.local_server()

    @property
    def database(self) -> str:
        """The database the image's init script would create (POSTGRES_DB)."""
        env = self.svc.environment
        return env.get("POSTGRES_DB") or self.server().user

    def ctl(self) -> PgCtl:
        if self._ctl is None:
            if self.moved_because:
                _private_dir(PRIVATE_ROOT)
                _private_dir(self.data_dir.parent)
            conn = self.server()
            self._ctl = PgCtl(
                self.data_dir,
                port=conn.port,
                user=conn.user,
                password=conn.password,
                host=conn.host,
                bindir=find_bindir(self.settings.embedded.bin_dir),
                settings=self.svc.server_settings(),
            )
        return self._ctl

    @property
    def marker(self) -> Path:
        return self.data_dir / MARKER

    def owned(self) -> bool:
        return self.marker.is_file()

    def running(self) -> tuple[int, int] | None:
        """(pid, port) when this data directory's server runs."""
        if not (self.data_dir / "postmaster.pid").exists():
            return None
        return self.ctl().postmaster()

    # -- lifecycle --------------------------------------------------------------------
    def up(self) -> ConnSpec:
        conn = self.server()
        ctl = self.ctl()
        live = ctl.postmaster() if ctl.initialized else None
        if live and live[1] != conn.port:
            self.out(f"restarting the embedded server: it runs on port {live[1]}, settings say {conn.port}")
            ctl.stop("fast")
            live = None
        if live:
            self.last_readiness = self._wait(ctl, conn, log_offset=None)
            return conn
        fresh = not ctl.initialized
        if fresh and self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise BackendError(
                f"{self.data_dir} is not empty but holds no PostgreSQL data directory",
                "point dbstack.embedded.data_dir at an empty or new directory",
            )
        if not fresh:
            have, need = ctl.binary_version(), ctl.data_version()
            if need and have != need:
                raise BackendError(
                    f"{self.data_dir} was created by PostgreSQL {need}, but the binaries in {ctl.bindir} are "
                    f"PostgreSQL {have}",
                    f"point dbstack.embedded.bin_dir at PostgreSQL {need} binaries, or start over with "
                    "`inv reset-db --backend embedded` (deletes the local data)",
                )
        if not port_free(conn.port, conn.host):
            raise BackendError(
                f"port {conn.host}:{conn.port} is already in use by another program, so the "
                "embedded PostgreSQL cannot listen there",
                f"stop whatever listens there (`ss -ltnp | grep :{conn.port}`; this project's "
                "container stops with `inv db-down --backend docker`), or pick another port: "
                "set dbstack.local.port in invoke.yaml (or INVOKE_DBSTACK_LOCAL_PORT)",
            )
        if fresh:
            if self.moved_because:
                self.out(f"{self.moved_because}, so the data directory is {self.data_dir}")
            self.out(f"initializing the embedded PostgreSQL {ctl.binary_version()} in {self.data_dir}")
            ctl.init()
            ctl.write_new_file(
                MARKER,
                "This PostgreSQL data directory was created by dbstack; `inv db-down --volumes` may delete it.\n",
            )
        offset = ctl.log_file.stat().st_size if ctl.log_file.exists() else 0
        ctl.start(wait=False)
        if fresh:
            # Only the owner's socket is trusted until the password is set.
            sock = ConnSpec(host=str(ctl.socket_dir), port=conn.port, user=conn.user, dbname="postgres")
            first = self._wait(ctl, sock, log_offset=offset)
            ctl.set_password()
            tcp = self._wait(ctl, conn, log_offset=offset)
            self.last_readiness = Readiness(
                elapsed=first.elapsed + tcp.elapsed, attempts=first.attempts + tcp.attempts, ready_at=tcp.ready_at
            )
            # Like the image's init script: POSTGRES_DB exists once the server is up.
            self._create_initial_database(sock)
        else:
            self.last_readiness = self._wait(ctl, conn, log_offset=offset)
        self.out(f"embedded PostgreSQL running on {conn.host}:{conn.port} (data in {self.data_dir})")
        return conn

    def _create_initial_database(self, sock: ConnSpec) -> None:
        from ..postgres import create_database

        name = self.database
        if name and name != "postgres":
            create_database(sock, name)

    def _wait(self, ctl: PgCtl, conn: ConnSpec, log_offset: int | None) -> Readiness:
        started = time.monotonic()

        def alive() -> str | None:
            if ctl.postmaster():
                return None
            new_log = ""
            if log_offset is not None:
                try:
                    with open(ctl.log_file, "rb") as fh:
                        fh.seek(log_offset)
                        new_log = fh.read().decode("utf-8", "replace")
                except OSError:
                    pass
            if "FATAL:" in new_log or "PANIC:" in new_log:
                return "the server process exited"
            # pg_ctl may take a moment to write postmaster.pid.
            if time.monotonic() - started > 5:
                return "no server process for this data directory"
            return None

        return wait_ready(
            conn,
            timeout=self.settings.ready_timeout,
            what="the embedded PostgreSQL",
            alive=alive,
            logs=ctl.last_log_lines,
        )

    def down(self, volumes: bool = False) -> None:
        if not self.data_dir.exists():
            self.out(f"no embedded data directory {self.data_dir}")
            return
        if volumes and not self.owned():
            raise BackendError(
                f"{self.data_dir} was not created by dbstack (no {MARKER} marker); refusing to delete it",
                "delete it yourself if it is really disposable, or point dbstack.embedded.data_dir elsewhere",
            )
        ctl = self.ctl()
        if ctl.postmaster():
            ctl.stop("fast")
            self.out(f"stopped the embedded PostgreSQL ({self.data_dir})")
        else:
            self.out("the embedded PostgreSQL is not running")
        if volumes:
            ctl.remove()
            if self.moved_because:
                try:
                    self.data_dir.parent.rmdir()  # the per-checkout directory, now empty
                except OSError:
                    pass
            self.out(f"removed data directory {self.data_dir}")

    def logs(self, tail: int = 100, follow: bool = False, write: Callable[[str], None] | None = None) -> str:
        ctl = self.ctl()
        if not ctl.log_file.exists():
            raise BackendError(f"no embedded server log at {ctl.log_file}", "start the server with `inv db-up`")
        if not follow:
            return ctl.last_log_lines(tail)
        write = write or (lambda s: print(s, end="", flush=True))
        text = ctl.last_log_lines(tail)
        write(text + "\n" if text else "")
        with open(ctl.log_file, "rb") as fh:
            fh.seek(0, 2)
            while True:
                chunk = fh.read()
                if chunk:
                    write(chunk.decode("utf-8", "replace"))
                else:
                    time.sleep(0.2)

    def status(self) -> str:
        if not (self.data_dir / "PG_VERSION").exists():
            return f"embedded: no data directory at {self.data_dir}"
        where = f"data in {self.data_dir}" + (f", moved there: {self.moved_because}" if self.moved_because else "")
        live = self.running()
        if live:
            return f"embedded: running (pid {live[0]}, 127.0.0.1:{live[1]}, {where})"
        return f"embedded: stopped ({where})"
