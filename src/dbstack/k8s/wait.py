"""Polling with a deadline on Kubernetes conditions (no sleeps as readiness).

A readiness function looks at the object and says: done, still waiting (with
a one-line summary printed whenever it changes), or failed for good (raise).
The clock is injectable so tests do not sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import KubernetesError

# CNPG phases that do not heal by waiting (cloudnative-pg api/v1/cluster_types.go, Phase* constants).
CNPG_ERROR_PHASES = (
    "Unable to create required cluster objects",
    "Invalid cluster definition",
    "Cluster has incomplete or invalid image catalog",
    "Cluster is unrecoverable and needs manual intervention",
)
# Failed attempts against a reachable database before the wait reports the
# operator's message instead of waiting out the timeout (see MigrationWatch).
ATLAS_FAILURES_REPORTED = 2


@dataclass
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Progress:
    done: bool
    summary: str


def condition(obj: dict | None, ctype: str) -> dict | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def _cond_text(c: dict | None, ctype: str) -> str:
    if c is None:
        return f"{ctype}=Unknown (no condition yet)"
    text = f"{ctype}={c.get('status')}"
    if c.get("reason"):
        text += f" reason {c['reason']}"
    if c.get("message"):
        text += f": {c['message']}"
    return text


def _fresh(obj: dict, c: dict | None) -> bool:
    """The status describes the current spec (not the one before our apply)."""
    gen = (obj.get("metadata") or {}).get("generation")
    seen = (c or {}).get("observedGeneration")
    if seen is None:
        seen = (obj.get("status") or {}).get("observedGeneration")
    return gen is None or seen is None or seen >= gen


def deployment_ready(obj: dict | None) -> Progress:
    if obj is None:
        return Progress(False, "not created yet")
    c = condition(obj, "Available")
    st = obj.get("status") or {}
    ready = (
        c is not None
        and c.get("status") == "True"
        and _fresh(obj, None)
        and st.get("updatedReplicas", st.get("replicas")) == st.get("replicas")
    )
    return Progress(
        bool(ready), f"{st.get('readyReplicas', 0)}/{st.get('replicas', '?')} ready, {_cond_text(c, 'Available')}"
    )


CNPG_HEALTHY = "Cluster in healthy state"


def cluster_ready(obj: dict | None) -> Progress:
    """Ready as CloudNativePG 1.30 reports it.

    CNPG writes no observedGeneration (neither on the status nor on its Ready
    condition: pkg/resources/status SetClusterReadyCondition derives Ready from
    the phase alone), so a Ready=True from before a change is indistinguishable
    by its condition. What does change with the spec: the Cluster is done only
    when the phase is healthy, Ready is True, as many instances are ready as
    spec.instances asks for, the primary is where the operator wants it, and
    the running image is the requested one.
    """
    if obj is None:
        return Progress(False, "not created yet")
    st = obj.get("status") or {}
    spec = obj.get("spec") or {}
    phase = st.get("phase") or "(no phase yet)"
    c = condition(obj, "Ready")
    want = spec.get("instances")
    summary = (
        f"phase {phase!r}, {st.get('readyInstances', 0)}/{want if want is not None else '?'} "
        f"instances ready, {_cond_text(c, 'Ready')}"
    )
    if phase in CNPG_ERROR_PHASES:
        reason = st.get("phaseReason") or (c or {}).get("message") or ""
        raise KubernetesError(
            f"Cluster {obj['metadata']['name']} failed: phase {phase!r}" + (f": {reason}" if reason else ""),
            "fix the Cluster spec in manifests/cnpg/environments.yaml, re-render and re-deploy",
        )
    done = (
        phase == CNPG_HEALTHY
        and c is not None
        and c.get("status") == "True"
        and want is not None
        and st.get("readyInstances") == want
        and st.get("instances", want) == want
        and st.get("currentPrimary") == st.get("targetPrimary", st.get("currentPrimary"))
        and (not spec.get("imageName") or not st.get("image") or st["image"] == spec["imageName"])
    )
    if not done and phase == CNPG_HEALTHY and c is not None and c.get("status") == "True":
        summary += " (waiting for the operator to act on the new spec)"
    return Progress(done, summary)


# The AtlasMigration CRD's default for spec.backoffLimit (the API server fills it in).
ATLAS_BACKOFF_LIMIT_DEFAULT = 20


def backoff_limit(obj: dict | None) -> int:
    v = ((obj or {}).get("spec") or {}).get("backoffLimit", ATLAS_BACKOFF_LIMIT_DEFAULT)
    return int(v) if isinstance(v, int) and not isinstance(v, bool) else ATLAS_BACKOFF_LIMIT_DEFAULT


def operator_gave_up(obj: dict | None) -> bool:
    """Stalled with more failures than backoffLimit: the operator requeues no more (0.7.37 resultErr)."""
    st = (obj or {}).get("status") or {}
    stalled = condition(obj, "Stalled")
    limit = backoff_limit(obj)
    try:
        failed = int(st.get("failed") or 0)
    except (TypeError, ValueError):
        return False
    return stalled is not None and stalled.get("status") == "True" and limit > 0 and failed > limit


class MigrationWatch:
    """Readiness of an AtlasMigration we just applied, judged only on fresh status.

    The Atlas operator (0.7.37, internal/controller/atlasmigration_controller.go)
    retries a failed reconcile after failed x 5 s, counts attempts in
    status.failed, sets Stalled=True on each failure and resets the count only
    on success. While the Cluster boots every attempt fails (connection
    refused, or CNPG's secret not there yet), so by the time the database is
    reachable the object may already say Stalled with several failures — and
    on a redeploy after a fix the old failure is still there at our first look.
    So: the baseline is the count when the database is ready (the caller starts
    us then); a failure is reported only after `persist` further failed
    attempts (the operator retried against a reachable database and failed
    again), or at once when the operator stopped retrying (backoffLimit). Done
    is Ready=True written for the generation we applied with the newest version
    of our ConfigMap.
    """

    def __init__(
        self, expected_version: str | None, generation: int | None = None, persist: int = ATLAS_FAILURES_REPORTED
    ) -> None:
        self.expected = expected_version
        self.generation = generation
        self.persist = persist
        self.baseline: int | None = None
        self.last: int | None = None
        self.new_failures = 0

    def _count(self, failed: int) -> None:
        if self.last is None:
            self.baseline = self.last = failed
            return
        if failed > self.last:
            self.new_failures += failed - self.last
        elif failed < self.last:
            # reset by a success or a reconcile of new data, then failing again
            self.new_failures += failed
        self.last = failed

    def __call__(self, obj: dict | None) -> Progress:
        if obj is None:
            return Progress(False, "not created yet")
        st = obj.get("status") or {}
        ready, stalled = condition(obj, "Ready"), condition(obj, "Stalled")
        last = st.get("lastAppliedVersion") or "none"
        try:
            failed = int(st.get("failed") or 0)
        except (TypeError, ValueError):
            failed = 0
        self._count(failed)
        summary = f"{_cond_text(ready, 'Ready')}, last applied version {last}"
        seen = (ready or {}).get("observedGeneration", st.get("observedGeneration"))
        fresh = self.generation is None or seen is None or seen >= self.generation
        limit = backoff_limit(obj)
        gave_up = limit > 0 and failed > limit
        is_stalled = stalled is not None and stalled.get("status") == "True"
        if is_stalled and fresh and (self.new_failures >= self.persist or (gave_up and self.new_failures >= 1)):
            r = ready or stalled or {}  # stalled is set here (is_stalled)
            raise KubernetesError(
                f"AtlasMigration {obj['metadata']['name']} failed {failed} times"
                + (f" (backoffLimit {limit} exceeded: the operator stopped retrying)" if gave_up else "")
                + f": reason {r.get('reason')}: {r.get('message')}",
                "fix the cause (the message is the Atlas CLI's), then re-deploy; "
                f"`kubectl describe atlasmigrations.db.atlasgo.io/{obj['metadata']['name']}` shows the events",
            )
        if is_stalled:
            summary += (
                f" (attempt {failed}; {self.new_failures} failed since the database was ready — "
                f"reported when {self.persist} in a row fail)"
                if self.new_failures < self.persist
                else ""
            )
        done = (
            ready is not None
            and ready.get("status") == "True"
            and fresh
            and (self.expected is None or st.get("lastAppliedVersion") == self.expected)
        )
        if ready is not None and ready.get("status") == "True" and self.expected and not done:
            summary += f" (waiting for {self.expected})"
        return Progress(done, summary)


def wait_for(
    what: str,
    fetch: Callable[[], dict | None],
    judge: Callable[[dict | None], Progress],
    *,
    timeout: float,
    clock: Clock,
    out: Callable[[str], None],
    interval: float = 2.0,
    hint: str = "",
) -> dict | None:
    """Poll until judge says done; print each new summary; raise with the last one on timeout."""
    deadline = clock.now() + timeout
    last = None
    while True:
        obj = fetch()
        p = judge(obj)
        if p.summary != last:
            out(f"    {what}: {p.summary}")
            last = p.summary
        if p.done:
            return obj
        if clock.now() >= deadline:
            raise KubernetesError(f"{what} not ready after {timeout:.0f}s: {p.summary}", hint)
        clock.sleep(interval)
