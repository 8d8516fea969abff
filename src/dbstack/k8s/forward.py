"""Reach an environment's database from this machine: port-forward, migrate-cluster.

`kubectl port-forward` to the Cluster's read-write Service, bound to
127.0.0.1 only. migrate-cluster starts that forward itself, reads the
application user's credentials from the environment's Secret through the
API (kept in memory: never printed, never in argv, never in a file), and
applies our migrations with the engine through target ``cluster``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
from collections.abc import Iterator

from ..errors import ConfigError, KubernetesError, UsageError
from ..settings import deep_merge, from_mapping
from .config import EnvNames, load_environments
from .programs import display, last_lines
from .steps import Step
from .toolbox import Toolbox

CLUSTER_TARGET = "cluster"
FORWARD_READY_TIMEOUT = 30.0


def _names(box: Toolbox, env: str) -> tuple[EnvNames, str, str]:
    envs = load_environments(box.ks.environments_file)
    envs.get(env)
    return envs.names(env), envs.database, envs.owner


def default_port(box: Toolbox) -> int:
    t = box.settings.targets.get(CLUSTER_TARGET)
    return t.port if t is not None else 5433


def forward_argv(box: Toolbox, n: EnvNames, port: int) -> list[str]:
    return [
        "kubectl",
        "--context",
        box.ks.context,
        "--namespace",
        n.namespace,
        "port-forward",
        f"service/{n.rw_service}",
        f"{port}:5432",
        "--address",
        "127.0.0.1",
    ]


def _check_port(port: int) -> None:
    from ..local.pgctl import port_free

    if not 0 < port < 65536:
        raise UsageError(f"invalid port {port}", "pass --port between 1 and 65535")
    if not port_free(port):
        raise KubernetesError(
            f"port {port} on 127.0.0.1 is already in use (another port-forward or a local server?)",
            "stop it, or pass --port with a free port",
        )


def secret_hint(box: Toolbox, n: EnvNames) -> str:
    return (
        f"kubectl --context {box.ks.context} -n {n.namespace} get secret {n.credentials_secret} "
        "-o jsonpath='{.data.password}' | base64 -d"
    )


def port_forward_steps(box: Toolbox, env: str, port: int | None = None) -> list[Step]:
    n, database, owner = _names(box, env)
    port = port or default_port(box)
    argv = forward_argv(box, n, port)

    def run() -> None:
        box.require_tools("kubectl", "kind")
        box.check_cluster()
        _check_port(port)
        box.out(f"forwarding 127.0.0.1:{port} -> {n.namespace}/{n.rw_service}:5432 until Ctrl-C")
        box.out(f"connect: postgres://{owner}:****@127.0.0.1:{port}/{database}")
        box.out(f"password: {secret_hint(box, n)}")
        box.out(
            f"migrations: `inv migrate-cluster --env {env}` (starts its own forward; stop this one first "
            "or pass --port)"
        )
        code = box.runner.foreground(argv)
        if code not in (0, 130, -2):
            raise KubernetesError(
                f"kubectl port-forward exited with {code}", f"is the Cluster ready? `inv cnpg-status --env {env}`"
            )

    return [
        Step(
            f"port-forward to {n.rw_service} ({env})",
            [
                "$ kind get clusters",
                f"  (exact line {box.ks.kind_cluster!r}); "
                f"kube context {box.ks.context} must point at a local API server",
                f"$ {display(argv)}",
            ],
            run,
        )
    ]


def read_credentials(box: Toolbox, n: EnvNames) -> tuple[str, str]:
    secret = box.api().get("v1", "Secret", n.credentials_secret, n.namespace)
    if secret is None:
        raise KubernetesError(
            f"secret {n.namespace}/{n.credentials_secret} does not exist",
            f"deploy the environment first: `inv cnpg-deploy --env {n.env}`",
        )
    data = secret.get("data") or {}
    try:
        user = base64.b64decode(data.get("username", "")).decode("utf-8")
        password = base64.b64decode(data.get("password", "")).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise KubernetesError(
            f"secret {n.namespace}/{n.credentials_secret} has undecodable username/password", "re-create the secret"
        ) from None
    if not user or not password:
        raise KubernetesError(
            f"secret {n.namespace}/{n.credentials_secret} lacks username or password", "re-create the secret"
        )
    return user, password


@contextlib.contextmanager
def forwarding(box: Toolbox, n: EnvNames, port: int) -> Iterator[None]:
    """A background port-forward we started (and always stop), ready to accept connections."""
    from ..local.pgctl import port_in_use

    _check_port(port)
    proc = box.runner.popen(forward_argv(box, n, port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = box.clock.now() + FORWARD_READY_TIMEOUT
        while not port_in_use(port):
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise KubernetesError(
                    f"kubectl port-forward exited with {proc.returncode}: {last_lines(err)}",
                    f"is the Cluster ready? `inv cnpg-status --env {n.env}`",
                )
            if box.clock.now() >= deadline:
                raise KubernetesError(
                    f"the port-forward to {n.rw_service} did not listen on 127.0.0.1:{port} "
                    f"within {FORWARD_READY_TIMEOUT:.0f}s",
                    f"`inv cnpg-status --env {n.env}`",
                )
            box.clock.sleep(0.1)
        yield
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()


def migrate_cluster_steps(
    box: Toolbox, env: str, *, port: int | None = None, db: str | None = None, opts=None
) -> list[Step]:
    n, database, owner = _names(box, env)
    port = port or default_port(box)
    dbname = db or box.settings.database
    t = box.settings.targets.get(CLUSTER_TARGET)
    if t is None or t.kind != "server" or not t.password_env:
        raise ConfigError(
            f"target {CLUSTER_TARGET!r} must be a server target with password_env",
            "restore dbstack.targets.cluster (kind: server, password_env: PGPASSWORD)",
        )
    if dbname != database:
        raise ConfigError(
            f"dbstack database {dbname!r} is not the cluster's database {database!r} "
            "(manifests/cnpg/environments.yaml)",
            "pass --db with the cluster's database",
        )

    def run() -> None:
        from ..errors import MigrationError
        from ..migrations import commands

        box.require_tools("kubectl", "kind")
        user, password = read_credentials(box, n)
        s = from_mapping(
            deep_merge(
                box.settings.raw, {"targets": {CLUSTER_TARGET: {"host": "127.0.0.1", "port": port, "user": user}}}
            ),
            box.settings.root,
        )
        with forwarding(box, n, port):
            box.out(
                f"applying migrations of {dbname} to postgres://{user}:****@127.0.0.1:{port}/{database} "
                f"(target {CLUSTER_TARGET})"
            )
            try:
                # The password stays in memory: handed to the target as its env mapping.
                report = commands.migrate(
                    s, db=dbname, target=CLUSTER_TARGET, opts=opts, env={**os.environ, t.password_env: password}
                )
            except MigrationError as exc:
                rep = exc.report
                if rep is not None and not exc.output:
                    exc.output = rep.render_text()
                raise
        box.out(report.render_text().rstrip("\n"))

    return [
        Step(
            f"apply migrations to {env} through a port-forward",
            [
                f"read secret {n.namespace}/{n.credentials_secret} (username, password; kept in memory) "
                f"via the API, context {box.ks.context}",
                f"$ {display(forward_argv(box, n, port))}   (background, stopped afterwards)",
                f"apply {dbname}'s migrations with target {CLUSTER_TARGET} at 127.0.0.1:{port} "
                f"(password kept in memory, never in an environment)",
            ],
            run,
        )
    ]


def psql_argv(port: int, user: str, database: str, command: str | None = None) -> list[str]:
    argv = ["psql", "--host", "127.0.0.1", "--port", str(port), "--username", user, "--dbname", database]
    return argv + (["--command", command] if command else [])


def psql_steps(box: Toolbox, env: str, *, port: int | None = None, command: str | None = None) -> list[Step]:
    """`inv cnpg-psql [ENV]`: psql on the environment's database through a port-forward we start and stop.

    The application user's password is read from the environment's Secret and
    handed to psql as PGPASSWORD in the child's environment only (libpq reads
    it there): never in argv, never printed, never in this process's environment.
    """
    n, database, owner = _names(box, env)
    port = port or default_port(box)

    def run() -> None:
        box.require_tools("kubectl", "kind", "psql")
        user, password = read_credentials(box, n)
        with forwarding(box, n, port):
            box.out(f"psql as {user} on postgres://{user}:****@127.0.0.1:{port}/{database} ({env}); \\q to leave")
            code = box.runner.foreground(psql_argv(port, user, database, command), child_env={"PGPASSWORD": password})
        if code not in (0, 130, -2):
            raise KubernetesError(
                f"psql exited with {code}", "read psql's message above" if command else f"`inv cnpg-status --env {env}`"
            )

    return [
        Step(
            f"psql on {env} through a port-forward",
            [
                f"read secret {n.namespace}/{n.credentials_secret} (username, password; kept in memory) via the API, "
                f"context {box.ks.context}",
                f"$ {display(forward_argv(box, n, port))}   (background, stopped afterwards)",
                f"$ {display(psql_argv(port, owner, database, command))}   (PGPASSWORD in psql's environment only)",
            ],
            run,
        )
    ]
