"""genmigrate: one new migration per changed layer, from the desired schema.

For the layers in order (bronze → bronzehistory → silver → gold by default):

1. the configured database must be named ``*_dev`` (seed 004), and exist;
2. two scratch databases are created on that dev server (always dropped,
   also on errors and Ctrl-C): *desired*, where each layer's schema files
   (``<schema>/<layer>/*.sql``, by name) are loaded with the layer's
   PostgreSQL schema created first and first on the search_path; and
   *replay*, where every layer's migrations are applied by our engine in
   their global order — work happens on copies of the migration
   directories in a temporary directory;
3. per layer, the catalogs of schema ``<layer>`` are compared
   (``inspect.diff``), the difference planned as DDL (:mod:`.plan`), written
   as ``<next global number>_<name>.sql`` into the copy, re-hashed, and
   applied to *replay* with the same engine that production uses — so a
   statement that does not run fails here, not in production;
4. finally the whole replayed schema must equal the desired one; only then
   are the new files copied into the real directories and their layers'
   atlas.sum rewritten. Any failure writes nothing.

The dev database itself is only connected to (and used as the maintenance
database for creating the scratch databases); none of its objects change.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DatabaseError, DbstackError, MigrationDirError, MigrationError
from .dsn import DatabaseConfig

SYNCED = "The migration directory is synced with the desired state, no changes to be made"
COMPLETE = "✅ Migration diff complete"


@dataclass
class LayerResult:
    layer: str
    file: Path | None = None  # the new file in the real directory
    statements: int = 0
    changes: list = field(default_factory=list)


@dataclass
class GenerateResult:
    layers: list[LayerResult]

    @property
    def written(self) -> list[Path]:
        return [r.file for r in self.layers if r.file is not None]


def check_name(name: str) -> None:
    from ..migrations.layers import check_migration_name

    check_migration_name(name, example="add_firewall_tables")


def check_dev_database(conn) -> None:
    """Connect once: a missing dev database gets the seed's advice."""
    import psycopg

    try:
        with psycopg.connect(**conn.connect_kwargs()) as pg:
            pg.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if getattr(exc, "sqlstate", None) == "3D000" or "does not exist" in text:
            raise DatabaseError(
                f"dev database {conn.dbname!r} does not exist on {conn.host}:{conn.port}",
                f'Run CREATE DATABASE "{conn.dbname}"; (e.g. psql -U postgres -c '
                f"'CREATE DATABASE {conn.dbname};') and run genmigrate again",
            ) from None
        from ..postgres import connect_error

        raise connect_error(conn.conn_spec(), exc) from None


def _line_of(text: str, position: int | None) -> int:
    if not position:
        return 0
    return text.count("\n", 0, max(0, position - 1)) + 1


def load_desired(conn, schema_dir: Path, layers: Sequence[str]) -> int:
    """Run every layer's schema files in the empty database behind conn; returns the file count."""
    import psycopg
    from psycopg import sql

    count = 0
    with psycopg.connect(**conn.connect_kwargs(), autocommit=True) as pg:
        for layer in layers:
            pg.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(layer)))
            pg.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(layer)))
            for f in sorted((schema_dir / layer).glob("*.sql"), key=lambda p: p.name.encode()):
                text = f.read_text(encoding="utf-8")
                if not text.strip():
                    continue
                try:
                    pg.execute(text)
                except psycopg.Error as exc:
                    diag = getattr(exc, "diag", None)
                    line = _line_of(text, int(diag.statement_position) if diag and diag.statement_position else None)
                    where = f"{f}:{line}" if line else str(f)
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise MigrationError(
                        f"the desired schema does not load: {where}: {first}",
                        "fix the schema file (objects of a layer may use those of earlier layers; "
                        "the layer's schema exists already)",
                    ) from None
                count += 1
    return count


def next_number(dirs: Sequence[Path], exclude: Sequence[str] = ()) -> str:
    """The next globally sequential version across all layer directories (0001, 0002, …)."""
    versions = []
    for d in dirs:
        if d.is_dir():
            versions += [p.name.split("_", 1)[0].removesuffix(".sql") for p in d.glob("*.sql") if p.name not in exclude]
    bad = [v for v in versions if not v.isdigit()]
    if bad:
        raise MigrationDirError(
            f"cannot number the new migration globally: version {bad[0]!r} is not a number",
            "genmigrate numbers files 0001, 0002, … across layers; rename the odd file",
        )
    if not versions:
        return "0001"
    width = max(4, max(len(v) for v in versions))
    return str(max(int(v) for v in versions) + 1).zfill(width)


