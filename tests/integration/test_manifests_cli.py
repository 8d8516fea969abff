"""The k8s tasks through `inv`: exit codes and one-message errors, no tracebacks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dbstack.migrations.directory import MigrationDir
from testpaths import INV

pytestmark = pytest.mark.manifests

ROOT = Path(__file__).resolve().parents[2]


def inv(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.pop("KUBECONFIG", None)
    e.update(env or {})
    return subprocess.run([INV, *args], cwd=ROOT, capture_output=True, text=True, env=e, timeout=300)


def one_error(cp: subprocess.CompletedProcess, text: str) -> None:
    assert cp.returncode == 1, (cp.stdout, cp.stderr)
    assert "Traceback" not in cp.stderr
    assert cp.stderr.startswith("Error: ") and text in cp.stderr, cp.stderr


def test_render_check_passes_on_the_committed_files():
    cp = inv("cnpg-render", "--check")
    assert cp.returncode == 0 and cp.stdout.startswith("ok: "), cp.stderr


def test_gen_migrations_over_one_mib_is_refused_and_writes_nothing(tmp_path):
    d = tmp_path / "big"
    d.mkdir()
    for i in range(3):
        (d / f"000{i}_part.sql").write_bytes(b"-- " + b"y" * 400_000 + b"\n")
    MigrationDir(d).write_sum()
    out = tmp_path / "cm.yaml"
    cp = inv("cnpg-gen-migrations", "--dir", str(d), "--output", str(out))
    one_error(cp, "ConfigMap mydatabase-migrations would hold 1,200,")
    assert "1 MiB" in cp.stderr and "hint:" in cp.stderr
    assert not out.exists()


def test_gen_migrations_to_another_file(tmp_path):
    out = tmp_path / "cm.yaml"
    cp = inv("cnpg-gen-migrations", "--output", str(out), "--name", "other-migrations")
    assert cp.returncode == 0, cp.stderr
    assert out.read_text().count("name: other-migrations") == 2  # metadata.name and the name label


def test_unknown_or_missing_environment():
    one_error(inv("cnpg-deploy", "--env", "qa"), "unknown environment 'qa' (known: dev, staging, prod)")
    one_error(inv("cnpg-deploy"), "no environment given")
    one_error(inv("cnpg-status", "--env", "qa", "--dry-run"), "unknown environment 'qa'")


def test_missing_kind_is_one_message():
    one_error(inv("kind-up", env={"PATH": "/nonexistent"}), "`kind` is not installed")


def test_setup_dry_run_takes_the_environment_positionally():
    cp = inv("kind-cnpg-setup", "staging", "--dry-run")
    assert cp.returncode == 0, cp.stderr
    assert "Cluster mydatabase-staging/staging-mydatabase-db" in cp.stdout
    assert "mydatabase-dev" not in cp.stdout and "mydatabase-prod" not in cp.stdout


@pytest.mark.parametrize("args, env", [((), "dev"), (("--env", "prod"), "prod")])
def test_setup_environment_defaults_to_dev_and_takes_a_flag(args, env):
    cp = inv("kind-cnpg-setup", *args, "--dry-run")
    assert cp.returncode == 0, cp.stderr
    assert f"Namespace mydatabase-{env}" in cp.stdout
