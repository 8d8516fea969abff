"""``migrate``: apply the migrations this tool carries to the configured database.

    migrate                      apply every pending file of every layer
    migrate --dry-run            print what would run, change nothing
    migrate --status             Atlas's `migrate status` for the database
    migrate --baseline VERSION   start an existing database at VERSION
    migrate --allow-dirty        apply every file on top of an existing schema
    migrate hash                 re-hash every layer's atlas.sum (source checkout only)
    migrate --engine atlas       drive the Atlas CLI instead (config piped on stdin)

Hints in its error messages name these options and commands (the engine's
own hints name `inv` tasks; :func:`standalone_hint` rewords them).

The database comes from CONFIG_SOURCE (file: CONFIG_FILE, default
config.yaml; vault: VAULT_ADDR, VAULT_TOKEN, VAULT_PATH); no password is
accepted on the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Sequence

from ..cli import guarded
from ..errors import DbstackError, MigrationError, UsageError

ENGINES = ("native", "atlas")
COMMANDS = ("apply", "hash")
EXEC_ORDERS = ("linear", "linear-skip", "non-linear")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="migrate",
        description="Apply the embedded migrations of every layer (one global version order, "
        "one atlas_schema_revisions table) to the database named by CONFIG_SOURCE.",
        epilog="Configuration: CONFIG_SOURCE=file (CONFIG_FILE, default config.yaml, `database:` block) "
        "or CONFIG_SOURCE=vault (VAULT_ADDR, VAULT_TOKEN, VAULT_PATH=<mount>/<path>).",
    )
    p.add_argument(
        "command",
        nargs="?",
        choices=COMMANDS,
        default="apply",
        help="apply (default) or hash: rewrite every layer's atlas.sum, like `atlas migrate hash` "
        "(only where the migrations are a source checkout, not inside migrate.pyz)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the pending files without executing them")
    p.add_argument("--status", action="store_true", help="show applied and pending migrations, change nothing")
    p.add_argument(
        "--baseline",
        metavar="VERSION",
        help="on a database without revisions, record VERSION as applied and start after it",
    )
    p.add_argument(
        "--allow-dirty",
        action="store_true",
        help="on a database without revisions that already has tables: apply every file on top",
    )
    p.add_argument(
        "--exec-order",
        choices=EXEC_ORDERS,
        default="linear",
        help="a file older than the last applied one: refuse (linear, default), ignore (linear-skip) "
        "or apply it first (non-linear)",
    )
    p.add_argument(
        "--lock-timeout",
        metavar="DURATION",
        default=None,
        help="how long to wait for another migration's lock, e.g. 30s (default 10s)",
    )
    p.add_argument(
        "--revisions-schema",
        metavar="SCHEMA",
        default=None,
        help="schema of the atlas_schema_revisions table (default: Atlas's rule)",
    )
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="native",
        help="native (built in, default) or atlas (the Atlas CLI on PATH; config piped on stdin)",
    )
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    return p


def run(args: argparse.Namespace, *, out=print, err=None) -> None:
    from .bundled_migrations import find_migrations
    from .config import load_database_config

    err = err or (lambda line: print(line, file=sys.stderr))
    if args.command == "hash":
        if args.status or args.dry_run or args.baseline or args.allow_dirty:
            raise UsageError(
                "`migrate hash` takes no --status, --dry-run, --baseline or --allow-dirty",
                "run `migrate hash` on its own",
            )
        hash_layers(find_migrations(), out=out)
        return
    if args.status and (args.dry_run or args.baseline or args.allow_dirty):
        raise UsageError(
            "--status cannot be combined with --dry-run, --baseline or --allow-dirty",
            "run `migrate --status` on its own",
        )
    cfg = load_database_config()
    mig = find_migrations()
    if args.engine == "atlas":
        from .atlas_bridge import migrate_with_atlas

        extra = (
            (["--allow-dirty"] if args.allow_dirty else [])
            + (["--exec-order", args.exec_order] if args.exec_order != "linear" else [])
            + (["--lock-timeout", args.lock_timeout] if args.lock_timeout else [])
            + (["--revisions-schema", args.revisions_schema] if args.revisions_schema else [])
        )
        migrate_with_atlas(cfg, mig, status=args.status, dry_run=args.dry_run, baseline=args.baseline, extra=extra)
        return
    from ..migrations import engine

    layers = mig.to_layers()
    conn = cfg.conn_spec()
    try:
        if args.status:
            out(engine.status(conn, layers, revisions_schema=args.revisions_schema or None).render_text().rstrip("\n"))
            return
        opts = engine.ApplyOptions(
            dry_run=args.dry_run,
            baseline=args.baseline or None,
            allow_dirty=args.allow_dirty,
            exec_order=args.exec_order,
            revisions_schema=args.revisions_schema or None,
        )
        if args.lock_timeout:
            opts = dataclasses.replace(opts, lock_timeout=engine.parse_duration(args.lock_timeout))
        try:
            report = engine.apply(conn, layers, opts, out=err)
        except MigrationError as exc:
            raise with_layer_hint(exc, mig) from None
    except DbstackError as exc:
        exc.hint = standalone_hint(exc.hint, embedded=mig.embedded)
        raise
    out(report.render_text().rstrip("\n"))


def hash_layers(mig, *, out=print) -> None:
    """`migrate hash`: Atlas's `migrate hash` for every layer of a source checkout."""
    if mig.embedded:
        raise UsageError(
            f"migrate.pyz carries a copy of its migrations ({mig.origin}); re-hashing that copy "
            "would change nothing that gets deployed",
            f"run `migrate hash` from the dbstack checkout that holds {mig.display_root or 'them'}, "
            "then rebuild migrate.pyz",
        )
    for d in mig.to_layers().dirs:
        hf = d.write_sum()
        out(f"{d.sum_path}: {len(hf.entries)} files, h1:{hf.total}")


