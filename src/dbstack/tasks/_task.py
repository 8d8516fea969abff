"""invoke adapter helpers: the task decorator and settings from a Context."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import invoke

from .. import settings as settings_mod
from ..cli import guarded


def task(*args: Any, **kwargs: Any) -> Callable:
    """invoke.task, plus: errors become one message and an exit code; help= is mandatory."""

    def deco(fn: Callable) -> invoke.Task:
        params = list(inspect.signature(fn).parameters)[1:]
        missing = [p for p in params if p not in kwargs.get("help", {})]
        if missing or not (fn.__doc__ or "").strip():
            raise TypeError(f"task {fn.__name__}: docstring and help= for {missing} are required")

        @functools.wraps(fn)
        def wrapper(c: invoke.Context, *a: Any, **kw: Any) -> None:
            code = guarded(lambda: fn(c, *a, **kw))
            if code:
                raise invoke.Exit(code=code)

        return invoke.task(*args, **kwargs)(wrapper)

    if len(args) == 1 and callable(args[0]) and not kwargs:
        raise TypeError("use @task(help={...}) so every parameter is documented")
    return deco


def settings(c: invoke.Context) -> settings_mod.Settings:
    import os

    return settings_mod.from_mapping(c.config.get("dbstack", {}), settings_mod.find_root(), env=os.environ)


# Help texts shared by every task that picks migrations or a database.
DB_HELP = "configured database (default: dbstack.database, `mydatabase`)"
DIR_HELP = "a migration directory to use instead of the database's configured ones"
DIR_FORMAT_HELP = "directory format: atlas (default) or golang-migrate (*.up.sql)"
TARGET_HELP = "where the database lives: local (default), cluster, cnpg or one from invoke.yaml"


def layers(c: invoke.Context, db: str | None, dir: str | None, dir_format: str | None = None):
    """The Layers a task works on: --dir wins over --db."""
    from ..migrations.layers import Layers

    s = settings(c)
    fmt = dir_format or (s.db(db).format if not dir else "atlas")
    return Layers.of(s.migration_dirs(db, dir), fmt)
