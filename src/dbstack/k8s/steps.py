"""Steps: what a task will do, printable as a plan (--dry-run) or run.

Every cluster task builds its list of :class:`Step` first. ``--dry-run``
prints each step's exact commands and objects; a real run prints the titles
and performs the actions in order. Checks that need no change (tools
present, environment known, credentials file there) run before any step, so
bad input changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Step:
    title: str
    plan: list[str] = field(default_factory=list)
    action: Callable[[], None] | None = None


def run_steps(steps: Sequence[Step], *, dry_run: bool, out: Callable[[str], None]) -> None:
    if dry_run:
        out("Dry run: nothing is changed; this is the plan.")
    n = len(steps)
    for i, s in enumerate(steps, 1):
        out(f"==> [{i}/{n}] {s.title}")
        if dry_run:
            for line in s.plan:
                out(f"    {line}")
        elif s.action is not None:
            s.action()
