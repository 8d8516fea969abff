"""Tasks for migration directories: hash, validate, new."""

from __future__ import annotations

import sys

from ._task import DB_HELP, DIR_FORMAT_HELP, DIR_HELP, layers, settings, task


@task(help={"db": DB_HELP, "dir": DIR_HELP, "dir_format": DIR_FORMAT_HELP})
def migrate_hash(c, db=None, dir=None, dir_format=None):
    """Write atlas.sum for every migration directory (like `atlas migrate hash`)."""
    from ..migrations.directory import version_problems
    from ..workflows import remember_own_sums

    ls = layers(c, db, dir, dir_format)
    # Atlas's `migrate hash` writes the sum of whatever *.sql files are there; our
    # own naming checks belong to migrate-validate, lint and apply, so here they
    # are only a note (on stderr: stdout stays the list of sums).
    for d in ls.dirs:
        hf = d.write_sum()
        remember_own_sums(settings(c), d, hf.total)
        print(f"{d.sum_path}: {len(hf.entries)} files, h1:{hf.total}")
    for _f, message, hint in version_problems(ls.files()):
        print(f"note: {message} — `inv migrate-validate`, lint and migrate refuse it ({hint})", file=sys.stderr)
    for w in ls.nul_warnings():  # Atlas hashes such a file; applying it is refused
        print(w, file=sys.stderr)


@task(help={"db": DB_HELP, "dir": DIR_HELP, "dir_format": DIR_FORMAT_HELP})
def migrate_validate(c, db=None, dir=None, dir_format=None):
    """Check atlas.sum against the files and versions across layers (exit 1 on a mismatch)."""
    ls = layers(c, db, dir, dir_format)
    ls.validate(nul_ok=True)
    for w in ls.nul_warnings():
        print(w, file=sys.stderr)
    n = len(ls.files())
    dirs = len(ls.dirs)
    print(
        f"ok: {n} migration file{'s' if n != 1 else ''} in {dirs} director{'ies' if dirs != 1 else 'y'} match atlas.sum"
    )


@task(
    help={
        "name": "description part of the new file name, e.g. add_users_phone",
        "db": DB_HELP,
        "dir": DIR_HELP,
        "layer": "layer (directory name) to add the file to, for layered databases",
    }
)
def migrate_new(c, name, db=None, dir=None, layer=None):
    """Create the next migration file (timestamp or sequential number) and re-hash."""
    path = layers(c, db, dir).new_file(name, layer)
    print(f"created {path}")
