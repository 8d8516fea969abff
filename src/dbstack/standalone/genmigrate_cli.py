"""``genmigrate [--schema DIR] [--out DIR] NAME``: write the migrations the desired schema needs.

Runs only against a database whose name ends in ``_dev`` (CONFIG_SOURCE /
CONFIG_FILE / VAULT_* as for ``migrate``); see :mod:`.genmigrate`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..cli import guarded


def parser(defaults) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="genmigrate",
        description="Generate one migration file per changed layer (bronze → bronzehistory → silver → gold), "
        "numbered globally across layers, by comparing the desired schema with the layers' "
        "migrations replayed on scratch databases of the _dev server.",
        epilog="The configured dbname must end with _dev. Configuration as for migrate: CONFIG_SOURCE=file "
        "(CONFIG_FILE) or vault (VAULT_ADDR, VAULT_TOKEN, VAULT_PATH).",
    )
    p.add_argument(
        "--schema",
        metavar="DIR",
        default=None,
        help=f"desired schema root: one directory of .sql files per layer (default: {defaults[0]})",
    )
    p.add_argument(
        "--out", metavar="DIR", default=None, help=f"migrations root: one directory per layer (default: {defaults[1]})"
    )
    p.add_argument(
        "--engine",
        choices=("native", "atlas"),
        default="native",
        help="native (built in, default) or atlas (`atlas migrate diff` per layer, config piped on stdin)",
    )
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    p.add_argument("name", help="migration name, e.g. add_firewall_tables")
    return p


def _defaults():
    from ..settings import load
    from .options import standalone_settings

    s = load()
    st = standalone_settings(s)
    return st, s.root


def _show(p: Path, root: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return str(p)


def main(argv: Sequence[str] | None = None) -> int:
    holder: dict = {}

    def run() -> None:
        from .config import load_database_config
        from .genmigrate import generate, generate_with_atlas

        st, root = _defaults()
        args = parser((_show(st.schema_dir, root), _show(st.migrations_dir, root))).parse_args(argv)
        holder["debug"] = args.debug
        cfg = load_database_config()
        schema = Path(args.schema).resolve() if args.schema else st.schema_dir
        out = Path(args.out).resolve() if args.out else st.migrations_dir
        gen = generate_with_atlas if args.engine == "atlas" else generate
        gen(cfg, args.name, schema_dir=schema, out_dir=out, layers=st.layers)

    debug = True if argv is not None and "--debug" in argv or "--debug" in sys.argv[1:] else None
    return guarded(run, debug=debug)


if __name__ == "__main__":
    sys.exit(main())