def _copy_layers(out_dir: Path, layers: Sequence[str], into: Path) -> list[Path]:
    dirs = []
    for layer in layers:
        src, dst = out_dir / layer, into / layer
        dst.mkdir(parents=True)
        if src.is_dir():
            for p in src.iterdir():
                if p.is_file() and (p.suffix == ".sql" or p.name == "atlas.sum"):
                    shutil.copy2(p, dst / p.name)
        dirs.append(dst)
    return dirs


def _outside_layers(cat, layers: Sequence[str]) -> list[str]:
    names = [f"{t.schema}.{t.name}" for t in cat.tables if t.schema not in layers]
    names += [f"{v.schema}.{v.name}" for v in cat.views if v.schema not in layers]
    names += [f"{f.schema}.{f.name}" for f in cat.functions if f.schema not in layers]
    return names


def generate(
    cfg: DatabaseConfig,
    name: str,
    *,
    schema_dir: Path,
    out_dir: Path,
    layers: Sequence[str],
    out: Callable[[str], None] = print,
) -> GenerateResult:
    from ..inspect.catalog import read_catalog
    from ..inspect.diff import diff, render_changes
    from ..inspect.planner import plan, render
    from ..inspect.scratch import scratch_database
    from ..migrations import engine
    from ..migrations.directory import MigrationDir
    from ..migrations.layers import Layers

    check_name(name)
    cfg.require_dev()
    if not schema_dir.is_dir():
        raise MigrationDirError(
            f"desired schema directory {schema_dir} does not exist",
            "pass --schema DIR (holding one directory of .sql files per layer)",
        )
    missing = [layer for layer in layers if not (schema_dir / layer).is_dir()]
    if missing:
        raise MigrationDirError(
            f"{schema_dir} has no directory for layer(s) {', '.join(missing)}",
            f"create {schema_dir}/<layer>/ for each layer (an empty one means the layer has no objects)",
        )
    existing = [out_dir / layer for layer in layers if (out_dir / layer).is_dir()]
    if existing:
        Layers.of(existing).validate()  # checksum and version errors before any work
    server = cfg.conn_spec()
    check_dev_database(server)

    results = [LayerResult(layer) for layer in layers]
    with tempfile.TemporaryDirectory(prefix="genmigrate-") as tmp:
        work = _copy_layers(out_dir, layers, Path(tmp))
        with (
            scratch_database(server, "genmigrate_desired", admin_db=cfg.dbname) as want_db,
            scratch_database(server, "genmigrate_replay", admin_db=cfg.dbname) as have_db,
        ):
            load_desired(want_db, schema_dir, layers)
            _apply(engine, have_db, Layers.of(work), "replaying the existing migrations")
            desired_all = read_catalog(want_db, schemas=list(layers))
            stray = _outside_layers(read_catalog(want_db), layers)
            if stray:
                out(f"warning: ignoring objects outside the layer schemas: {', '.join(stray)}")
            for res, wdir in zip(results, work, strict=True):
                layer = res.layer
                out(f"==> {layer}: migrate diff {name}")
                desired = read_catalog(want_db, schemas=[layer])
                actual = read_catalog(have_db, schemas=[layer])
                changes = diff(desired, actual)
                if not changes:
                    continue
                steps = plan(desired, actual, changes)
                if not steps:
                    continue
                version = next_number(work)
                fname = f"{version}_{name}.sql"
                text = render(steps)
                (wdir / fname).write_text(text, encoding="utf-8")
                MigrationDir(wdir).write_sum()
                try:
                    _apply(engine, have_db, Layers.of(work), f"the generated {layer}/{fname}")
                except DbstackError as exc:
                    exc.output = f"-- {layer}/{fname} (not written):\n{text}\n"
                    raise
                res.file, res.statements, res.changes = out_dir / layer / fname, len(steps), changes
                out(f"    new: {fname} ({len(steps)} statement{'s' if len(steps) != 1 else ''})")
                for st in steps:
                    if re.match(r"(DROP (TABLE|SCHEMA|TYPE)\b|ALTER TABLE \S+ DROP COLUMN\b)", st.sql):
                        out(f"    warning: destroys data: {st.sql}")
            residual = diff(desired_all, read_catalog(have_db, schemas=list(layers)))
            if residual:
                raise MigrationError(
                    "the generated migrations do not reproduce the desired schema; nothing was written",
                    "write the remaining changes by hand (see the list above), or report the case",
                    output=render_changes(residual, desired_label="desired schema", actual_label="migrations"),
                )
        for res, wdir in zip(results, work, strict=True):
            if res.file is None:
                continue
            res.file.parent.mkdir(parents=True, exist_ok=True)
            if res.file.exists():
                raise MigrationDirError(f"{res.file} exists already", "run genmigrate again (it picks the next number)")
            shutil.copyfile(wdir / res.file.name, res.file)
            MigrationDir(res.file.parent).write_sum()
    out("")
    if not any(r.file for r in results):
        out(f"No changes: {SYNCED}; no migration file written.")
    out(COMPLETE)
    return GenerateResult(results)


