"""invoke adapter helpers: the task decorator and settings from a Context.

Every task is made by :func:`task` below, which adds to ``invoke.task``:

- errors become one message and an exit code (``cli.guarded``); a docstring
  and ``help=`` for every parameter are mandatory;
- short flags come from one table (:data:`SHORT_FLAGS`), never from invoke's
  per-task guess, so a short flag means the same option in every task;
- ``optional_positional=[...]``: parameters that may be given as a bare word
  after the task name or left out (``inv kind-cnpg-setup [ENV]``,
  ``inv dev-migrate-refresh [fresh]``), see :class:`_OptionalPositional`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import invoke
from invoke.parser import Argument

from .. import settings as settings_mod
from ..cli import guarded

# The only short flags a task gets, the same option in every task. invoke's
# automatic ones (first free letter of the name) made `-d` mean --db in one
# task and --dry-run in another. Letters of invoke's core options
# (-c -d -D -e -f -F -h -l -p -r -R -T -V -w) are left alone, so that e.g.
# `inv migrate -h` stays help and `inv <task> -d` stays invoke's debug switch.
SHORT_FLAGS: dict[str, str] = {
    "dry_run": "n",  # as make -n, rsync -n, git -n
    "yes": "y",  # as apt-get -y
    "schema": "s",  # repeatable (`-s bronze -s silver`); the README's `db-inspect -s SCHEMA`
}


class _OptionalPositional(Argument):
    """A positional argument that may also be left out.

    invoke has no optional positional arguments (pyinvoke/invoke#159 is open,
    PR #635 was never merged). Its parser (invoke/parser/parser.py) asks
    ``missing_positional_args`` (arguments whose value is None) in two places:
    ``handle(token)`` (does this bare token fill a positional argument?) and
    ``complete_context`` (fail when a positional argument got no value). Only
    the caller tells the two apart, so this argument answers
    - to ``complete_context``: a placeholder (not missing; the task then uses
      its own default);
    - to ``handle``: None (a word after the task name fills it), except for a
      token that is an option (`-h`, `--help`) or another task's name: those
      keep their meaning, so `inv kind-cnpg-setup --help` and
      `inv dev-migrate-refresh migrate-status` do what they say.

    Isolated on purpose: invoke sees a plain positional argument with no
    default. Should a future invoke restructure those two methods, this
    answers None everywhere: only the bare form fails, with invoke's own "did
    not receive required positional arguments"; the word form and the --flag
    form keep working (tests/unit/test_task_cli.py checks both).
    """

    _given_default = "\0omitted"  # never a value a user can type (argv holds no NUL)

    @property
    def value(self) -> Any:
        if self._value is not None:
            return self._value
        return self._given_default if _parser_wants_no_word() else None

    @value.setter
    def value(self, arg: Any) -> None:
        self.set_value(arg, cast=True)

    def set_value(self, value: Any, cast: bool = True) -> None:
        # A bool option given as a word keeps the word (bool("oops") would be True): the task checks it.
        super().set_value(value, cast=cast and not (self.kind is bool and isinstance(value, str)))


def _parser_wants_no_word(depth: int = 8) -> bool:
    """Whether invoke's parser, asking now, must not give a bare token to an optional positional argument."""
    import sys
    from types import FrameType

    f: FrameType | None = sys._getframe(2)  # skip this function and the property getter
    for _ in range(depth):
        if f is None:
            return False
        if f.f_code.co_name == "complete_context":
            return True
        if f.f_code.co_name == "handle":
            token, machine = f.f_locals.get("token"), f.f_locals.get("self")
            return isinstance(token, str) and (token.startswith("-") or token in getattr(machine, "contexts", ()))
        f = f.f_back
    return False


class Task(invoke.Task):
    """invoke.Task with dbstack's short flags and optional positional arguments."""

    def __init__(self, body: Callable, *, optional_positional: Iterable[str] = (), **kwargs: Any) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(body, **kwargs)
        self.optional_positional = tuple(optional_positional)
        # After the required positional arguments: those are filled first.
        self.positional = [p for p in self.positional if p not in self.optional_positional] + list(
            self.optional_positional
        )

    def arg_opts(self, name: str, default: Any, taken_names: set) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        if short:
            opts["names"] = [*opts["names"], short]
        if name in self.optional_positional:
            # No default at invoke's level (see _OptionalPositional); the task's own applies.
            opts["default"] = None
            opts["kind"] = type(default)
        return opts

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        saved = dict(self.help)  # invoke pops help texts as it uses them: keep them for the next call
        try:
            args = super().get_arguments(ignore_unknown_help)
        finally:
            self.help = saved
        for arg in args:
            if arg.name in self.optional_positional:
                arg.__class__ = _OptionalPositional
        return args


def _fill_optional(
    task_name: str, sig: inspect.Signature, spec: tuple[str, ...], bound: inspect.BoundArguments
) -> None:
    """Optional positional arguments: omitted → the parameter's default; a bool's word → True."""
    from ..errors import UsageError

    for name in spec:
        default = sig.parameters[name].default
        value = bound.arguments.get(name)
        if value in (None, "", _OptionalPositional._given_default):  # `--env ""` too, as before
            bound.arguments[name] = default
        elif isinstance(default, bool) and isinstance(value, str):
            word = name.replace("_", "-")
            if value != word:
                raise UsageError(
                    f"{task_name}: unknown word {value!r} (the only word it takes is `{word}`)",
                    f"`inv {task_name} {word}` (the same as --{word}), or `inv {task_name}`",
                )
            bound.arguments[name] = True


def task(*args: Any, **kwargs: Any) -> Callable:
    """invoke.task, plus: errors become one message and an exit code; help= is mandatory.

    optional_positional=["env"]: `inv TASK staging`, `inv TASK --env staging` and
    `inv TASK` (the parameter's default) all work. For a bool parameter the
    word is the option's own name: `inv TASK fresh` is `inv TASK --fresh`.
    """

    def deco(fn: Callable) -> invoke.Task:
        params = list(inspect.signature(fn).parameters)[1:]
        missing = [p for p in params if p not in kwargs.get("help", {})]
        if missing or not (fn.__doc__ or "").strip():
            raise TypeError(f"task {fn.__name__}: docstring and help= for {missing} are required")
        spec = tuple(kwargs.get("optional_positional", ()))
        sig = inspect.signature(fn)
        for name in spec:
            if sig.parameters[name].default in (None, inspect.Parameter.empty):
                raise TypeError(f"task {fn.__name__}: optional positional {name!r} needs a default")
        task_name = fn.__name__.replace("_", "-")

        def call(c: invoke.Context, a: tuple, kw: dict) -> None:
            if not spec:
                fn(c, *a, **kw)
                return
            bound = sig.bind(c, *a, **kw)
            _fill_optional(task_name, sig, spec, bound)
            fn(*bound.args, **bound.kwargs)

        @functools.wraps(fn)
        def wrapper(c: invoke.Context, *a: Any, **kw: Any) -> None:
            code = guarded(lambda: call(c, a, kw))
            if code:
                raise invoke.Exit(code=code)

        return invoke.task(*args, klass=Task, **kwargs)(wrapper)

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
    """The Layers a task works on (migrations.commands.choose_layers: --dir wins over --db)."""
    from ..migrations.commands import choose_layers

    return choose_layers(settings(c), db=db, dir=dir, dir_format=dir_format)
