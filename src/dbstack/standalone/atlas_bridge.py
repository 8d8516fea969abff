"""Driving the Atlas CLI (opt-in ``--engine atlas``) without exposing credentials.

The HCL config with the real database URL is generated in memory and given
to Atlas on its standard input (``--config file:///dev/stdin --env <name>``,
ariga/atlas cmd/atlas/internal/cmdapi/project.go); argv holds only flags and paths. The child's
environment holds no credential (not the
password itself, ``PGPASSWORD``, ``VAULT_TOKEN``, ``DATABASE_URL`` …): it is an
allow-list (``dbstack.childenv``), and a value holding the password raw,
URL-encoded or base64-encoded is dropped too. Atlas
applies one directory per run, so the layers are flattened into a temporary
directory (SQL files and a combined atlas.sum; no credentials) and applied in
one run: the same global order and single revisions table as the built-in
engine. (Atlas then records the combined directory's cumulative hashes in the
``hash`` column; neither Atlas nor dbstack re-checks that column on apply.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import MigrationError, ToolMissing, UsageError
from .atlas_hcl import piped_hcl

CONFIG_ARGS = ("--config", "file:///dev/stdin")

NOT_FOUND = "atlas: command not found"
NOT_FOUND_HINT = "Install Atlas CLI: brew install ariga/tap/atlas (or drop --engine atlas to use the built-in engine)"


def atlas_executable(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    path = shutil.which("atlas", path=env.get("PATH"))
    if not path:
        raise ToolMissing(NOT_FOUND, NOT_FOUND_HINT)
    if os.name == "nt":
        raise UsageError(
            "--engine atlas pipes its config through /dev/stdin, which Windows does not have",
            "use the built-in engine (the default) on Windows",
        )
    return path


def child_env(secrets: Sequence[str], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """An allow-listed environment (PATH, HOME, locale, Atlas's own switches) without any value
    holding a secret in raw, URL-encoded or base64 form."""
    from ..childenv import ATLAS_ALLOW
    from ..childenv import child_env as allowed

    return allowed(ATLAS_ALLOW, secrets=secrets, env=env)


def run_atlas(
    args: Sequence[str], hcl: str, *, env_name: str, secrets: Sequence[str], cwd: str | os.PathLike | None = None
) -> int:
    """Run ``atlas <args> --env <env_name> --config file:///dev/stdin`` with ``hcl`` on stdin."""
    exe = atlas_executable()
    argv = [exe, *args, "--env", env_name, *CONFIG_ARGS]
    for a in argv:
        if any(s and s in a for s in secrets):  # a bug of ours; never let it reach ps
            raise UsageError("refusing to put a credential on the atlas command line", "report this bug")
    try:
        proc = subprocess.run(argv, input=hcl.encode("utf-8"), env=child_env(secrets), cwd=cwd)
    except OSError as exc:
        raise ToolMissing(f"cannot run {exe}: {exc.strerror}", NOT_FOUND_HINT) from None
    return proc.returncode


def flatten(layer_dirs: Sequence[Path], into: Path) -> int:
    """Copy every layer's files into one directory and hash it; returns the file count."""
    from ..migrations.directory import MigrationDir
    from ..migrations.layers import Layers

    layers = Layers.of(layer_dirs)
    layers.validate()
    files = layers.files()
    for f in files:
        shutil.copyfile(f.path, into / f.name)
    MigrationDir(into).write_sum()
    return len(files)


def migrate_with_atlas(
    cfg,
    mig,
    *,
    status: bool = False,
    dry_run: bool = False,
    baseline: str | None = None,
    extra: list[str] | None = None,
) -> None:
    """`migrate` through the Atlas CLI: flattened layers, config on stdin; extra: more apply flags."""
    atlas_executable()
    with tempfile.TemporaryDirectory(prefix="dbstack-atlas-") as tmp:
        flat = Path(tmp) / "migrations"
        flat.mkdir()
        flatten(mig.layer_dirs(), flat)
        hcl = piped_hcl("migrate", cfg.url(masked=False), f"file://{flat}")
        if status:
            args = ["migrate", "status"]
        else:
            args = ["migrate", "apply"] + (["--dry-run"] if dry_run else [])
            if baseline:
                args += ["--baseline", baseline]
            args += list(extra or [])
        rc = run_atlas(args, hcl, env_name="migrate", secrets=[cfg.password or ""])
    if rc != 0:
        layers = ", ".join(mig.layer_label(layer) for layer in mig.layers)
        raise MigrationError(
            f"atlas {' '.join(args[:2])} failed (exit code {rc}); its message is above", f"Check {layers} for conflicts"
        )