# The engine's hints name `inv` tasks and options of `inv migrate`; `migrate`
# has its own (regex, replacement for a checkout, replacement inside migrate.pyz).
_REWORDS = [
    (
        r"`inv migrate-hash`",
        "`migrate hash`",
        "`migrate hash` in the checkout migrate.pyz was built from (then rebuild migrate.pyz)",
    ),
    (r"`inv migrate-status`", "`migrate --status`", None),
    (r"`inv migrate-dry`", "`migrate --dry-run`", None),
    (r"`inv migrate`", "`migrate`", None),
    (r" ?\(`inv migrate-new` picks the next one\)", "", None),
    (r" ?\(e\.g\. `inv db-up` / `inv reset-db` for the local one\)", "", None),
    (
        r"or pick another with --db",
        "or name another one as dbname in the configuration (CONFIG_FILE or the Vault secret)",
        None,
    ),
    (r" ?\(or set revisions_schema for the database in invoke\.yaml\)", "", None),
    (
        r"read the directory with --dir-format golang-migrate \(only \*\.up\.sql are migrations then\)",
        "migrate reads Atlas-format layers only: move the .down.sql files out of the layer",
        None,
    ),
]


def standalone_hint(hint: str, *, embedded: bool = False) -> str:
    """The engine's hint in `migrate`'s own words (its options and commands, never `inv …`)."""
    for pattern, checkout, pyz in _REWORDS:
        repl = pyz if embedded and pyz is not None else checkout
        hint = re.sub(pattern, repl.replace("\\", "\\\\"), hint)  # a literal replacement
    return hint


def with_layer_hint(exc: MigrationError, mig) -> MigrationError:
    """Seed 004: a failure in one layer points at that layer's directory."""
    layer = mig.layer_of(exc.version) if exc.version else None
    if layer:
        extra = f"Check {mig.layer_label(layer)} for conflicts"
        exc.hint = f"{exc.hint}; {extra}" if exc.hint else extra
    return exc


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return guarded(lambda: run(args), debug=True if args.debug else None)


if __name__ == "__main__":
    sys.exit(main())
