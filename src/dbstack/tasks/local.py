"""Tasks for the local server and the dev / production workflows around it."""

from __future__ import annotations

import sys

from ._task import DB_HELP, DIR_HELP, TARGET_HELP, settings, task

BACKEND_HELP = (
    "local server backend: auto (Docker when its engine answers and the image is available, "
    "else embedded), docker or embedded (default: dbstack.backend)"
)
FORCE_HELP = "run even though the target is not a dev target (destroys data there)"


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _confirm(question: str) -> bool:
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


@task(help={"backend": BACKEND_HELP})
def db_up(c, backend=None):
    """Start the local PostgreSQL (container or embedded) and wait until it accepts connections."""
    from ..local.backend import get_backend

    b = get_backend(settings(c), backend)
    conn = b.up()
    ready = b.last_readiness
    print(f"ready: {conn.url(masked=True)} ({b.name}" + (f", waited {ready.elapsed:.2f}s" if ready else "") + ")")


@task(
    help={
        "backend": BACKEND_HELP,
        "volumes": "also delete this project's data volume (Docker) or data directory (embedded)",
    }
)
def db_down(c, backend=None, volumes=False):
    """Stop the local PostgreSQL; data is kept unless --volumes."""
    from ..local.backend import get_backend

    get_backend(settings(c), backend, start=False).down(volumes=volumes)


@task(
    help={
        "backend": BACKEND_HELP,
        "tail": "number of lines to show (default 100)",
        "follow": "keep printing new lines until Ctrl-C",
    }
)
def db_logs(c, backend=None, tail=None, follow=False):
    """Show the local PostgreSQL's log."""
    from ..errors import UsageError
    from ..local.backend import get_backend

    # No int default: invoke would then parse the value itself and fail with a traceback.
    try:
        lines = 100 if tail is None else int(str(tail).strip(), 10)
    except ValueError:
        lines = -1
    if lines < 0:
        raise UsageError(f"invalid --tail {tail!r}: expected a number of lines (0 or more)", "e.g. --tail 200")
    text = get_backend(settings(c), backend, start=False).logs(tail=lines, follow=follow)
    if text:
        print(text)


@task(help={"backend": BACKEND_HELP})
def db_status(c, backend=None):
    """Say whether the local PostgreSQL exists and runs, and where."""
    from ..local.backend import get_backend

    print(get_backend(settings(c), backend, start=False).status())


@task(help={"db": "database name (default: dbstack.database)", "target": TARGET_HELP})
def db_create(c, db=None, target=None):
    """Create the database unless it exists (starts the local server when needed)."""
    from .. import workflows

    workflows.db_create(settings(c), db=db, target=target)


@task(help={"db": DB_HELP, "dir": DIR_HELP, "target": TARGET_HELP, "force": FORCE_HELP})
def db_reset(c, db=None, dir=None, target=None, force=False):
    """One database: rebuilt from its migrations under a temporary name, then swapped in (dev; server kept)."""
    from .. import workflows

    workflows.db_reset(settings(c), db=db, dir=dir, target=target, force=force, progress=_progress)


@task(help={"backend": BACKEND_HELP, "db": DB_HELP, "force": "run even though the local target is not marked dev"})
def reset_db(c, backend=None, db=None, force=False):
    """Whole local server: this project's server and all its data recreated, then the database created and migrated."""
    from .. import workflows

    t = workflows.reset_db(settings(c), backend=backend, db=db, force=force, progress=_progress)
    print(
        f"reset-db done in {t.total:.1f}s ({t.backend}: server {t.server_start:.1f}s, "
        f"ready after {t.readiness:.2f}s, migrations {t.migration:.1f}s)"
    )


@task(
    optional_positional=["fresh"],
    help={
        "fresh": "drop and recreate the database first (loses its data); also as the word "
        "`fresh` after the task name, as in the seed's justfile",
        "db": DB_HELP,
        "dir": DIR_HELP,
        "target": TARGET_HELP,
        "force": FORCE_HELP,
    },
)
def dev_migrate_refresh(c, fresh=False, db=None, dir=None, target=None, force=False):
    """Re-hash the migration directories and apply (dev only; --fresh drops the database first)."""
    from .. import workflows

    workflows.dev_migrate_refresh(
        settings(c), fresh=fresh, db=db, dir=dir, target=target, force=force, progress=_progress
    )


@task(help={"db": DB_HELP, "dir": DIR_HELP, "target": TARGET_HELP})
def prod_migrate_preview(c, db=None, dir=None, target=None):
    """Preview a production migration: lint → status → dry run (changes nothing)."""
    from .. import workflows

    workflows.prod_migrate_preview(settings(c), db=db, dir=dir, target=target)


@task(
    help={
        "db": DB_HELP,
        "dir": DIR_HELP,
        "target": TARGET_HELP,
        "yes": "apply without asking (needed when there is no terminal)",
    }
)
def prod_migrate(c, db=None, dir=None, target=None, yes=False):
    """Production migration: lint → status → dry run → confirmation → apply; lint errors stop it."""
    from .. import workflows

    confirm = _confirm if sys.stdin.isatty() else None
    workflows.prod_migrate(settings(c), db=db, dir=dir, target=target, yes=yes, confirm=confirm, progress=_progress)


@task(help={})
def doctor(c):
    """Check the tools, ports, settings and migration directories the workflows need."""
    from ..doctor import report

    report(lambda: settings(c))
