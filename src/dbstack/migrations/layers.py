"""A database's migration layers: one or more directories, one version space.

DESIGN.md contract 3: versions are unique across all layers; pending files of
all layers run in one global version order into one revisions table. A
single directory is the one-layer case.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import MigrationDirError, UsageError
from .directory import HashFile, MigrationDir, MigrationFile, check_versions

_TIMESTAMP = re.compile(r"^\d{14}$")
_NUMBER = re.compile(r"^\d+$")
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_migration_name(name: str | None, example: str = "add_users_phone") -> None:
    """The NAME of a new migration file (migrate-new, migrate-diff, genmigrate): refused with one message."""
    if not FILE_NAME.match(name or ""):
        raise UsageError(
            f"invalid migration name {name!r}", f"use letters, digits, '_', '.' and '-' only, e.g. {example}"
        )


def _version_key(v: str) -> tuple:
    # Atlas compares versions as strings; equal-width numbers sort numerically
    # that way. We order globally the same way Atlas orders within a directory.
    return (v.encode("utf-8", "surrogateescape"),)


@dataclass
class Layers:
    dirs: list[MigrationDir]

    @classmethod
    def of(cls, paths: Sequence[str | os.PathLike], format: str = "atlas") -> Layers:
        if not paths:
            raise UsageError("no migration directory given", "pass --dir PATH or --db NAME")
        return cls([MigrationDir(p, format) for p in paths])

    def validate(self, *, nul_ok: bool = False) -> dict[str, HashFile]:
        """Validate every layer's atlas.sum and the versions across layers (NUL bytes refused unless nul_ok)."""
        sums = {str(d.path): d.validate(nul_ok=nul_ok) for d in self.dirs}
        self.check_versions()
        return sums

    def nul_warnings(self) -> list[str]:
        """One line per file holding a NUL byte (for the commands that only warn)."""
        from .directory import nul_message

        return [
            f"warning: {nul_message(f, at)}; `inv migrate` will refuse it" for d in self.dirs for f, at in d.nul_files()
        ]

    def check_versions(self) -> None:
        check_versions(self.files())

    def files(self) -> list[MigrationFile]:
        """All files of all layers in one global order (by version, then name)."""
        out: list[MigrationFile] = []
        for d in self.dirs:
            out.extend(d.files())
        if len(self.dirs) > 1:
            out.sort(key=lambda f: (_version_key(f.version), f.name.encode("utf-8", "surrogateescape")))
        return out

    def hashes(self) -> dict[tuple[str, str], str]:
        """(dir, file name) -> the file's atlas.sum hash, computed from the files."""
        out = {}
        for d in self.dirs:
            for e in d.compute_sum().entries:
                out[(str(d.path), e.name)] = e.hash
        return out

    def layer(self, name: str | None) -> MigrationDir:
        if name is None:
            if len(self.dirs) == 1:
                return self.dirs[0]
            names = ", ".join(d.name for d in self.dirs)
            raise UsageError(f"this database has several layers ({names})", "pass --layer NAME")
        for d in self.dirs:
            if d.name == name or str(d.path) == name:
                return d
        names = ", ".join(d.name for d in self.dirs)
        raise UsageError(f"unknown layer {name!r} (layers: {names})", "pass one of the listed names to --layer")

    def next_version(self, now: datetime | None = None) -> str:
        """Timestamp (UTC YYYYMMDDhhmmss) or next zero-padded number, as the layers already use."""
        versions = [f.version for f in self.files()]
        numeric = [v for v in versions if _NUMBER.match(v)]
        sequential = numeric and len(numeric) == len(versions) and not all(_TIMESTAMP.match(v) for v in versions)
        if sequential:
            width = max(len(v) for v in numeric)
            return str(max(int(v) for v in numeric) + 1).zfill(width)
        now = now or datetime.now(UTC)
        v = now.strftime("%Y%m%d%H%M%S")
        stamps = [x for x in versions if _TIMESTAMP.match(x)]
        # A new file must sort after every existing one (else it is "out of
        # order"), also when two are created within one second.
        if stamps and v <= max(stamps):
            v = str(int(max(stamps)) + 1)
        return v

    def new_file(self, name: str, layer: str | None = None, now: datetime | None = None, content: bytes = b"") -> Path:
        """Create the next migration file (Atlas writes it empty) and re-hash its layer."""
        check_migration_name(name)
        target = self.layer(layer)
        for d in self.dirs:
            d.validate()
        self.check_versions()
        path = target.path / f"{self.next_version(now)}_{name}.sql"
        try:
            with open(path, "xb") as fh:
                fh.write(content)
        except OSError as exc:
            raise MigrationDirError(
                f"cannot create {path}: {exc.strerror}", "check the directory's permissions"
            ) from None
        target.refresh()
        target.write_sum()
        return path
