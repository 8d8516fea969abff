"""The task layer's command line, through invoke's real parser (issue 14).

- optional positional words: `inv kind-cnpg-setup [ENV]`, `inv cnpg-psql [ENV]`,
  `inv dev-migrate-refresh [fresh]` (one mechanism, tasks/_task.py);
- short flags: one long option, one short flag (or none) in every task;
- reset-db and db-reset say in their first words what they reset.
"""

from __future__ import annotations

import copy
import subprocess

import pytest
from invoke import Program

from dbstack.tasks import _task, ns
from testpaths import INV, ROOT

# invoke's own options (`inv --help`): a task's short flag must not hide one.
CORE_SHORT = set("cdDefFhlprRTVw")


def _arguments():
    """(task name, Argument) for every option of every task, from a copy (nothing shared is touched)."""
    for name, t in sorted(ns.tasks.items()):
        for arg in copy.deepcopy(t).get_arguments():
            yield name, arg


def _parse(*argv: str):
    """What invoke's parser makes of `inv ARGV`: [(task, kwargs)], without running anything."""
    p = Program(namespace=ns)
    p.create_config()
    p.parse_core(["inv", *argv])
    p.parse_collection()
    p.parse_tasks()
    return [(ctx.name, ctx.as_kwargs) for ctx in p.tasks]


def _run(*argv: str) -> int:
    """`inv ARGV` in this process (invoke.Program); its exit code."""
    with pytest.raises(SystemExit) as e:
        Program(namespace=ns).run(["inv", *argv])
        raise SystemExit(0)
    return e.value.code or 0


# --------------------------------------------------------------------------- short flags


def test_every_long_option_has_one_short_flag_in_every_task():
    shorts: dict[str, set[str]] = {}
    for _task_name, arg in _arguments():
        shorts.setdefault(arg.name, set()).add(tuple(n for n in arg.nicknames))
    differ = {opt: s for opt, s in shorts.items() if len(s) > 1}
    assert not differ, f"options with different short flags in different tasks: {differ}"
    assert {opt: s.pop() for opt, s in shorts.items() if s != {()}} == {
        opt: (short,) for opt, short in _task.SHORT_FLAGS.items() if opt in shorts
    }


def test_a_short_flag_names_one_option_and_hides_no_core_option():
    owner: dict[str, str] = {}
    for task_name, arg in _arguments():
        for nick in arg.nicknames:
            assert nick not in CORE_SHORT, f"{task_name}: -{nick} hides invoke's core -{nick}"
            assert owner.setdefault(nick, arg.name) == arg.name, f"-{nick} is --{owner[nick]} and --{arg.name}"


def test_the_short_flags_parse():
    assert _parse("cnpg-deploy", "--env", "dev", "-n") == [("cnpg-deploy", {"env": "dev", "dry_run": True, "db": None})]
    assert dict(_parse("prod-migrate", "-y"))["prod-migrate"]["yes"] is True


