"""Deploy one environment: render, build, check, apply server-side, wait.

Order matters for "bad input changes nothing": the environment, the
credentials file, the programs and the cluster (exact name, local context)
are checked before any file is rendered or any object applied; the built
objects' references and the kinds the API serves are checked before the
first apply. Readiness is what the operators really report, never a sleep:
the Cluster as CNPG 1.30 writes it (wait.cluster_ready), then the
AtlasMigration judged only on status written after our apply and after the
database was reachable (wait.MigrationWatch), up to the newest version in
our ConfigMap.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from ..errors import ConfigError, KubernetesError, Refused
from . import configmap as cmmod
from .api import describe
from .config import Environments, load_environments
from .programs import kustomize
from .references import check as check_references
from .render import CONFIGMAP_FILE, render_for
from .steps import Step
from .toolbox import Toolbox
from .wait import MigrationWatch, cluster_ready, operator_gave_up, wait_for

# Namespace first (everything lives in it), Secrets and ConfigMaps before the
# objects that read them, the Cluster before the migration that needs it.
KIND_ORDER = (
    "Namespace",
    "Secret",
    "ConfigMap",
    "ExternalSecret",
    "ObjectStore",
    "Cluster",
    "AtlasMigration",
    "ScheduledBackup",
    "PodMonitor",
)
CLUSTER_API = "postgresql.cnpg.io/v1"
ESO_API = "external-secrets.io/v1"
MIGRATION_API = "db.atlasgo.io/v1alpha1"
PLACEHOLDER_PASSWORD = "dry-run-placeholder-not-a-password"
RECONCILE_ANNOTATION = "dbstack.io/reconcile-requested-at"


def apply_order(objs: list[dict]) -> list[dict]:
    def rank(o: dict) -> int:
        k = o.get("kind", "")
        return KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER)

    return sorted(objs, key=rank)


# Kinds an environment may need that neither CNPG nor the Atlas operator installs.
PREREQUISITES = {
    "ObjectStore": (
        "barmancloud.cnpg.io/v1",
        "the barman-cloud plugin",
        "install the barman-cloud plugin next to CNPG "
        "(https://cloudnative-pg.io/plugin-barman-cloud/docs/installation/) or set backup: false",
    ),
    "PodMonitor": (
        "monitoring.coreos.com/v1",
        "the Prometheus operator",
        "install the Prometheus operator (its PodMonitor CRD) or set monitoring: false",
    ),
}


def kind_hint(api_version: str, kind: str) -> str:
    if kind in PREREQUISITES:
        return PREREQUISITES[kind][2] + " in manifests/cnpg/environments.yaml"
    if kind == "ExternalSecret":
        return (
            "install the external-secrets operator (https://external-secrets.io) and the secret store "
            "named in manifests/cnpg/environments.yaml"
        )
    return "install the operators first: `inv operators-install`"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as kustomize's `envs` reads them (values never printed)."""
    out: dict[str, str] = {}
    for i, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = raw.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path} line {i} is not KEY=VALUE", "write two lines: username=... and password=...")
        out[key.strip()] = value
    return out


