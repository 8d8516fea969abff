"""The Atlas CLI bridge (`migrate --engine atlas`, against a FAKE `atlas`) and atlas.hcl generation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "standalone"
sys.path.insert(0, str(DATA))

from leakscan import files_containing, needles, run_watched  # noqa: E402

PASSWORD = "Pw@:/?#%&=' \"\\${x}-atlas-bridge"
MIGRATE = [sys.executable, "-m", "dbstack.standalone.migrate_cli"]


@pytest.fixture
def fake_atlas(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "atlas"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{DATA / "fake_atlas.py"}" "$@"\n')
    exe.chmod(0o755)
    logdir = tmp_path / "fake-log"  # the fake's own record (it sees stdin): outside the scanned dirs
    logdir.mkdir()
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    cfg = tmp_path / "cfg" / "config.yaml"
    cfg.parent.mkdir()
    import yaml

    cfg.write_text(
        yaml.safe_dump(
            {
                "database": {
                    "host": "db.example",
                    "port": 5432,
                    "user": "hotpot",
                    "password": PASSWORD,
                    "dbname": "hotpot",
                    "sslmode": "require",
                }
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFIG_", "VAULT_"))}
    env.update(
        {
            "PATH": f"{bindir}:{env.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "TMPDIR": str(tmp),
            "CONFIG_SOURCE": "file",
            "CONFIG_FILE": str(cfg),
            "FAKE_ATLAS_LOG": str(logdir / "calls.jsonl"),
            # credentials of other kinds in our environment must not reach the child either
            "VAULT_TOKEN": "hvs.parent-token",
            "PGPASSWORD": "other-secret",
            # the child's environment is an allow-list: the fake's own switches are added to it
            "DBSTACK_CHILD_ENV_ALLOW": "FAKE_ATLAS_LOG,FAKE_ATLAS_EXIT,FAKE_ATLAS_DIFF",
        }
    )
    return {"env": env, "log": logdir / "calls.jsonl", "written": [home, tmp], "bindir": bindir}


def calls(fake) -> list[dict]:
    return [json.loads(line) for line in fake["log"].read_text().splitlines()]


def hcl_url(config: str) -> str:
    m = re.search(r'url = "((?:[^"\\]|\\.)*)"', config)
    assert m, config
    return m.group(1).replace("$${", "${").replace('\\"', '"').replace("\\\\", "\\")


def test_apply_pipes_the_config_on_stdin_and_nothing_else_leaks(fake_atlas):
    secrets = needles(PASSWORD)
    cp, scan = run_watched(MIGRATE + ["--engine", "atlas"], secrets=secrets, env=fake_atlas["env"], cwd=ROOT)
    assert cp.returncode == 0, cp.stderr
    assert "fake atlas: migrate apply" in cp.stdout
    [call] = calls(fake_atlas)
    assert call["argv"] == ["migrate", "apply", "--env", "migrate", "--config", "file:///dev/stdin"]
    # the URL in the piped HCL carries the real, correctly escaped password
    url = urlsplit(hcl_url(call["config"]))
    assert unquote(url.password) == PASSWORD and url.hostname == "db.example" and url.path == "/hotpot"
    assert url.query == "sslmode=require"
    assert 'env "migrate" {' in call["config"]
    # all layers flattened into one directory with one atlas.sum (global order, one revisions table)
    assert call["dir_files"] == [
        "0001_initial.sql",
        "0002_initial.sql",
        "0003_initial.sql",
        "0004_initial.sql",
        "0005_add_ingest_errors.sql",
        "atlas.sum",
    ]
    flat = re.search(r'dir = "file://([^"]+)"', call["config"]).group(1)
    assert not Path(flat).exists()  # removed afterwards
    # the child's environment: no password, no other credential
    env = call["env"]
    assert not any(PASSWORD in v for v in env.values())
    assert "VAULT_TOKEN" not in env and "PGPASSWORD" not in env and "DATABASE_URL" not in env
    assert scan.scans > 0 and scan.hits == []
    assert PASSWORD not in cp.stdout + cp.stderr
    assert files_containing(fake_atlas["written"], secrets) == []


def test_status_dry_run_and_baseline_flags(fake_atlas):
    env = fake_atlas["env"]
    assert subprocess.run(MIGRATE + ["--engine", "atlas", "--status"], env=env, cwd=ROOT).returncode == 0
    assert (
        subprocess.run(MIGRATE + ["--engine", "atlas", "--dry-run", "--baseline", "0004"], env=env, cwd=ROOT).returncode
        == 0
    )
    first, second = calls(fake_atlas)
    assert first["argv"] == ["migrate", "status", "--env", "migrate", "--config", "file:///dev/stdin"]
    assert second["argv"] == [
        "migrate",
        "apply",
        "--dry-run",
        "--baseline",
        "0004",
        "--env",
        "migrate",
        "--config",
        "file:///dev/stdin",
    ]


def test_atlas_failure_is_one_message_naming_the_layers(fake_atlas):
    env = dict(fake_atlas["env"], FAKE_ATLAS_EXIT="3")
    cp = subprocess.run(MIGRATE + ["--engine", "atlas"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert cp.returncode == 1
    assert "Error: atlas migrate apply failed (exit code 3)" in cp.stderr
    assert "Check deploy/migrations/bronze/, deploy/migrations/bronzehistory/" in cp.stderr


def test_atlas_missing_from_path(fake_atlas, tmp_path):
    env = dict(fake_atlas["env"], PATH="/nonexistent")
    cp = subprocess.run(MIGRATE + ["--engine", "atlas"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert cp.returncode == 1
    assert cp.stderr.startswith("Error: atlas: command not found")
    assert "Install Atlas CLI: brew install ariga/tap/atlas" in cp.stderr


def test_child_env_drops_secrets():
    from dbstack.standalone.atlas_bridge import child_env

    env = {
        "PATH": "/bin",
        "PGPASSWORD": "x",
        "VAULT_TOKEN": "t",
        "SOME_URL": "postgres://u:s3cr3t@h/db",
        "A": "b",
        "HOME": "/h",
        "LC_ALL": "C.UTF-8",
        "XDG_CACHE_HOME": "/c/s3cr3t",
    }
    # an allow-list: A is not needed by Atlas; a needed variable holding the secret is dropped too
    assert child_env(["s3cr3t"], env) == {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C.UTF-8"}


# --------------------------------------------------------------------------- atlas.hcl


def test_hcl_string_escapes_interpolation():
    from dbstack.standalone.atlas_hcl import hcl_string

    assert hcl_string('a"b\\c${x}%{y}\n') == '"a\\"b\\\\c$${x}%%{y}\\n"'


def test_project_hcl_envs_match_targets_and_dirs():
    from dbstack.settings import load
    from dbstack.standalone.atlas_hcl import project_hcl

    s = load(ROOT)
    text = project_hcl(s)
    envs = re.findall(r'^env "([^"]+)"', text, re.M)
    assert envs[:1] == ["local"] and "cluster" in envs and "cnpg" in envs
    for layer in ("bronze", "bronzehistory", "silver", "gold"):
        assert f"local-hotpot-{layer}" in envs
        assert f'dir = "file://deploy/migrations/{layer}"' in text
    assert 'dir = "file://manifests/migrations/mydatabase"' in text
    # only the compose file's local dev credentials appear; the cluster reads its password at run time
    local = s.local_server()
    assert f"{local.user}:{local.password}@" in text
    cluster = text[text.index('env "cluster"') :]
    cluster = cluster[: cluster.index("}\n}") + 3]
    assert 'urlescape(getenv("PGPASSWORD"))' in text and "${local.cluster_password}" in cluster
    cnpg = text[text.index('env "cnpg"') :]
    assert 'url = getenv("DATABASE_URL")' in cnpg
    assert text.count('exec_order = "non-linear"') == 4 * len(s.targets)


def test_committed_atlas_hcl_is_current():
    from dbstack.settings import load
    from dbstack.standalone.atlas_hcl import project_hcl

    assert (ROOT / "manifests" / "schemas" / "atlas.hcl").read_text() == project_hcl(load(ROOT)), "run `inv atlas-hcl`"


def test_atlas_hcl_task_check_fails_when_stale(tmp_path):
    out = tmp_path / "atlas.hcl"
    inv = [str(Path(sys.executable).with_name("inv"))]
    cp = subprocess.run(inv + ["atlas-hcl", "--check", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert cp.returncode == 1 and "is missing" in cp.stderr and "inv atlas-hcl" in cp.stderr
    assert subprocess.run(inv + ["atlas-hcl", "--out", str(out)], cwd=ROOT).returncode == 0
    assert subprocess.run(inv + ["atlas-hcl", "--check", "--out", str(out)], cwd=ROOT).returncode == 0
    out.write_text(out.read_text() + "# edited\n")
    cp = subprocess.run(inv + ["atlas-hcl", "--check", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert cp.returncode == 1 and "is stale" in cp.stderr


def test_atlas_hcl_check_is_not_fooled_by_an_environment_override(tmp_path):
    """The committed file holds what the project's files give; an override is named, not written."""
    out = tmp_path / "atlas.hcl"
    inv = [str(Path(sys.executable).with_name("inv"))]
    assert subprocess.run(inv + ["atlas-hcl", "--out", str(out)], cwd=ROOT).returncode == 0
    plain = out.read_text()
    env = {**os.environ, "INVOKE_DBSTACK_LOCAL_PORT": "5544"}
    cp = subprocess.run(
        inv + ["atlas-hcl", "--check", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert cp.returncode == 0, cp.stderr
    assert "INVOKE_DBSTACK_LOCAL_PORT" in cp.stdout and "ok:" in cp.stdout
    cp = subprocess.run(inv + ["atlas-hcl", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, env=env)
    assert cp.returncode == 0 and out.read_text() == plain and ":5544/" not in plain
