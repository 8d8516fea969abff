"""The invoke task collection (`inv --list`). Tasks are thin adapters."""
from __future__ import annotations

from invoke import Collection

from ..settings import DEFAULTS
from . import apply, dev, inspect, k8s, local, migrate, standalone


def _collection() -> Collection:
    ns = Collection()
    for module in (migrate, apply, local, inspect, k8s, standalone, dev):
        for t in Collection.from_module(module).tasks.values():
            ns.add_task(t)
    ns.configure({"dbstack": DEFAULTS})
    return ns


ns = _collection()
