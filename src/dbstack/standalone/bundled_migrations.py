"""The migrations ``migrate`` carries inside itself.

``inv build-migrate`` copies each layer's directory (SQL files + atlas.sum)
into ``dbstack/standalone/embedded/<layer>/`` inside ``migrate.pyz`` and
writes ``embedded/manifest.json`` (layer order, build id, origin). Run from a
dbstack checkout instead (the ``migrate`` console script of an editable
install), the tool falls back to the checkout's configured migrations
directory, so both paths apply the same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import MigrationDirError

EMBED_DIR = Path(__file__).resolve().parent / "embedded"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class EmbeddedMigrations:
    root: Path
    layers: tuple[str, ...]
    origin: str  # for messages: "embedded in migrate.pyz (build …)" or the checkout's directory
    display_root: str = ""  # how messages name the layers' parent directory (deploy/migrations)
    embedded: bool = False  # a copy inside migrate.pyz (read-only in spirit), not a source checkout

    def layer_dirs(self) -> list[Path]:
        return [self.root / layer for layer in self.layers]

    def to_layers(self):
        from ..migrations.layers import Layers

        return Layers.of(self.layer_dirs())

    def layer_label(self, layer: str) -> str:
        return f"{self.display_root or self.root}/{layer}/"

    def layer_of(self, version: str) -> str | None:
        for layer, d in zip(self.layers, self.layer_dirs(), strict=True):
            if d.is_dir() and any(
                p.name.split("_", 1)[0] == version or p.name == f"{version}.sql" for p in d.glob("*.sql")
            ):
                return layer
        return None


def read_manifest(root: Path) -> dict:
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MigrationDirError(
            f"the embedded migrations are damaged: cannot read {root / MANIFEST} ({exc})",
            "rebuild the tool with `inv build-migrate`",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise MigrationDirError(
            f"the embedded migrations are damaged: {root / MANIFEST} lists no layers",
            "rebuild the tool with `inv build-migrate`",
        )
    return data


def find_migrations(embed_dir: Path | None = None) -> EmbeddedMigrations:
    """The embedded migrations, else those of the dbstack checkout this code runs from."""
    embed_dir = EMBED_DIR if embed_dir is None else embed_dir
    if (embed_dir / MANIFEST).is_file():
        m = read_manifest(embed_dir)
        return EmbeddedMigrations(
            embed_dir,
            tuple(m["layers"]),
            f"embedded in migrate.pyz (build {m.get('build', '?')}, from {m.get('source', '?')})",
            str(m.get("source") or ""),
            embedded=True,
        )
    from ..settings import load
    from .options import standalone_settings

    checkout = Path(__file__).resolve().parents[3]
    if not ((checkout / "invoke.yaml").is_file() or (checkout / "tasks.py").is_file()):
        raise MigrationDirError(
            "this migrate carries no embedded migrations and does not run from a dbstack checkout",
            "build the self-contained tool with `inv build-migrate` and run dist/migrate.pyz",
        )
    st = standalone_settings(load(checkout))
    try:
        label = st.migrations_dir.relative_to(checkout).as_posix()
    except ValueError:
        label = str(st.migrations_dir)
    return EmbeddedMigrations(st.migrations_dir, st.layers, str(st.migrations_dir), label)