def _apply(engine, conn, layers, what: str) -> None:
    try:
        engine.apply(conn, layers, engine.ApplyOptions())
    except DbstackError as exc:
        raise MigrationError(
            f"{what} failed on a scratch database: {exc.message}",
            exc.hint or "fix the migration so it applies to an empty database",
            output=exc.output,
        ) from None


def generate_with_atlas(
    cfg: DatabaseConfig,
    name: str,
    *,
    schema_dir: Path,
    out_dir: Path,
    layers: Sequence[str],
    out: Callable[[str], None] = print,
) -> list[Path]:
    """The seed's flow: `atlas migrate diff` per layer (config piped on stdin), then renumber globally.

    Atlas replays one layer's directory and loads that layer's schema files into
    a scratch database of the dev server, so a layer's desired files must stand
    alone there (create their schema, reference no other layer); the built-in
    engine has no such limit.
    """
    from ..inspect.scratch import scratch_database
    from ..migrations.directory import MigrationDir
    from ..migrations.layers import Layers
    from .atlas_bridge import atlas_executable, run_atlas
    from .atlas_hcl import piped_hcl

    check_name(name)
    cfg.require_dev()
    atlas_executable()
    missing = [layer for layer in layers if not (schema_dir / layer).is_dir()]
    if missing:
        raise MigrationDirError(
            f"{schema_dir} has no directory for layer(s) {', '.join(missing)}",
            f"create {schema_dir}/<layer>/ for each layer",
        )
    dirs = [out_dir / layer for layer in layers]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    Layers.of(dirs).validate()
    server = cfg.conn_spec()
    check_dev_database(server)
    written: list[Path] = []
    for layer, d in zip(layers, dirs, strict=True):
        out(f"==> {layer}: atlas migrate diff {name}")
        before = {p.name for p in d.glob("*.sql")}
        with scratch_database(server, "genmigrate_dev", admin_db=cfg.dbname) as dev:
            hcl = piped_hcl(layer, cfg.url(masked=False), f"file://{d}", dev_url=dev.url(masked=False))
            rc = run_atlas(
                ["migrate", "diff", name, "--to", f"file://{schema_dir / layer}"],
                hcl,
                env_name=layer,
                secrets=[cfg.password or ""],
            )
        if rc != 0:
            raise MigrationError(
                f"atlas migrate diff failed for layer {layer} (exit code {rc}); its message is above",
                f"Check {d}/ for conflicts",
            )
        new = sorted(p.name for p in d.glob("*.sql") if p.name not in before)
        pending = list(new)
        for fname in new:
            desc = fname.split("_", 1)[1] if "_" in fname else f"{name}.sql"
            target = f"{next_number(dirs, exclude=pending)}_{desc}"
            (d / fname).rename(d / target)
            pending.remove(fname)
            out(f"    rename: {fname} -> {target}")
            written.append(d / target)
        if new:
            MigrationDir(d).write_sum()
    out("")
    out(COMPLETE)
    return written