@dataclass
class Deployment:
    box: Toolbox
    env: str
    db: str | None = None
    envs: Environments = field(init=False)
    objects: list[dict] = field(default_factory=list, init=False)
    applied_generation: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.envs = load_environments(self.box.ks.environments_file)
        self.values = self.envs.get(self.env)  # unknown environment: UsageError, nothing done
        self.names = self.envs.names(self.env)

    # -- paths --------------------------------------------------------------
    @property
    def overlay(self) -> Path:
        return self.box.ks.manifests_dir / "overlays" / self.env

    @property
    def credentials_file(self) -> Path | None:
        c = self.values.credentials
        return self.overlay / c.env_file if c.source == "secret-generator" else None

    # -- checks that change nothing -------------------------------------------
    def check_credentials(self) -> None:
        path = self.credentials_file
        if path is None:
            return
        rel = self.box.ks.rel(path)
        owner = self.envs.owner
        create = (
            f"umask 077; printf 'username={owner}\\npassword=%s\\n' "
            f"\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')\" > {rel}"
        )
        if not path.is_file():
            raise ConfigError(
                f"{rel} is missing: the {self.env} overlay builds the application user's Secret from it "
                "(it is git-ignored: dbstack never writes passwords into files)",
                f"create it with a random password:\n    {create}",
            )
        try:
            kv = read_env_file(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {rel}: {exc}", f"re-create it:\n    {create}") from None
        missing = [k for k in ("username", "password") if not kv.get(k)]
        if missing:
            raise ConfigError(
                f"{rel} has no {' and no '.join(missing)}",
                f"it needs username={owner} and a password; re-create it:\n    {create}",
            )
        if kv["username"] != owner:
            raise ConfigError(
                f"{rel} has username {kv['username']!r}, but the database owner is {owner!r}",
                f"CNPG requires the bootstrap secret's username to equal the owner: set username={owner}",
            )
        extra = sorted(set(kv) - {"username", "password"})
        if extra:
            raise ConfigError(f"{rel} has unexpected keys {', '.join(extra)}", "keep only username and password")

    @property
    def needs_external_secrets(self) -> bool:
        return self.values.credentials.source == "external-secret"

    def extra_kinds(self) -> list[str]:
        """Kinds of other operators this environment's build needs (see PREREQUISITES)."""
        v = self.values
        out = []
        if v.backup and v.backup.get("method") == "barman-cloud-plugin":
            out.append("ObjectStore")
        if v.monitoring:
            out.append("PodMonitor")
        return out

    @property
    def needs_prerequisites(self) -> bool:
        return self.needs_external_secrets or bool(self.extra_kinds())

    def prerequisites_text(self) -> str:
        parts = [f"the external-secrets operator ({self.store_text()})"] if self.needs_external_secrets else []
        parts += [PREREQUISITES[k][1] + f" ({k})" for k in self.extra_kinds()]
        return ", ".join(parts)

    def check_prerequisites(self, api) -> None:
        if self.needs_external_secrets:
            self.check_external_secrets(api)
        for k in self.extra_kinds():
            av, who, hint = PREREQUISITES[k]
            if not api.has_kind(av, k):
                raise KubernetesError(
                    f"the cluster (context {self.box.ks.context}) does not serve {k} ({av}): {self.env} needs {who}, "
                    "which is not installed; nothing was applied",
                    hint,
                )

    def store_text(self) -> str:
        c = self.values.credentials
        return f"{c.store_kind} {c.store_name}" + (
            f" (namespace {self.names.namespace})" if c.store_kind == "SecretStore" else ""
        )

    def check_external_secrets(self, api) -> None:
        """The external-secrets operator serves ExternalSecret and the store exists and is not failing.

        Without them the ExternalSecret never creates the Secret the Cluster
        bootstraps from, and the deploy would only end at the ready timeout.
        """
        c, ks = self.values.credentials, self.box.ks
        install = (
            "install the external-secrets operator (https://external-secrets.io) and create "
            f"{self.store_text()} holding {c.remote_key}, then re-run"
        )
        for kind in ("ExternalSecret", c.store_kind):
            if not api.has_kind(ESO_API, kind):
                raise KubernetesError(
                    f"the cluster (context {ks.context}) does not serve {kind} ({ESO_API}): {self.env} takes its "
                    "credentials from the external-secrets operator, which is not installed; nothing was applied",
                    install,
                )
        ns = self.names.namespace if c.store_kind == "SecretStore" else None
        store = api.get(ESO_API, c.store_kind, c.store_name, ns)
        if store is None:
            raise KubernetesError(
                f"{self.store_text()} does not exist (context {ks.context}): the ExternalSecret could never "
                f"create the credentials Secret of {self.env}; nothing was applied",
                install,
            )
        for cond in (store.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready" and cond.get("status") == "False":
                raise KubernetesError(
                    f"{self.store_text()} is not ready: {cond.get('reason')}: {cond.get('message')}; "
                    "nothing was applied",
                    "fix the secret store (its provider credentials), then re-run",
                )

    def prerequisites_step(self) -> Step:
        what = self.prerequisites_text()

        def action() -> None:
            box = self.box
            if not box.cluster_exists():
                raise Refused(
                    f"{self.env} needs {what}, which a new Kind cluster does not have; Kind cluster "
                    f"{box.ks.kind_cluster!r} does not exist, so nothing was created or installed",
                    f"create it (`inv kind-up`), install {what}, then re-run `inv kind-cnpg-setup {self.env}`",
                )
            self.check_prerequisites(box.api())
            box.out(f"installed: {what}")

        plan = [
            "$ kind get clusters",
            f"  refuse unless {self.box.ks.kind_cluster!r} exists (a new Kind cluster has none of them)",
        ]
        if self.needs_external_secrets:
            plan.append(
                f"API (context {self.box.ks.context}): ExternalSecret and {self.values.credentials.store_kind} "
                f"({ESO_API}) served, {self.store_text()} exists and is not Ready=False"
            )
        plan += [f"API (context {self.box.ks.context}): {k} ({PREREQUISITES[k][0]}) served" for k in self.extra_kinds()]
        return Step(f"check {what} (before creating or installing anything)", plan, action)

    def preflight(self, *, dry_run: bool, cluster: bool = True) -> None:
        """Everything that can fail without changing anything."""
        self.box.require_tools("kubectl")
        if dry_run:
            return
        self.check_credentials()
        self.box.require_tools("kind")
        if cluster:
            self.box.api()

    # -- building -------------------------------------------------------------
    def build_in(self, root: Path) -> list[dict]:
        return kustomize(self.box.runner, root / "overlays" / self.env)

    def expected_version(self) -> str | None:
        for o in self.objects:
            if o.get("kind") == "ConfigMap" and o["metadata"]["name"] == self.names.configmap:
                return (o["metadata"].get("annotations") or {}).get(cmmod.ANNOTATION_LATEST)
        return None

    def required_kinds(self) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        for o in self.objects:
            k = (o.get("apiVersion", ""), o.get("kind", ""))
            if k not in seen and "/" in k[0] and not k[0].startswith(("apps/", "rbac.")):
                seen.append(k)
        return seen

    def check_built(self) -> None:
        problems = check_references(self.objects, self.names, owner=self.envs.owner)
        if problems:
            raise KubernetesError(
                f"the {self.env} build has unresolved references: " + "; ".join(problems),
                "fix manifests/cnpg/environments.yaml or the templates, re-render; nothing was applied",
            )

    # -- steps ----------------------------------------------------------------
    def steps(self, *, dry_run: bool) -> list[Step]:
        box, ks, n = self.box, self.box.ks, self.names
        where = ks.rel(ks.manifests_dir)
        overlay_rel = ks.rel(self.overlay)
        plan_render: list[str] = []
        plan_cm: list[str] = []
        plan_build = [f"$ kubectl kustomize {overlay_rel}"]
        if dry_run:
            self._dry_build(plan_render, plan_cm, plan_build)

        def do_render() -> None:
            r = render_for(box.settings, db=self.db)
            changed = r.write()
            for rel in changed:
                box.out(f"wrote {where}/{rel}")
            box.out(f"{len(r.files)} files, {len(changed)} changed")

        def do_configmap() -> None:
            cm = cmmod.from_settings(box.settings, db=self.db)
            box.out(
                f"ConfigMap {cm.name}: {len(cm.migration_files)} migration files, {cm.data_bytes:,} bytes, "
                f"atlas.sum h1:{cm.sum.total}"
            )
            note = cmmod.size_note(cm)
            if note:
                box.out(note)

        def do_build() -> None:
            box.out(f"$ kubectl kustomize {overlay_rel}")
            self.objects = self.build_in(ks.manifests_dir)
            self.check_built()
            box.out(f"{len(self.objects)} objects; every reference resolves")

        def do_check_cluster() -> None:
            api = box.api()
            if self.needs_prerequisites:
                self.check_prerequisites(api)
            missing = [k for k in self.required_kinds() if not api.has_kind(*k)]
            if missing:
                av, kind = missing[0]
                raise KubernetesError(
                    f"the cluster (context {ks.context}) does not serve "
                    + ", ".join(f"{k} ({a})" for a, k in missing)
                    + "; nothing was applied",
                    kind_hint(av, kind),
                )

        def do_apply() -> None:
            api = box.api()
            for o in apply_order(self.objects):
                stored = api.apply(o, field_manager=ks.field_manager, force=True)
                if o.get("kind") == "AtlasMigration":
                    self.applied_generation = ((stored or {}).get("metadata") or {}).get("generation")
                box.out(f"applied {describe(o)}")

        def do_wait_cluster() -> None:
            api = box.api()
            wait_for(
                f"Cluster {n.cluster}",
                lambda: api.get(CLUSTER_API, "Cluster", n.cluster, n.namespace),
                cluster_ready,
                timeout=ks.ready_timeout,
                clock=box.clock,
                out=box.out,
                interval=box.poll_interval,
                hint=self._debug_hint("clusters.postgresql.cnpg.io", n.cluster),
            )

        def do_wait_migration() -> None:
            api = box.api()
            expected = self.expected_version()
            current = api.get(MIGRATION_API, "AtlasMigration", n.migration, n.namespace)
            if operator_gave_up(current):
                self.request_reconcile(api)
            # Started once the Cluster is Ready: failures counted from here on
            # happened against a reachable database (see MigrationWatch).
            watch = MigrationWatch(expected, self.applied_generation)
            wait_for(
                f"AtlasMigration {n.migration}",
                lambda: api.get(MIGRATION_API, "AtlasMigration", n.migration, n.namespace),
                watch,
                timeout=ks.ready_timeout,
                clock=box.clock,
                out=box.out,
                interval=box.poll_interval,
                hint=self._debug_hint("atlasmigrations.db.atlasgo.io", n.migration),
            )
            box.out(
                f"{self.env} is ready: Cluster {n.cluster} in namespace {n.namespace}"
                + (f", migrations applied up to {expected}" if expected else "")
            )
            box.out(
                f"next: `inv cnpg-status --env {self.env}`, `inv cnpg-port-forward --env {self.env}` "
                f"or `inv migrate-cluster --env {self.env}`"
            )

        kinds = (
            ", ".join(f"{k} ({a})" for a, k in self.required_kinds())
            if dry_run
            else "Cluster, AtlasMigration (and ExternalSecret when the build has one)"
        )
        apply_plan = [f"server-side apply (field manager {ks.field_manager}, force conflicts), context {ks.context}:"]
        apply_plan += [f"  {describe(o)}" for o in apply_order(self.objects)] if dry_run else []
        apply_plan.append(
            f"  the Atlas operator (namespace {ks.atlas_namespace}) connects to {n.rw_host}:5432 "
            "(namespace-qualified: a short Service name does not resolve in its namespace)"
        )
        return [
            Step(f"render {where} from environments.yaml", plan_render, do_render),
            Step(f"migrations ConfigMap {self.envs.configmap_name}", plan_cm, do_configmap),
            Step(f"build {overlay_rel} and check its references", plan_build, do_build),
            Step(
                f"check the cluster serves {kinds}",
                [
                    "$ kind get clusters",
                    f"  (exact line {ks.kind_cluster!r}); kube context {ks.context} must point at a local API server",
                    f"API (context {ks.context}): {kinds}",
                ],
                do_check_cluster,
            ),
            Step(f"apply {self.env} to namespace {n.namespace}", apply_plan, do_apply),
            Step(
                f"wait for Cluster {n.namespace}/{n.cluster} Ready",
                [
                    f"poll clusters.postgresql.cnpg.io/{n.cluster} -n {n.namespace} until phase "
                    f"'Cluster in healthy state', Ready=True and readyInstances = spec.instances "
                    f"({self.values.instances}) "
                    f"(CNPG writes no observedGeneration; timeout {ks.ready_timeout:.0f}s)"
                ],
                do_wait_cluster,
            ),
            Step(
                f"wait for AtlasMigration {n.namespace}/{n.migration} Ready",
                [
                    f"poll atlasmigrations.db.atlasgo.io/{n.migration} -n {n.namespace} until condition Ready=True"
                    + (
                        f" and status.lastAppliedVersion {self.expected_version()}"
                        if dry_run and self.expected_version()
                        else ""
                    )
                    + f" for the applied generation (timeout {ks.ready_timeout:.0f}s)",
                    "  failures from before the database was ready are ignored; the operator's reason and message "
                    "are reported once 2 further attempts fail",
                ],
                do_wait_migration,
            ),
        ]

    def request_reconcile(self, api) -> None:
        """Make the Atlas operator try again after it stopped retrying (failed > backoffLimit).

        Its reconciles are triggered by a spec change (GenerationChangedPredicate),
        the requeue it no longer schedules, or an update of the ConfigMap or
        Secret it watches (internal/controller/atlasmigration_controller.go
        SetupWithManager, watchRefs). We re-apply our own ConfigMap with an
        annotation: the whole object, since server-side apply would drop the
        fields of ours a partial one omits. The next deploy's apply removes the
        annotation again (one more harmless reconcile).
        """
        import copy
        from datetime import datetime

        ks, n = self.box.ks, self.names
        for o in self.objects:
            if o.get("kind") == "ConfigMap" and o["metadata"]["name"] == n.configmap:
                cm = copy.deepcopy(o)
                cm["metadata"].setdefault("annotations", {})[RECONCILE_ANNOTATION] = datetime.now(UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
                api.apply(cm, field_manager=ks.field_manager, force=True)
                self.box.out(
                    f"    AtlasMigration {n.migration} had stopped retrying (backoffLimit exceeded "
                    f"before this deploy); annotated ConfigMap {n.configmap} so the operator tries again"
                )
                return

    def _debug_hint(self, resource: str, name: str) -> str:
        ks, n = self.box.ks, self.names
        return (
            f"`inv cnpg-status --env {self.env}`, `inv cnpg-logs --env {self.env}`, or "
            f"`kubectl --context {ks.context} -n {n.namespace} describe {resource}/{name}`"
        )

    def _dry_build(self, plan_render: list[str], plan_cm: list[str], plan_build: list[str]) -> None:
        """Render and build in a temporary copy: the plan's exact objects, nothing written here."""
        box, ks = self.box, self.box.ks
        tmp = Path(tempfile.mkdtemp(prefix="dbstack-plan-"))
        try:
            root = tmp / "cnpg"
            # Never copy a credentials file (a password) anywhere; the plan needs only names.
            cred = self.credentials_file
            shutil.copytree(
                ks.manifests_dir,
                root,
                symlinks=True,
                ignore=lambda d, names: [
                    n for n in names if cred is not None and n == cred.name and Path(d) == cred.parent
                ],
            )
            rendered = render_for(box.settings, db=self.db)
            stale = rendered.stale()
            plan_render.append(
                f"write {len(rendered.files)} files under {ks.rel(ks.manifests_dir)} "
                + (f"(changes: {', '.join(stale)})" if stale else "(all up to date)")
            )
            type(rendered)(root=root, files=rendered.files).write()
            cm = cmmod.from_settings(box.settings, db=self.db)
            cm_path = ks.rel(ks.manifests_dir / "base" / CONFIGMAP_FILE)
            plan_cm.append(
                f"{cm_path}: {len(cm.migration_files)} files from "
                f"{', '.join(cm.sources)}, {cm.data_bytes:,} bytes, atlas.sum h1:{cm.sum.total}"
                + (f", latest version {cm.latest_version}" if cm.latest_version else "")
            )
            note = cmmod.size_note(cm)
            if note:
                plan_cm.append(note)
            if cred is not None:
                try:
                    self.check_credentials()
                except ConfigError as exc:
                    plan_build.append(f"note: {exc.message}; a real deploy refuses until it is fixed")
                tmp_cred = root / cred.relative_to(ks.manifests_dir)
                tmp_cred.write_text(f"username={self.envs.owner}\npassword={PLACEHOLDER_PASSWORD}\n")
            self.objects = self.build_in(root)
            self.check_built()
            plan_build.append(f"{len(self.objects)} objects; every reference resolves")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def deploy(box: Toolbox, env: str, *, dry_run: bool = False, db: str | None = None) -> None:
    from .steps import run_steps

    d = Deployment(box, env, db=db)
    d.preflight(dry_run=dry_run)
    run_steps([box.versions_step("kind", "kubectl")] + d.steps(dry_run=dry_run), dry_run=dry_run, out=box.out)


def setup(box: Toolbox, env: str = "dev", *, dry_run: bool = False, db: str | None = None) -> None:
    """kind-up, both operators, deploy: every step idempotent."""
    from .kind import up_steps
    from .operators import atlas_install_steps, cnpg_install_steps
    from .steps import run_steps

    d = Deployment(box, env, db=db)
    if not dry_run:
        box.require_tools("kind", "helm", "kubectl")
    d.preflight(dry_run=dry_run, cluster=False)
    # Versions, and for an environment that needs external-secrets the
    # operator and its store, are checked before the cluster is created or
    # any operator installed.
    first = [box.versions_step("kind", "helm", "kubectl")]
    if d.needs_prerequisites:
        first.append(d.prerequisites_step())
    steps = first + up_steps(box) + cnpg_install_steps(box) + atlas_install_steps(box) + d.steps(dry_run=dry_run)
    run_steps(steps, dry_run=dry_run, out=box.out)
