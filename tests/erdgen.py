"""A generated layered schema (bronze → silver → gold) for the ERD tests and bench/erd_bench.py.

Deterministic for a given (tables, seed): table i of a schema references up to two
earlier tables of the same schema, silver and gold tables reference the layer
below, a few tables reference themselves, and one pair per schema references
each other (a cycle, which a layered layout has to break).
"""

from __future__ import annotations

import random

SCHEMAS = ("bronze", "silver", "gold")
_TYPES = ("text", "bigint", "integer", "numeric(12,2)", "timestamptz", "boolean", "varchar(80)", "date", "jsonb")
_WORDS = (
    "customer",
    "order",
    "invoice",
    "payment",
    "product",
    "supplier",
    "shipment",
    "account",
    "ledger",
    "address",
    "contract",
    "event",
    "session",
    "device",
    "region",
    "store",
    "price",
    "discount",
)


def schema_sql(tables: int, seed: int = 16, schemas: tuple[str, ...] = SCHEMAS) -> str:
    """SQL creating `tables` tables spread over `schemas` (created here), with their foreign keys."""
    rnd = random.Random(seed)
    per = [tables // len(schemas) + (1 if i < tables % len(schemas) else 0) for i in range(len(schemas))]
    out = [f"CREATE SCHEMA {s};" for s in schemas]
    names: dict[str, list[str]] = {}
    later: list[str] = []
    for si, (schema, n) in enumerate(zip(schemas, per, strict=False)):
        names[schema] = []
        for i in range(n):
            t = f"{_WORDS[i % len(_WORDS)]}_{i:03d}"
            cols = ["id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
            cols += [f"{rnd.choice(_WORDS)}_{k} {rnd.choice(_TYPES)}" for k in range(rnd.randint(2, 7))]
            own = names[schema]
            for k, ref in enumerate(rnd.sample(own, min(len(own), rnd.choice((0, 1, 1, 2))))):
                cols.append(f"ref{k}_id bigint {'NOT NULL ' if k == 0 else ''}REFERENCES {schema}.{ref} (id)")
            if si and rnd.random() < 0.6:
                below = schemas[si - 1]
                cols.append(f"{below}_id bigint REFERENCES {below}.{rnd.choice(names[below])} (id)")
            if rnd.random() < 0.05:
                cols.append(f"parent_id bigint REFERENCES {schema}.{t} (id)")
            out.append(f"CREATE TABLE {schema}.{t} (\n    " + ",\n    ".join(cols) + "\n);")
            own.append(t)
        if n >= 4:  # a cycle: the first table points at the last one, which (maybe) points back
            a, b = own[0], own[-1]
            later.append(f"ALTER TABLE {schema}.{a} ADD COLUMN cycle_id bigint REFERENCES {schema}.{b} (id);")
    return "\n".join(out + later) + "\n"
