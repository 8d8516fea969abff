"""Tasks for Kind + CloudNativePG + the Atlas operator (thin adapters over dbstack.k8s)."""

from __future__ import annotations

from ._task import DB_HELP, DIR_FORMAT_HELP, DIR_HELP, settings, task

ENV_HELP = "environment from manifests/cnpg/environments.yaml: dev, staging or prod"
DRY_HELP = "print the exact plan (commands, objects, names) and change nothing"
PORT_HELP = "local port on 127.0.0.1 (default: the `cluster` target's port, 5433)"


def _box(c):
    from ..k8s.toolbox import Toolbox

    return Toolbox(settings(c))


def _run(steps, dry_run: bool, box) -> None:
    from ..k8s.steps import run_steps

    run_steps(steps, dry_run=dry_run, out=box.out)


def _need_env(env: str | None) -> str:
    from ..errors import UsageError

    if not env:
        raise UsageError("no environment given", "pass --env dev, --env staging or --env prod")
    return env


@task(help={"check": "only compare: exit 1 naming the stale files when the committed ones differ", "db": DB_HELP})
def cnpg_render(c, check=False, db=None):
    """Render manifests/cnpg/base and overlays/<env> from environments.yaml (Jinja)."""
    from ..k8s import render

    render.run(settings(c), check=check, db=db)


@task(
    help={
        "db": DB_HELP,
        "dir": DIR_HELP,
        "dir_format": DIR_FORMAT_HELP,
        "output": "file to write (default: manifests/cnpg/base/migrations-configmap.yaml)",
        "name": "ConfigMap name (default: <name>-migrations from environments.yaml)",
    }
)
def cnpg_gen_migrations(c, db=None, dir=None, dir_format=None, output=None, name=None):
    """Write the migrations ConfigMap for the Atlas operator (all layers, one atlas.sum)."""
    from ..k8s import configmap

    configmap.generate(settings(c), db=db, dir=dir, dir_format=dir_format, output=output, name=name)


@task(help={"dry_run": DRY_HELP})
def kind_up(c, dry_run=False):
    """Create the Kind cluster from kind/cluster.yaml unless it exists."""
    from ..k8s.kind import up_steps

    box = _box(c)
    steps = [box.versions_step("kind")] + up_steps(box)
    if not dry_run:
        box.require_tools("kind")
    _run(steps, dry_run, box)


@task(
    help={"dry_run": DRY_HELP, "force": "delete even when the cluster's nodes lack dbstack's label (not created by us)"}
)
def kind_down(c, dry_run=False, force=False):
    """Delete the Kind cluster (only the one dbstack created)."""
    from ..k8s.kind import down_steps

    box = _box(c)
    steps = down_steps(box, force=force)
    if not dry_run:
        box.require_tools("kind")
    _run(steps, dry_run, box)


@task(help={"dry_run": DRY_HELP})
def cnpg_install(c, dry_run=False):
    """Install the pinned CloudNativePG operator (server-side apply, wait for it)."""
    from ..k8s.operators import cnpg_install_steps

    box = _box(c)
    steps = [box.versions_step("kind")] + cnpg_install_steps(box)
    if not dry_run:
        box.require_tools("kind")
    _run(steps, dry_run, box)


@task(help={"dry_run": DRY_HELP})
def atlas_operator_install(c, dry_run=False):
    """Install the pinned Atlas operator chart (helm upgrade --install, wait for it)."""
    from ..k8s.operators import atlas_install_steps

    box = _box(c)
    steps = [box.versions_step("kind", "helm")] + atlas_install_steps(box)
    if not dry_run:
        box.require_tools("kind", "helm")
    _run(steps, dry_run, box)


@task(help={"dry_run": DRY_HELP})
def operators_install(c, dry_run=False):
    """Install both operators (CloudNativePG, then the Atlas operator)."""
    from ..k8s.operators import atlas_install_steps, cnpg_install_steps

    box = _box(c)
    steps = [box.versions_step("kind", "helm")] + cnpg_install_steps(box) + atlas_install_steps(box)
    if not dry_run:
        box.require_tools("kind", "helm")
    _run(steps, dry_run, box)


@task(help={"env": ENV_HELP, "dry_run": DRY_HELP, "db": DB_HELP})
def cnpg_deploy(c, env=None, dry_run=False, db=None):
    """Render, build and apply one environment; wait until its Cluster and migrations are Ready."""
    from ..k8s.deploy import deploy

    deploy(_box(c), _need_env(env), dry_run=dry_run, db=db)


