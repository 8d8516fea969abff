"""Run the unit tier under every other supported CPython on this machine, each in its own virtualenv.

`inv test` runs the whole suite with the interpreter of `.venv`; this script then covers the
others users arrive with: Debian's own python3 (/usr/bin/python3, 3.11.2 on Debian 12) and the
pyenv builds (`pyenv root`/versions/*). An interpreter that is absent, unreachable or too old is
named and skipped. Virtualenvs live in .venvs/<version> (git-ignored) and are reused.

    python tests/pythons.py [--tier smoke|unit] [--only 3.12.1]

Exit status: non-zero when any interpreter's run fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / ".venvs"
SUPPORTED = (3, 11)
# What each tier runs: the unit tests and (smoke, the default) the integration tests that drive
# `inv migrate`, `inv migrate-lint`, `inv db-drift` and a built migrate.pyz through the interpreter,
# so that a regex or stdlib difference between CPython releases cannot hide behind the unit tier.
# A test named here that no longer exists makes pytest fail: rename it here too.
SMOKE = [
    "tests/integration/test_engine_tasks.py::test_status_exit_codes_and_apply_output",
    "tests/integration/test_engine_tasks.py::test_failed_statement_output_and_json",
    "tests/integration/test_lint.py::test_task_exit_codes_and_output",
    "tests/integration/test_drift.py::test_drift_task_exits_2_and_prints_the_differences",
    "tests/integration/test_standalone_migrate.py::test_pyz_applies_all_layers_in_global_order_then_nothing_pending",
]
TIERS = {"unit": ["tests/unit"], "smoke": ["tests/unit", *SMOKE]}


def candidates() -> list[Path]:
    found = [Path("/usr/bin/python3")]
    pyenv = shutil.which("pyenv")
    roots = [Path(os.environ["PYENV_ROOT"])] if os.environ.get("PYENV_ROOT") else []
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30).stdout.strip()
            if out:
                roots.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    roots.append(Path.home() / ".pyenv")
    for root in dict.fromkeys(roots):
        try:
            found += sorted((root / "versions").glob("*/bin/python3"))
        except PermissionError:
            print(f"   skipped: pyenv interpreters in {root} (not readable by this user)")
    return found


def describe(python: Path) -> tuple[str, tuple[int, ...], str] | None:
    """(version, version tuple, base prefix) of an interpreter, or None when it cannot run."""
    try:
        cp = subprocess.run(
            [
                str(python),
                "-c",
                "import sys, platform; print(platform.python_version());"
                "print(platform.python_implementation()); print(sys.base_prefix)",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if cp.returncode != 0:
        return None
    version, impl, prefix = cp.stdout.split("\n")[:3]
    if impl != "CPython":
        return None
    return version, tuple(int(x) for x in version.split(".")[:3] if x.isdigit()), prefix


def run(python: Path, version: str, tier: str) -> bool:
    venv = VENVS / version
    vpy = venv / "bin" / "python"
    if not vpy.exists():
        print(f"== {version}: creating {venv.relative_to(ROOT)}", flush=True)
        if subprocess.call([str(python), "-m", "venv", str(venv)]) != 0:
            print(f"== {version}: cannot create a virtualenv (python3-venv missing?)")
            return False
    extras = "test"
    if not _has_server_binaries():
        extras += ",embedded"
    print(f"== {version}: installing dbstack[{extras}]", flush=True)
    if (
        subprocess.call(
            [str(vpy), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", f".[{extras}]"], cwd=ROOT
        )
        != 0
    ):
        return False
    print(f"== {version}: pytest {' '.join(TIERS[tier])}", flush=True)
    return subprocess.call([str(vpy), "-m", "pytest", "-q", "-p", "no:cacheprovider", *TIERS[tier]], cwd=ROOT) == 0


def _has_server_binaries() -> bool:
    from glob import glob

    return bool(shutil.which("pg_ctl") or glob("/usr/lib/postgresql/*/bin/pg_ctl"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tier", choices=sorted(TIERS), default="smoke")
    ap.add_argument("--only", help="run only this version (e.g. 3.11.2)")
    args = ap.parse_args(argv)

    current = sys.base_prefix
    seen: dict[str, Path] = {}
    print(f"== other Pythons: the {args.tier} tier under each supported CPython on this machine")
    for python in candidates():
        if not python.exists():
            print(f"   absent: {python}")
            continue
        info = describe(python)
        if info is None:
            print(f"   skipped: {python} (does not run, or is not CPython)")
            continue
        version, vt, prefix = info
        if vt[:2] < SUPPORTED:
            continue  # older Pythons are not supported; not worth a line each
        if prefix == current:
            print(f"   {version}: runs the whole suite already ({python})")
            continue
        seen.setdefault(version, python)
    if args.only:
        seen = {v: p for v, p in seen.items() if v == args.only}
    results = {v: run(p, v, args.tier) for v, p in sorted(seen.items())}
    print(
        "== other Pythons: "
        + (", ".join(f"{v} {'passed' if ok else 'FAILED'}" for v, ok in results.items()) or "none found")
    )
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
