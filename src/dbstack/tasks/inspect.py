"""Tasks that look at a schema: inspect (HCL, SQL, JSON), ERD, drift and lint."""

from __future__ import annotations

import sys

from ._task import DB_HELP, DIR_FORMAT_HELP, DIR_HELP, TARGET_HELP, settings, task

SCHEMA_HELP = "only this schema (repeatable; default: every user schema, or the URL's search_path)"


def _schemas(schema) -> list[str] | None:
    if not schema:
        return None
    return [schema] if isinstance(schema, str) else list(schema)


def _write(path, text: str) -> None:
    from pathlib import Path

    from ..errors import UsageError
    from ..files import atomic_write

    p = Path(path)
    try:
        atomic_write(p, text)
    except OSError as exc:
        raise UsageError(f"cannot write {p}: {exc.strerror}", "pass --output with a writable path") from None


OWNERS_HELP = "also read and print object owners (left out by default: they differ between servers)"


@task(
    iterable=["schema"],
    help={
        "db": DB_HELP,
        "target": TARGET_HELP,
        "schema": SCHEMA_HELP,
        "json": "print the catalog model as JSON instead of HCL",
        "owners": OWNERS_HELP,
    },
)
def db_inspect(c, db=None, target=None, schema=None, json=False, owners=False):
    """Show the live schema as Atlas-style HCL (or --json), without Atlas."""
    import json as jsonlib

    from ..inspect.catalog import inspect_target
    from ..inspect.hcl import render_hcl

    cat = inspect_target(settings(c), db=db, target=target, schemas=_schemas(schema), owners=owners)
    if json:
        print(jsonlib.dumps(cat.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_hcl(cat), end="")


@task(
    iterable=["schema"],
    help={
        "db": DB_HELP,
        "target": TARGET_HELP,
        "schema": SCHEMA_HELP,
        "output": "write the script to this file instead of stdout",
        "owners": OWNERS_HELP,
    },
)
def db_inspect_sql(c, db=None, target=None, schema=None, output=None, owners=False):
    """Show the live schema as SQL that recreates it on an empty database."""
    from ..inspect.catalog import inspect_target
    from ..inspect.sql import render_sql

    s = settings(c)
    text = render_sql(inspect_target(s, db=db, target=target, schemas=_schemas(schema), owners=owners))
    if output:
        _write(s.resolve(output), text)
        print(f"wrote {s.resolve(output)}")
    else:
        print(text, end="")


@task(
    iterable=["schema"],
    help={
        "db": DB_HELP,
        "target": TARGET_HELP,
        "schema": SCHEMA_HELP,
        "output": "file to write (default: docs/erd-<db>.mmd, or .html with --format html)",
        "format": "mmd (Mermaid erDiagram, default) or html (self-contained page, works offline)",
        "layout": "html layout engine: auto (Graphviz dot if installed, else grandalf), graphviz or grandalf",
    },
)
def db_erd(c, db=None, target=None, schema=None, output=None, format="mmd", layout="auto"):
    """Draw the schema as an entity-relationship diagram (Mermaid, or an offline HTML page)."""
    from ..errors import UsageError
    from ..inspect.catalog import inspect_target
    from ..inspect.erd import diagram, render_html, render_mermaid

    if format not in ("mmd", "html"):
        raise UsageError(f"unknown ERD format {format!r}", "use --format mmd or --format html")
    if layout not in ("auto", "graphviz", "grandalf"):
        raise UsageError(f"unknown ERD layout {layout!r}", "use --layout auto, graphviz or grandalf")
    s = settings(c)
    cat = inspect_target(s, db=db, target=target, schemas=_schemas(schema))
    path = s.resolve(output) if output else s.root / "docs" / f"erd-{db or s.database}.{format}"
    engine = ""
    if format == "html":
        from ..inspect.erd_layout import layout as lay_out

        lay = lay_out(diagram(cat), layout)
        engine = lay.engine
        if lay.note:
            print(lay.note, file=sys.stderr)
        text = render_html(cat, lay=lay)
    else:
        text = render_mermaid(cat)
    _write(path, text)
    print(
        f"wrote {path} ({len(cat.tables)} tables, {sum(len(t.foreign_keys) for t in cat.tables)} foreign keys"
        + (f"; layout: {engine})" if engine else ")")
    )


@task(
    help={
        "db": DB_HELP,
        "target": TARGET_HELP,
        "dir": DIR_HELP,
        "dir_format": DIR_FORMAT_HELP,
        "json": "print the differences as JSON",
        "cache": "reuse the schema an identical directory gave on this server version "
        "(.dbstack/cache); --no-cache replays every time",
        "sql": "after the report, print the SQL that brings the database back to its migrations (not applied)",
        "owners": "also compare object owners (the replay's objects belong to the role you connect as)",
    }
)
def db_drift(c, db=None, target=None, dir=None, dir_format=None, json=False, cache=True, sql=False, owners=False):
    """Compare the live schema with the migrations replayed on a scratch database (exit 2 on drift)."""
    import json as jsonlib

    from ..analysis.drift import check_drift
    from ..analysis.migrate_diff import render_repair, repair_sql

    report = check_drift(settings(c), db=db, target=target, dir=dir, dir_format=dir_format, cache=cache, owners=owners)
    if json:
        data = report.to_json()
        if sql:
            statements, unsupported = repair_sql(report)
            data["sql"] = {"applied": False, "statements": statements, "unsupported": unsupported}
        text = jsonlib.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = report.render_text() + (render_repair(report) if sql else "")
    if report.in_sync:
        print(text, end="")
    else:
        report.check(output=text)


@task(
    help={
        "db": DB_HELP,
        "target": TARGET_HELP,
        "dir": DIR_HELP,
        "dir_format": DIR_FORMAT_HELP,
        "latest": "lint the newest N files (default 1)",
        "git_base": "lint the files added or changed since this git ref (e.g. origin/main) and all after them",
        "strict": "treat warnings as errors",
        "json": "print the findings as JSON",
    }
)
def migrate_lint(
    c, db=None, target=None, dir=None, dir_format=None, latest=None, git_base=None, strict=False, json=False
):
    """Lint migrations like `atlas migrate lint` (destructive, data-dependent, locking ...), offline."""
    import json as jsonlib

    from ..analysis.lint import run_lint
    from ..errors import LintFailed, UsageError

    if latest is not None:
        try:
            latest = int(latest)
        except ValueError:
            raise UsageError(f"--latest must be a number, got {latest!r}", "pass e.g. --latest 1") from None
    report = run_lint(
        settings(c),
        db=db,
        target=target,
        dir=dir,
        dir_format=dir_format,
        latest=latest,
        git_base=git_base,
        strict=strict,
    )
    text = jsonlib.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n" if json else report.render_text()
    if report.failed:
        n = len(report.errors)
        raise LintFailed(
            f"migrate-lint: {n} error{'s' if n != 1 else ''}"
            f"{' (warnings count as errors with --strict)' if strict else ''}",
            "fix the findings, or silence an intended one with `-- atlas:nolint CODE` above the statement",
            output=text,
        )
    print(text, end="")


@task(
    help={
        "name": "description part of the new file name, e.g. add_users_phone",
        "db": DB_HELP,
        "target": "a dev target (default: local); others are refused",
        "dir": DIR_HELP,
        "layer": "layer (directory name) to add the file to, for layered databases",
        "force": "write the planned file even when replaying it does not reproduce the live schema",
        "cache": "reuse the schema an identical directory gave on this server version (.dbstack/cache)",
    }
)
def migrate_diff(c, name, db=None, target=None, dir=None, layer=None, force=False, cache=True):
    """Turn changes made by hand in the dev database into the next migration file (verified, re-hashed, linted)."""
    from ..analysis.migrate_diff import migrate_diff as run

    s = settings(c)
    result = run(s, name, db=db, target=target, layer=layer, dir=dir, force=force, cache=cache)
    print(result.render_text(s.root), end="")
