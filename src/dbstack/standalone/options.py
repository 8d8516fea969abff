"""The ``dbstack.standalone`` settings section, typed.

The section lives in ``settings.DEFAULTS["standalone"]`` (overridable from
invoke.yaml like every other key); this module only reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..settings import DEFAULTS, Settings

# A layer name doubles as a PostgreSQL schema name and a directory name.
_LAYER = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class StandaloneSettings:
    migrations_dir: Path
    layers: tuple[str, ...]
    schema_dir: Path
    pyz: Path
    atlas_hcl: Path

    def layer_dirs(self, base: Path | None = None) -> list[Path]:
        base = self.migrations_dir if base is None else base
        return [base / layer for layer in self.layers]


def check_layers(layers: Any, where: str = "dbstack.standalone.layers") -> tuple[str, ...]:
    if isinstance(layers, str) or not isinstance(layers, (list, tuple)) or not layers:
        raise ConfigError(
            f"setting {where} must be a non-empty list of layer names, got {layers!r}",
            "e.g. [bronze, bronzehistory, silver, gold]",
        )
    out = []
    for name in layers:
        if not isinstance(name, str) or not _LAYER.match(name):
            raise ConfigError(
                f"invalid layer name {name!r} in {where}",
                "use lower-case letters, digits and '_' (it is also the layer's PostgreSQL schema)",
            )
        if name in out:
            raise ConfigError(f"layer {name!r} is listed twice in {where}", "list each layer once")
        out.append(name)
    return tuple(out)


def standalone_settings(s: Settings) -> StandaloneSettings:
    raw: Mapping[str, Any] = s.raw.get("standalone") or DEFAULTS["standalone"]
    merged = {**DEFAULTS["standalone"], **dict(raw)}
    for key in ("migrations_dir", "schema_dir", "pyz", "atlas_hcl"):
        if not isinstance(merged[key], str) or not merged[key]:
            raise ConfigError(
                f"setting dbstack.standalone.{key} must be a path, got {merged[key]!r}", "fix it in invoke.yaml"
            )
    return StandaloneSettings(
        migrations_dir=s.resolve(merged["migrations_dir"]),
        layers=check_layers(merged["layers"]),
        schema_dir=s.resolve(merged["schema_dir"]),
        pyz=s.resolve(merged["pyz"]),
        atlas_hcl=s.resolve(merged["atlas_hcl"]),
    )
