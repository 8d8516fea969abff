"""`inv cnpg-status` names the environment's real objects in its troubleshooting commands (issue 13)."""

from __future__ import annotations

import re

from dbstack.k8s import deploy as deploymod
from dbstack.k8s import status
from dbstack.k8s.steps import run_steps
from test_k8s_orchestration import ready_world, world  # noqa: F401  (fixture)

KINDS = {"atlasmigration": ("db.atlasgo.io/v1alpha1", "AtlasMigration"), "configmap": ("v1", "ConfigMap")}


def test_status_prints_commands_with_the_deployed_objects_names(world):  # noqa: F811
    ready_world(world)
    deploymod.deploy(world.box(), "dev")
    world.out.clear()
    run_steps(status.status_steps(world.box(), "dev"), dry_run=False, out=world.out.append)
    text = world.text()
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("kubectl ")]
    assert commands and all(c.startswith(f"kubectl --context {world.box().ks.context} ") for c in commands)
    named = 0
    for c in commands:
        m = re.search(r"-n (\S+) (?:get|describe) (atlasmigration|configmap) (\S+)", c)
        if m:
            ns, kind, name = m.groups()
            assert world.api.get(*KINDS[kind], name, ns) is not None, c  # the object really exists
            named += 1
    assert named == 2
    pods = next(c for c in commands if " get pods " in c)
    ns, sel = re.search(r"-n (\S+) get pods -l (\S+)", pods).groups()
    assert world.api.list("v1", "Pod", ns, sel)  # the selector finds the instance pods
    psql = next(line for line in text.splitlines() if "psql" in line)
    assert "inv cnpg-port-forward --env dev" in psql and "get secret dev-mydatabase-db-app" in psql
    assert world.api.get("v1", "Secret", "dev-mydatabase-db-app", "mydatabase-dev") is not None


def test_kind_cnpg_setup_unknown_environment_names_the_positional_argument():
    import subprocess
    import sys
    from pathlib import Path

    from testpaths import ROOT

    inv = str(Path(sys.executable).with_name("inv"))
    cp = subprocess.run(
        [inv, "kind-cnpg-setup", "qa", "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert cp.returncode == 1 and "Traceback" not in cp.stderr
    errors = [line for line in cp.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "unknown environment 'qa'" in errors[0]
    assert "--env" not in cp.stderr and "`inv kind-cnpg-setup ENV`" in cp.stderr and "staging" in cp.stderr