def test_core_short_options_still_work_after_a_task():
    cp = subprocess.run([INV, "migrate", "-h"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0 and "Usage: inv[oke] [--core-opts] migrate" in cp.stdout


# --------------------------------------------------------------------------- optional positional words


@pytest.mark.parametrize(
    "argv, env",
    [
        ((), None),  # the task's default (dev) applies when it runs
        (("staging",), "staging"),
        (("--env", "prod"), "prod"),
        (("--dry-run", "prod"), "prod"),  # the word may follow the options
    ],
)
@pytest.mark.parametrize("task", ["kind-cnpg-setup", "cnpg-psql"])
def test_environment_word_forms_parse(task, argv, env):
    [(name, kwargs)] = _parse(task, *argv)
    assert name == task and kwargs["env"] == env


def test_a_word_then_another_task_runs_both():
    parsed = _parse("kind-cnpg-setup", "staging", "--dry-run", "cnpg-status", "--env", "prod", "-n")
    assert [(n, kw["env"], kw["dry_run"]) for n, kw in parsed] == [
        ("kind-cnpg-setup", "staging", True),
        ("cnpg-status", "prod", True),
    ]
    parsed = _parse("dev-migrate-refresh", "fresh", "migrate-status")
    assert [n for n, _ in parsed] == ["dev-migrate-refresh", "migrate-status"]
    assert parsed[0][1]["fresh"] == "fresh"  # the task turns the word into True (below)
    parsed = _parse("dev-migrate-refresh", "--fresh", "migrate-status")
    assert [n for n, _ in parsed] == ["dev-migrate-refresh", "migrate-status"] and parsed[0][1]["fresh"] is True


def test_an_option_or_a_task_name_is_never_taken_as_the_word():
    parsed = _parse("dev-migrate-refresh", "migrate-status")
    assert [n for n, _ in parsed] == ["dev-migrate-refresh", "migrate-status"] and parsed[0][1]["fresh"] is None
    parsed = _parse("kind-cnpg-setup", "cnpg-status", "--env", "prod")
    assert [(n, kw["env"]) for n, kw in parsed] == [("kind-cnpg-setup", None), ("cnpg-status", "prod")]
    for argv in (("kind-cnpg-setup", "--help"), ("dev-migrate-refresh", "-h")):
        cp = subprocess.run([INV, *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0 and f"Usage: inv[oke] [--core-opts] {argv[0]} " in cp.stdout, cp.stderr


@pytest.fixture
def refresh_calls(monkeypatch):
    """dev-migrate-refresh with the workflow replaced by a recorder."""
    from dbstack import workflows

    calls = []
    monkeypatch.setattr(workflows, "dev_migrate_refresh", lambda s, **kw: calls.append(kw))
    monkeypatch.chdir(ROOT)
    return calls


@pytest.mark.parametrize(
    "argv, fresh", [((), False), (("fresh",), True), (("--fresh",), True), (("--db", "mydatabase", "fresh"), True)]
)
def test_dev_migrate_refresh_fresh_as_a_word_or_a_flag(refresh_calls, argv, fresh):
    assert _run("dev-migrate-refresh", *argv) == 0
    assert [c["fresh"] for c in refresh_calls] == [fresh]


def test_dev_migrate_refresh_any_other_word_is_one_usage_error(refresh_calls, capsys):
    assert _run("dev-migrate-refresh", "refresh") == 1
    err = capsys.readouterr().err
    assert refresh_calls == []
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "unknown word 'refresh'" in errors[0] and "`fresh`" in errors[0]
    assert "Traceback" not in err


def test_a_task_called_from_python_gets_the_defaults(refresh_calls):
    from invoke import Context

    from dbstack.tasks import local

    c = Context()
    local.dev_migrate_refresh(c)
    local.dev_migrate_refresh(c, "fresh")
    assert [c["fresh"] for c in refresh_calls] == [False, True]


def test_without_the_parser_hook_only_the_bare_form_fails(monkeypatch):
    """A future invoke that no longer calls `complete_context`: the explicit forms keep working."""
    monkeypatch.setattr(_task, "_parser_wants_no_word", lambda depth=8: False)
    assert _parse("kind-cnpg-setup", "staging")[0][1]["env"] == "staging"
    assert _parse("kind-cnpg-setup", "--env", "prod")[0][1]["env"] == "prod"
    assert _parse("dev-migrate-refresh", "--fresh")[0][1]["fresh"] is True
    from invoke.exceptions import ParseError

    with pytest.raises(ParseError, match="did not receive required positional arguments: 'env'"):
        _parse("kind-cnpg-setup")


def test_bare_form_through_inv():
    cp = subprocess.run([INV, "cnpg-psql", "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert "dev-mydatabase-db" in cp.stdout


# --------------------------------------------------------------------------- reset-db vs db-reset


def test_reset_db_and_db_reset_say_what_they_reset_first():
    listing = subprocess.run([INV, "--list"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    flat = " ".join(listing.split())
    assert "reset-db Whole local server:" in flat
    assert "db-reset One database:" in flat
    for name, first in (("reset-db", "Whole local server:"), ("db-reset", "One database:")):
        cp = subprocess.run([INV, "--help", name], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert cp.stdout.split("Docstring:\n", 1)[1].lstrip().startswith(first)
    readme = (ROOT / "README.md").read_text()
    assert "| `inv reset-db [--backend B]` | whole local server:" in readme
    assert "| `inv db-reset` | one database:" in readme
