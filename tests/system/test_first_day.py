"""docs/first-day.md, run: every ```console block in order, in a fresh clone (see tests/firstday.py).

One clone, one server. The clone gets the working tree's uncommitted changes to tracked files
(`git diff HEAD` applied), so a guide or message edited but not yet committed is what runs; in CI
the checkout is clean and this changes nothing. The clone's own `./scripts/setup` (the guide's
first command) installs it into its `.venv`, as for a newcomer. The local server is the embedded
one on a free port: Docker's compose project name is fixed (`dbstack`) and shared by every
checkout on a machine, so a test must not use it; `PGPORT` tells the guide's psycopg one-liner
the same port. The Kubernetes step is `--dry-run` in the guide itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import firstday
from testpaths import ROOT

GUIDE = "docs/first-day.md"
pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the project's git repository to clone"),
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]


def _setup_gives_an_embedded_server() -> bool:
    """Whether the clone's `./scripts/setup` leaves binaries for the embedded server.

    It installs none where Docker is usable and PostgreSQL binaries are absent, unless it runs as
    root with apt-get (then Debian's postgresql): the guide's default, Docker, is the one backend
    this test must not use.
    """
    import glob

    if shutil.which("pg_ctl") or glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        return True
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception:  # noqa: BLE001 - no usable Docker
        return True  # no usable Docker: setup installs the server wheel
    return False


def _clone(dest: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest)], check=True)
    diff = subprocess.run(["git", "-C", str(ROOT), "diff", "HEAD", "--binary"], check=True, capture_output=True).stdout
    if diff.strip():
        subprocess.run(["git", "-C", str(dest), "apply", "--whitespace=nowarn", "-"], input=diff, check=True)


def _env(clone: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "INVOKE_", "DBSTACK_")) and k not in ("VIRTUAL_ENV", "PYTHONHOME")
    }
    venv = clone / ".venv"
    env.update(
        {
            "PATH": f"{venv / 'bin'}:{env.get('PATH', '/usr/local/bin:/usr/bin:/bin')}",
            "VIRTUAL_ENV": str(venv),
            "INVOKE_DBSTACK_LOCAL_PORT": str(port),
            "INVOKE_DBSTACK_BACKEND": "embedded",
            "PGPORT": str(port),
            "LANG": "C.UTF-8",
        }
    )
    return env


@pytest.mark.timeout(3000)
def test_the_first_day_guide_runs_on_a_fresh_clone(tmp_path):
    from dbstack.local.pgctl import free_port

    if not _setup_gives_an_embedded_server():
        pytest.skip(
            "Docker is usable and there are no PostgreSQL binaries, so the clone's setup installs "
            "none; this test needs the embedded server (install postgresql, or run it in CI)"
        )

    base = Path(tempfile.mkdtemp(prefix="dbstack-first-day-"))
    base.chmod(0o755)  # as root the embedded server runs as `postgres`, which must reach the clone
    clone = base / "dbstack"
    _clone(clone)
    steps = firstday.load(clone / GUIDE)
    assert steps, f"{GUIDE} has no console blocks"
    env = _env(clone, free_port())
    log = []
    try:
        for step in steps:
            t0 = time.monotonic()
            cp = subprocess.run(
                ["bash", "-c", step.command],
                cwd=clone,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=1500,
                text=True,
                errors="replace",
            )
            took = time.monotonic() - t0
            log.append(f"$ {step.command}\n{cp.stdout}[exit {cp.returncode}, {took:.1f}s]")
            found = firstday.problems(step, cp.returncode, cp.stdout)
            tail = "\n".join(cp.stdout.splitlines()[-40:])
            assert not found, (
                f"{GUIDE} line {step.line}: `{step.command}` no longer does what the guide "
                f"shows:\n  " + "\n  ".join(found) + f"\n--- its output (tail):\n{tail}"
            )
    finally:
        (tmp_path / "first-day.log").write_text("\n".join(log))
        inv = clone / ".venv" / "bin" / "inv"
        if inv.exists():
            subprocess.run([str(inv), "db-down", "--volumes"], cwd=clone, env=env, capture_output=True, timeout=300)
        shutil.rmtree(base, ignore_errors=True)