@task(help={"dry_run": DRY_HELP})
def cnpg_dev(c, dry_run=False):
    """cnpg-deploy --env dev."""
    from ..k8s.deploy import deploy

    deploy(_box(c), "dev", dry_run=dry_run)


@task(help={"dry_run": DRY_HELP})
def cnpg_staging(c, dry_run=False):
    """cnpg-deploy --env staging."""
    from ..k8s.deploy import deploy

    deploy(_box(c), "staging", dry_run=dry_run)


@task(help={"dry_run": DRY_HELP})
def cnpg_prod(c, dry_run=False):
    """cnpg-deploy --env prod."""
    from ..k8s.deploy import deploy

    deploy(_box(c), "prod", dry_run=dry_run)


@task(
    optional_positional=["env"],
    help={"env": ENV_HELP + " (default dev); also as the word after the task name", "dry_run": DRY_HELP, "db": DB_HELP},
)
def kind_cnpg_setup(c, env="dev", dry_run=False, db=None):
    """Kind cluster, both operators and one environment with its migrations applied (idempotent)."""
    from ..errors import UsageError
    from ..k8s.config import load_environments
    from ..k8s.deploy import setup

    box = _box(c)
    envs = load_environments(box.ks.environments_file)
    if env not in envs.envs:  # ENV is positional here, not --env
        known = ", ".join(envs.envs) or "none"
        raise UsageError(
            f"unknown environment {env!r} (known: {known})",
            f"name one of them: `inv kind-cnpg-setup ENV` with ENV one of {known} "
            f"(environments are defined in {envs.path})",
        )
    setup(box, env, dry_run=dry_run, db=db)


@task(help={"env": ENV_HELP + " (default dev)", "dry_run": DRY_HELP})
def cnpg_status(c, env="dev", dry_run=False):
    """Show the Cluster (phase, instances), its instance pods and the AtlasMigration's status."""
    from ..k8s.status import status_steps

    box = _box(c)
    steps = status_steps(box, env)
    if not dry_run:
        box.require_tools("kind")
    _run(steps, dry_run, box)


@task(
    help={
        "env": ENV_HELP + " (default dev)",
        "source": "db (instance pods, default), atlas or cnpg (operators)",
        "tail": "lines per pod (default 100)",
        "follow": "keep streaming all pods' logs until Ctrl-C",
        "dry_run": DRY_HELP,
    }
)
def cnpg_logs(c, env="dev", source="db", tail=100, follow=False, dry_run=False):
    """Print the logs of an environment's PostgreSQL instance pods (or of an operator)."""
    from ..k8s.status import logs_steps

    box = _box(c)
    steps = logs_steps(box, env, what=source, tail=int(tail), follow=follow)
    if not dry_run:
        box.require_tools("kind")
    _run(steps, dry_run, box)


@task(help={"env": ENV_HELP + " (default dev)", "port": PORT_HELP, "dry_run": DRY_HELP})
def cnpg_port_forward(c, env="dev", port=None, dry_run=False):
    """Forward 127.0.0.1:5433 to the environment's read-write service (until Ctrl-C)."""
    from ..k8s.forward import port_forward_steps

    box = _box(c)
    _run(port_forward_steps(box, env, int(port) if port else None), dry_run, box)


@task(help={"env": ENV_HELP + " (default dev)", "port": PORT_HELP, "db": DB_HELP, "dry_run": DRY_HELP})
def migrate_cluster(c, env="dev", port=None, db=None, dry_run=False):
    """Apply our migrations to an environment's Cluster through a port-forward (target cluster)."""
    from ..k8s.forward import migrate_cluster_steps

    box = _box(c)
    _run(migrate_cluster_steps(box, env, port=int(port) if port else None, db=db), dry_run, box)


@task(
    optional_positional=["env"],
    help={
        "env": ENV_HELP + " (default dev); also as the word after the task name",
        "port": PORT_HELP,
        "command": "run this SQL (psql --command) instead of an interactive session",
        "dry_run": DRY_HELP,
    },
)
def cnpg_psql(c, env="dev", port=None, command=None, dry_run=False):
    """Open psql on an environment's database through a port-forward (password never in argv)."""
    from ..k8s.forward import psql_steps

    box = _box(c)
    _run(psql_steps(box, env, port=int(port) if port else None, command=command), dry_run, box)
