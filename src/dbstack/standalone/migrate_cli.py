"""``migrate``: apply the migrations this tool carries to the configured database.

    migrate                      apply every pending file of every layer
    migrate --dry-run            print what would run, change nothing
    migrate --status             Atlas's `migrate status` for the database
    migrate --baseline VERSION   start an existing database at VERSION
    migrate --engine atlas       drive the Atlas CLI instead (config piped on stdin)

The database comes from CONFIG_SOURCE (file: CONFIG_FILE, default
config.yaml; vault: VAULT_ADDR, VAULT_TOKEN, VAULT_PATH); no password is
accepted on the command line.
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import Sequence

from ..cli import guarded
from ..errors import DbstackError, MigrationError, UsageError

ENGINES = ("native", "atlas")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="migrate",
        description="Apply the embedded migrations of every layer (one global version order, "
                    "one atlas_schema_revisions table) to the database named by CONFIG_SOURCE.",
        epilog="Configuration: CONFIG_SOURCE=file (CONFIG_FILE, default config.yaml, `database:` block) "
               "or CONFIG_SOURCE=vault (VAULT_ADDR, VAULT_TOKEN, VAULT_PATH=<mount>/<path>).")
    p.add_argument("--dry-run", action="store_true", help="print the pending files without executing them")
    p.add_argument("--status", action="store_true", help="show applied and pending migrations, change nothing")
    p.add_argument("--baseline", metavar="VERSION",
                   help="on a database without revisions, record VERSION as applied and start after it")
    p.add_argument("--engine", choices=ENGINES, default="native",
                   help="native (built in, default) or atlas (the Atlas CLI on PATH; config piped on stdin)")
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    return p


def run(args: argparse.Namespace, *, out=print, err=None) -> None:
    from .config import load_database_config
    from .embedded import find_migrations

    err = err or (lambda line: print(line, file=sys.stderr))
    if args.status and (args.dry_run or args.baseline):
        raise UsageError("--status cannot be combined with --dry-run or --baseline",
                         "run `migrate --status` on its own")
    cfg = load_database_config()
    mig = find_migrations()
    if args.engine == "atlas":
        from .atlas_bridge import migrate_with_atlas

        migrate_with_atlas(cfg, mig, status=args.status, dry_run=args.dry_run, baseline=args.baseline)
        return
    from ..migrations import engine

    layers = mig.to_layers()
    conn = cfg.conn_spec()
    if args.status:
        out(engine.status(conn, layers).render_text().rstrip("\n"))
        return
    opts = engine.ApplyOptions(dry_run=args.dry_run, baseline=args.baseline or None)
    try:
        report = engine.apply(conn, layers, opts, out=err)
    except MigrationError as exc:
        raise with_layer_hint(exc, mig) from None
    out(report.render_text().rstrip("\n"))


_VERSION = re.compile(r'from version "([^"]+)": |applying version (\S+) failed')


def with_layer_hint(exc: DbstackError, mig) -> DbstackError:
    """Seed 004: a failure in one layer points at that layer's directory."""
    m = None
    for m in _VERSION.finditer(exc.message):
        pass  # the last match: a statement's own text may contain the phrase
    version = (m.group(1) or m.group(2)) if m else None
    layer = mig.layer_of(version) if version else None
    if layer:
        extra = f"Check {mig.layer_label(layer)} for conflicts"
        exc.hint = f"{exc.hint}; {extra}" if exc.hint else extra
    return exc


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return guarded(lambda: run(args), debug=True if args.debug else None)


if __name__ == "__main__":
    sys.exit(main())
