"""Polling with a deadline on Kubernetes conditions (no sleeps as readiness).

A readiness function looks at the object and says: done, still waiting (with
a one-line summary printed whenever it changes), or failed for good (raise).
The clock is injectable so tests do not sleep.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..errors import KubernetesError

# CNPG phases that do not heal by waiting (k8s-facts §a.6).
CNPG_ERROR_PHASES = (
    "Unable to create required cluster objects",
    "Invalid cluster definition",
    "Cluster has incomplete or invalid image catalog",
    "Cluster is unrecoverable and needs manual intervention",
)
# The operator retries failures (every failed*5s); after this many failed
# attempts in a row we report the reason instead of waiting out the timeout.
ATLAS_FAILURES_REPORTED = 3


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
    ready = c is not None and c.get("status") == "True" and _fresh(obj, None) \
        and st.get("updatedReplicas", st.get("replicas")) == st.get("replicas")
    return Progress(bool(ready), f"{st.get('readyReplicas', 0)}/{st.get('replicas', '?')} ready, {_cond_text(c, 'Available')}")


def cluster_ready(obj: dict | None) -> Progress:
    if obj is None:
        return Progress(False, "not created yet")
    st = obj.get("status") or {}
    phase = st.get("phase") or "(no phase yet)"
    c = condition(obj, "Ready")
    summary = (f"phase {phase!r}, {st.get('readyInstances', 0)}/{(obj.get('spec') or {}).get('instances', '?')} "
               f"instances ready, {_cond_text(c, 'Ready')}")
    if phase in CNPG_ERROR_PHASES:
        reason = st.get("phaseReason") or (c or {}).get("message") or ""
        raise KubernetesError(f"Cluster {obj['metadata']['name']} failed: phase {phase!r}" + (f": {reason}" if reason else ""),
                              "fix the Cluster spec in manifests/cnpg/environments.yaml, re-render and re-deploy")
    return Progress(c is not None and c.get("status") == "True" and _fresh(obj, c), summary)


def migration_ready(obj: dict | None, expected_version: str | None) -> Progress:
    if obj is None:
        return Progress(False, "not created yet")
    st = obj.get("status") or {}
    ready, stalled = condition(obj, "Ready"), condition(obj, "Stalled")
    last = st.get("lastAppliedVersion") or "none"
    summary = f"{_cond_text(ready, 'Ready')}, last applied version {last}"
    if stalled is not None and stalled.get("status") == "True" and int(st.get("failed") or 0) >= ATLAS_FAILURES_REPORTED:
        r = ready or stalled
        raise KubernetesError(
            f"AtlasMigration {obj['metadata']['name']} failed {st.get('failed')} times: reason {r.get('reason')}: "
            f"{r.get('message')}",
            "fix the cause (the message is the Atlas CLI's), then re-deploy; "
            f"`kubectl describe atlasmigrations.db.atlasgo.io/{obj['metadata']['name']}` shows the events")
    done = (ready is not None and ready.get("status") == "True" and _fresh(obj, ready)
            and (expected_version is None or st.get("lastAppliedVersion") == expected_version))
    if ready is not None and ready.get("status") == "True" and expected_version and not done:
        summary += f" (waiting for {expected_version})"
    return Progress(done, summary)


def wait_for(what: str, fetch: Callable[[], dict | None], judge: Callable[[dict | None], Progress], *,
             timeout: float, clock: Clock, out: Callable[[str], None], interval: float = 2.0,
             hint: str = "") -> dict | None:
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
