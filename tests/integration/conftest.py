"""Fixtures for the local-server tests: throwaway projects, the Docker engine, the stand-in image.

Every test works in a temporary copy of the project layout (its own compose
file with a unique `name:` project, a free port, its own data directory), so
the developer's real container, volume, data directory and port 5432 are
never touched. Teardown removes only what the test's project created.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from testpaths import INV, unavailable

ROOT = Path(__file__).resolve().parents[2]

STANDIN_DIR = ROOT / "tests" / "docker"
sys.path.insert(0, str(STANDIN_DIR))


@dataclass
class Project:
    """A temporary dbstack project: compose file, invoke.yaml, tasks.py, migrations."""

    root: Path
    name: str  # compose project name (unique per test)
    port: int
    image: str
    config: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)

    @property
    def compose_file(self) -> Path:
        return self.root / "docker-compose.yml"

    @property
    def data_dir(self) -> Path:
        return self.root / ".dbstack" / "pgdata"

    @property
    def migrations(self) -> Path:
        return self.root / "manifests" / "migrations" / "mydatabase"

    @property
    def container_name(self) -> str:
        return f"{self.name}-postgres-1"

    @property
    def volume_name(self) -> str:
        return f"{self.name}_pgdata"

    def write_config(self, **overrides) -> None:
        from dbstack.settings import deep_merge

        self.config = deep_merge(self.config, overrides)
        (self.root / "invoke.yaml").write_text(yaml.safe_dump({"dbstack": self.config}))

    def settings(self, **overrides):
        from dbstack.settings import deep_merge, from_mapping

        return from_mapping(deep_merge(self.config, overrides), self.root)

    def run(
        self,
        *args: str,
        env: dict | None = None,
        check: bool | None = None,
        timeout: float = 240,
        stdin=subprocess.DEVNULL,
    ) -> subprocess.CompletedProcess:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_DBSTACK_")}
        full_env.update(self.env)
        full_env.update(env or {})
        cp = subprocess.run(
            [INV, *args], cwd=self.root, env=full_env, capture_output=True, text=True, timeout=timeout, stdin=stdin
        )
        if check:
            assert cp.returncode == 0, f"inv {' '.join(args)} failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}"
        return cp

    def server(self, **overrides):
        return self.settings(**overrides).local_server()


def _write_project(root: Path, name: str, port: int, image: str) -> None:
    compose = {
        "name": name,
        "services": {
            "postgres": {
                "image": image,
                "environment": {
                    "POSTGRES_USER": "myuser",
                    "POSTGRES_PASSWORD": "mypassword",
                    "POSTGRES_DB": "mydatabase",
                },
                "ports": [f"127.0.0.1:{port}:5432"],
                "volumes": ["pgdata:/var/lib/postgresql"],
                "command": ["postgres", "-c", "shared_buffers=32MB", "-c", "max_connections=50", "-c", "fsync=off"],
            }
        },
        "volumes": {"pgdata": {}},
    }
    (root / "docker-compose.yml").write_text(yaml.safe_dump(compose, sort_keys=False))
    (root / "tasks.py").write_text("from dbstack.tasks import ns  # noqa: F401\n")
    shutil.copytree(ROOT / "manifests" / "migrations" / "mydatabase", root / "manifests" / "migrations" / "mydatabase")


def _cleanup_docker(name: str) -> None:
    """Remove containers and volumes labelled with this test project only."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception:  # noqa: BLE001 - no usable Docker engine: no containers to clean up
        return
    label = f"com.docker.compose.project={name}"
    for c in client.containers.list(all=True, filters={"label": label}):
        c.remove(force=True, v=False)
    for v in client.volumes.list(filters={"label": label}):
        v.remove(force=True)


def _remove_embedded(data_dir: Path) -> None:
    """Stop the test project's embedded server; remove its data, log and socket directory."""
    from dbstack.local.pgctl import PgCtl

    try:
        PgCtl(data_dir, port=0).remove()
    except Exception:  # noqa: BLE001 - best-effort cleanup; the test's own result stands
        pass


@pytest.fixture
def make_project(request):
    """Factory: make_project(image=…) → a Project in a fresh temp dir on a free port."""
    from dbstack.local.pgctl import free_port

    made: list[Project] = []

    def make(image: str = "dbstack-standin/postgres:15", **config) -> Project:
        base = Path(tempfile.mkdtemp(prefix="dbstack-proj-"))
        # The embedded server runs as `postgres` when we are root: it must reach the tree.
        os.chmod(base, 0o755)
        name = f"dbstacktest-{uuid.uuid4().hex[:10]}"
        port = free_port()
        _write_project(base, name, port, image)
        p = Project(root=base, name=name, port=port, image=image)
        p.write_config(ready_timeout=60.0, **config)
        made.append(p)
        return p

    yield make
    for p in made:
        _cleanup_docker(p.name)
        _remove_embedded(p.data_dir)
        shutil.rmtree(p.root, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_client():
    """The real Docker engine. Without one a test needing it is skipped on a laptop (no access to the
    socket is common) but FAILS in CI (CI set), where this tier must run."""
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no engine
        unavailable(
            f"no usable Docker engine ({type(exc).__name__})",
            f"the Docker engine is required for this test and does not answer: {exc}",
        )
    return client


@pytest.fixture(scope="session")
def standin_image(docker_client) -> str:
    """The offline stand-in postgres image (built once per machine, about a minute)."""
    import standin

    try:
        return standin.ensure(docker_client, log=lambda line: print(line, file=sys.stderr))
    except RuntimeError as exc:
        pytest.fail(f"cannot build the stand-in postgres image: {exc}")


@pytest.fixture
def query():
    """query(conn_spec, sql, params) → rows (None for statements without a result)."""
    import psycopg

    def run(conn, sql: str, params=()):
        with psycopg.connect(**conn.connect_kwargs(), autocommit=True) as c:
            cur = c.execute(sql, params)
            return cur.fetchall() if cur.description else None

    return run
