"""The embedded backend run as root: devcontainers and CI are root, with checkouts the `postgres`
account cannot reach; and root must never follow a path another user planted."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from dbstack.errors import BackendError
from dbstack.local.embedded import PRIVATE_ROOT, data_location
from dbstack.local.pgctl import PgCtl, free_port, server_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(os.geteuid() != 0, reason="root-only behaviour (CI runs as root)"),
]

MIGRATED = ["20240204000001", "20240204000002", "20240205000001", "20240205000002", "20240206000001"]
REVISIONS = "SELECT version FROM atlas_schema_revisions.atlas_schema_revisions ORDER BY version"


@pytest.fixture
def hidden_project(make_project):
    """A project whose root is 0700 and owned by root, like a clone in /root."""
    p = make_project(image="postgres:18")
    p.write_config(backend="embedded")
    os.chmod(p.root, 0o700)
    moved, _why = data_location(p.data_dir)
    yield p, moved
    p.run("db-down", "--volumes", "--backend", "embedded")
    shutil.rmtree(moved.parent, ignore_errors=True)


def test_reset_db_in_a_0700_checkout_moves_the_data_where_postgres_can_reach_it(hidden_project, query):
    project, moved = hidden_project
    assert moved.parent.parent == PRIVATE_ROOT and moved != project.data_dir
    neighbour = PRIVATE_ROOT / f"not-ours-{secrets.token_hex(4)}"
    neighbour.mkdir(parents=True)
    try:
        cp = project.run("reset-db", "--backend", "embedded", check=True)
        # Said once, with the reason and the place.
        assert f"cannot reach {project.root / '.dbstack'}, so the data directory is {moved}" in cp.stdout
        assert (moved / "PG_VERSION").is_file() and (moved / "dbstack-owned").is_file()
        assert not project.data_dir.exists()
        db = project.server().with_db("mydatabase")
        assert [r[0] for r in query(db, REVISIONS)] == MIGRATED
        status = project.run("db-status", "--backend", "embedded", check=True).stdout
        assert f"data in {moved}" in status and "cannot reach" in status
        # Every task finds the same server: migrate sees nothing pending.
        assert project.run("migrate", check=True).returncode == 0

        project.run("db-down", "--volumes", "--backend", "embedded", check=True)
        assert not moved.exists() and not moved.parent.exists()
        assert neighbour.is_dir() and PRIVATE_ROOT.is_dir()
    finally:
        neighbour.rmdir()


def test_each_checkout_gets_its_own_directory(base):
    d, _victim = base
    a = d / "a" / ".dbstack" / "pgdata"
    b = d / "b" / ".dbstack" / "pgdata"
    os.chmod(d, 0o700)
    (ma, why), (mb, _) = data_location(a), data_location(b)
    assert why and ma != mb and ma.parent.parent == mb.parent.parent == PRIVATE_ROOT
    os.chmod(d, 0o755)
    assert data_location(a) == (a, None)


@pytest.fixture
def base():
    d = Path(tempfile.mkdtemp(prefix="dbstack-root-"))
    d.chmod(0o755)
    victim = d / "victim"
    victim.mkdir()
    yield d, victim
    shutil.rmtree(d, ignore_errors=True)


def _untouched(victim: Path) -> None:
    st = os.stat(victim)
    assert (st.st_uid, st.st_gid) == (0, 0), "root chowned a path it did not create"


def test_a_planted_symlink_as_data_directory_is_refused_and_not_followed(base):
    d, victim = base
    (d / "data").symlink_to(victim)
    ctl = PgCtl(d / "data", port=free_port())
    with pytest.raises(BackendError, match="not a directory owned by the server's account"):
        ctl.init()
    _untouched(victim)


def test_a_planted_symlink_as_log_file_is_refused_and_not_followed(base):
    d, victim = base
    target = victim / "passwd"
    target.write_text("root:x:0:0\n")
    (d / "data.log").symlink_to(target)
    ctl = PgCtl(d / "data", port=free_port())
    with pytest.raises(BackendError, match="not a regular file"):
        ctl.init()
    assert target.read_text() == "root:x:0:0\n" and os.stat(target).st_uid == 0
    _untouched(victim)


def test_a_directory_someone_else_made_is_not_taken_over(base):
    d, victim = base
    ctl = PgCtl(victim, port=free_port())  # exists, owned by root, not by the server account
    with pytest.raises(BackendError, match="dbstack did not create it"):
        ctl.init()
    _untouched(victim)


def test_the_old_predictable_socket_path_is_not_used(base):
    d, victim = base
    data = d / "data"
    # Earlier versions used /tmp/dbstack-<sha1(data dir)[:12]>; plant a link there.
    old = Path(tempfile.gettempdir()) / f"dbstack-{hashlib.sha1(str(data).encode()).hexdigest()[:12]}"
    old.symlink_to(victim)
    ctl = PgCtl(data, port=free_port(), password=secrets.token_urlsafe(12))
    try:
        ctl.init()
        ctl.start()
        sock = ctl.socket_dir
        assert sock is not None and sock != old and sock.is_dir() and not sock.is_symlink()
        ctl.set_password()
        ctl.stop()
        assert not sock.exists(), "the socket directory outlived the server"
    finally:
        ctl.remove()
        old.unlink()
    _untouched(victim)


def test_private_root_must_be_closed_to_other_users(tmp_path, monkeypatch):
    from dbstack.local import embedded

    fake = tmp_path / "private"
    fake.mkdir(mode=0o777)
    fake.chmod(0o777)
    with pytest.raises(BackendError, match="not a root-owned directory closed to other users"):
        embedded._private_dir(fake)
    fake.chmod(0o755)
    os.chown(fake, 65534, 65534)
    with pytest.raises(BackendError):
        embedded._private_dir(fake)


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, urllib.parse.quote(secret, safe="").encode(), base64.b64encode(raw), base64.urlsafe_b64encode(raw)]


def test_the_server_and_its_tools_never_see_our_secrets(make_project, query, monkeypatch):
    secret = "S3cr#t/" + secrets.token_hex(6)
    quoted = urllib.parse.quote(secret, safe="")
    env = {
        "DATABASE_URL": f"postgresql://app:{quoted}@127.0.0.1:1/db",
        "INVOKE_DBSTACK_LOCAL_PASSWORD": secret,
        "AWS_SECRET_ACCESS_KEY": secret,
        "PGPASSWORD": secret,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    allowed = server_env()
    assert not any(f in (k + "=" + v).encode() for k, v in allowed.items() for f in _forms(secret))

    project = make_project(image="postgres:18")
    project.write_config(backend="embedded")
    project.run("db-up", "--backend", "embedded", env=env, check=True)
    pid = int((project.data_dir / "postmaster.pid").read_text().splitlines()[0])
    # The postmaster and every process it forked (checkpointer, walwriter, backends, ...).
    pids = [pid] + [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == pid]
    assert len(pids) > 2
    for p in pids:
        for what in ("environ", "cmdline"):
            try:
                data = (Path("/proc") / str(p) / what).read_bytes()
            except (FileNotFoundError, ProcessLookupError):
                continue
            for form in _forms(secret):
                assert form not in data, f"/proc/{p}/{what} holds the password ({form!r})"
    project.run("db-down", "--volumes", "--backend", "embedded", check=True)


def _ppid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
