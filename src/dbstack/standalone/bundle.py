"""Building ``dist/migrate.pyz``: one file holding the tool, its migrations and its dependencies.

The zip holds ``__main__.py`` (:mod:`.pyz_bootstrap`) and a ``lib/`` tree:
the few dbstack modules ``migrate`` needs, the installed distributions it
depends on (psycopg with its binary driver, PyYAML, hvac and requests'
family, copied from the building interpreter's site-packages, no network),
and the migrations under ``dbstack/standalone/embedded/``. Entries are
sorted and time-stamped 1980-01-01, so the same inputs give the same bytes;
the build id is a hash of the payload and names the cache directory the
bootstrap extracts into. The result runs on the same Python minor version
and platform as the build (the driver is compiled); the bootstrap says so
clearly otherwise.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import sys
import sysconfig
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import ConfigError, MigrationDirError, ToolMissing
from ..files import atomic_write

# What `migrate` imports at run time: nothing of invoke, docker or kubernetes.
ROOT_DISTRIBUTIONS = ("psycopg", "psycopg-binary", "PyYAML", "hvac")
# dbstack's own modules the tool needs (relative to the package directory).
DBSTACK_PARTS = (
    "__init__.py",
    "errors.py",
    "cli.py",
    "settings.py",
    "quoting.py",
    "childenv.py",
    "files.py",
    "compose.py",
    "postgres.py",
    "migrations",
    "standalone",
)
# tests/unit/test_layout.py checks that these cover every module the entry points can import.
ENTRY = "dbstack.standalone.migrate_cli:main"
# genmigrate.pyz: the same, plus the schema model and diff it plans with; no
# embedded migrations (it works on the project's schema and migration directories).
GENMIGRATE_PARTS = DBSTACK_PARTS + ("inspect",)
GENMIGRATE_ENTRY = "dbstack.standalone.genmigrate_cli:main"
SHEBANG = "/usr/bin/env python3"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class BuildResult:
    path: Path
    build: str
    size: int
    files: int  # migration files embedded
    layers: tuple[str, ...]
    distributions: tuple[str, ...]


# --------------------------------------------------------------------------- dependencies


def _requirement_parser():
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip vendors it; every venv has pip
        try:
            # The same class as packaging's, under pip's name: mypy sees two types.
            from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]
        except ImportError:
            raise ToolMissing(
                "building migrate.pyz needs the `packaging` library",
                "pip install packaging (into the environment that runs `inv build-migrate`)",
            ) from None
    return Requirement


def dependency_closure(roots: Sequence[str] = ROOT_DISTRIBUTIONS) -> list[metadata.Distribution]:
    """The installed distributions the roots need on this interpreter (markers evaluated, no extras)."""
    Requirement = _requirement_parser()
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        key = _norm(name)
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ToolMissing(
                f"cannot build migrate.pyz: the package {name!r} is not installed here",
                f"install dbstack's dependencies (pip install -e .) into {sys.prefix}",
            ) from None
        seen[key] = dist
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
    return [seen[k] for k in sorted(seen)]


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _dist_files(dist: metadata.Distribution) -> Iterable[tuple[str, Path]]:
    """(path inside site-packages, file on disk) of an installed distribution."""
    for f in dist.files or []:
        rel = str(f).replace("\\", "/")
        parts = rel.split("/")
        if rel.startswith("../") or parts[0] == ".." or _SKIP_DIRS.intersection(parts) or rel.endswith(_SKIP_SUFFIXES):
            continue
        src = Path(str(dist.locate_file(f)))  # a pathlib.Path, typed as importlib's SimplePath
        if src.is_file():
            yield rel, src


def _package_files(pkg_dir: Path, parts: Sequence[str]) -> Iterable[tuple[str, Path]]:
    for part in parts:
        p = pkg_dir / part
        if p.is_file():
            yield f"dbstack/{part}", p
            continue
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and d != "embedded")
            for fn in sorted(files):
                if fn.endswith(_SKIP_SUFFIXES):
                    continue
                full = Path(root) / fn
                yield "dbstack/" + full.relative_to(pkg_dir).as_posix(), full


# --------------------------------------------------------------------------- migrations


def embedded_migrations(source: Path, layers: Sequence[str]) -> tuple[list[tuple[str, bytes]], int]:
    """The layer directories as zip entries, validated the way `migrate` will validate them."""
    from ..migrations.layers import Layers

    if not source.is_dir():
        raise MigrationDirError(
            f"migrations directory {source} does not exist",
            "pass --migrations DIR or set dbstack.standalone.migrations_dir",
        )
    missing = [layer for layer in layers if not (source / layer).is_dir()]
    if missing:
        raise MigrationDirError(
            f"{source} has no directory for layer(s) {', '.join(missing)}",
            f"create {source}/<layer>/ for every layer of dbstack.standalone.layers (an empty one is fine)",
        )
    lay = Layers.of([source / layer for layer in layers])
    lay.validate()  # checksum and cross-layer version errors fail the build, not the deploy
    entries: list[tuple[str, bytes]] = []
    count = 0
    for layer, d in zip(layers, lay.dirs, strict=True):
        for f in d.files():
            entries.append((f"dbstack/standalone/embedded/{layer}/{f.name}", f.read()))
            count += 1
        if d.sum_path.is_file():
            entries.append((f"dbstack/standalone/embedded/{layer}/atlas.sum", d.sum_path.read_bytes()))
    return entries, count


# --------------------------------------------------------------------------- the archive


def _mode(path: Path) -> int:
    return 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644


def build_pyz(
    out: Path,
    migrations: Path | None,
    layers: Sequence[str],
    *,
    shebang: str = SHEBANG,
    source_label: str | None = None,
    roots: Sequence[str] = ROOT_DISTRIBUTIONS,
    tool: str = "migrate",
    entry: str = ENTRY,
    parts: Sequence[str] = DBSTACK_PARTS,
) -> BuildResult:
    """Write the zipapp to ``out`` and return what went in (migrations None: embed none)."""
    import dbstack

    payload: dict[str, tuple[bytes, int]] = {}

    def add(arc: str, data: bytes, mode: int = 0o644) -> None:
        payload["lib/" + arc] = (data, mode)

    dists = dependency_closure(roots)
    for dist in dists:
        for rel, src in _dist_files(dist):
            add(rel, src.read_bytes(), _mode(src))
    pkg_dir = Path(dbstack.__file__).resolve().parent
    for rel, src in _package_files(pkg_dir, parts):
        add(rel, src.read_bytes())
    entries, count = embedded_migrations(migrations, layers) if migrations is not None else ([], 0)
    for arc, data in entries:
        add(arc, data)

    digest = hashlib.sha256()
    for arc in sorted(payload):
        data, mode = payload[arc]
        digest.update(f"{arc}\0{mode:o}\0{len(data)}\0".encode())
        digest.update(data)
    if migrations is not None:
        manifest = {"layers": list(layers), "source": source_label or migrations.name, "files": count}
        manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        digest.update(manifest_bytes)
        build = digest.hexdigest()[:16]
        manifest["build"] = build
        add(
            "dbstack/standalone/embedded/manifest.json",
            (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(),
        )
    else:
        digest.update(entry.encode())
        build = digest.hexdigest()[:16]

    info = {
        "build": build,
        "entry": entry,
        "cache_tag": sys.implementation.cache_tag,
        "platform": sysconfig.get_platform(),
        "tool": tool,
    }
    boot = (Path(__file__).with_name("pyz_bootstrap.py")).read_text(encoding="utf-8")
    marker = "BUILD_INFO = {}"
    if marker not in boot:
        raise ConfigError("pyz_bootstrap.py lost its BUILD_INFO line", "restore it")
    boot = boot.replace(marker, "BUILD_INFO = " + json.dumps(info, sort_keys=True), 1)

    buf = io.BytesIO()
    buf.write(b"#!" + shebang.encode() + b"\n")
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        _write(z, "__main__.py", boot.encode(), 0o644)
        for arc in sorted(payload):
            data, mode = payload[arc]
            _write(z, arc, data, mode)
    atomic_write(out, buf.getvalue(), mode=0o755)
    return BuildResult(
        out, build, out.stat().st_size, count, tuple(layers), tuple(f"{d.metadata['Name']}=={d.version}" for d in dists)
    )


def _write(z: zipfile.ZipFile, arc: str, data: bytes, mode: int) -> None:
    zi = zipfile.ZipInfo(arc, date_time=_FIXED_TIME)
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = (stat.S_IFREG | mode) << 16
    z.writestr(zi, data)
