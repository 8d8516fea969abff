"""The invoke task collection (`inv --list`). Tasks are thin adapters."""

from __future__ import annotations

from invoke import Collection

from ..settings import DEFAULTS
from . import dev, inspect, k8s, local, migrate, migration_dir, standalone


def _collection() -> Collection:
    ns = Collection()
    for module in (migration_dir, migrate, local, inspect, k8s, standalone, dev):
        for t in Collection.from_module(module).tasks.values():
            ns.add_task(t)
    ns.configure({"dbstack": DEFAULTS})
    return ns


ns = _collection()
