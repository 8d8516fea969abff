"""Pieces of the standalone tools that need no server: the zipapp bootstrap, CLI errors, layer hints."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from dbstack.errors import MigrationError
from dbstack.standalone import pyz_bootstrap
from dbstack.standalone.bundled_migrations import EmbeddedMigrations
from dbstack.standalone.migrate_cli import with_layer_hint

ROOT = Path(__file__).resolve().parents[2]


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def test_bootstrap_extracts_once_into_a_private_cache(tmp_path):
    archive = make_zip(
        tmp_path / "a.pyz", {"__main__.py": b"", "lib/pkg/__init__.py": b"X = 1\n", "lib/pkg/native.so": b"\x7fELF"}
    )
    root = tmp_path / "cache" / "dbstack"
    target = pyz_bootstrap.extract(str(archive), str(root), "abc123")
    assert Path(target) == root / "migrate-abc123"
    assert (Path(target) / "pkg" / "__init__.py").read_text() == "X = 1\n"
    assert (Path(target) / ".complete").is_file() and not (Path(target) / "__main__.py").exists()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    (Path(target) / "pkg" / "__init__.py").write_text("X = 2\n")  # a second run reuses, does not re-extract
    assert pyz_bootstrap.extract(str(archive), str(root), "abc123") == target
    assert (Path(target) / "pkg" / "__init__.py").read_text() == "X = 2\n"
    assert [p.name for p in root.iterdir()] == ["migrate-abc123"]  # no temp dirs left


def test_bootstrap_refuses_path_escapes(tmp_path, capsys):
    archive = make_zip(tmp_path / "a.pyz", {"lib/../../evil.py": b"boom"})
    with pytest.raises(SystemExit) as ei:
        pyz_bootstrap.extract(str(archive), str(tmp_path / "cache"), "x")
    assert ei.value.code == 1 and "bad entry" in capsys.readouterr().err
    assert not (tmp_path / "evil.py").exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_cache_root_order():
    assert pyz_bootstrap.cache_root({"DBSTACK_MIGRATE_CACHE": "/a", "XDG_CACHE_HOME": "/b"}) == "/a"
    assert pyz_bootstrap.cache_root({"XDG_CACHE_HOME": "/b"}) == "/b/dbstack"


def test_failed_statement_points_at_its_layer():
    mig = EmbeddedMigrations(
        ROOT / "deploy" / "migrations", ("bronze", "bronzehistory", "silver", "gold"), "t", "deploy/migrations"
    )
    exc = MigrationError(
        'sql/migrate: executing statement "ALTER …" from version "0005": pq: boom', "fix it", version="0005"
    )
    assert with_layer_hint(exc, mig).hint == "fix it; Check deploy/migrations/bronze/ for conflicts"
    exc = MigrationError('sql/migrate: executing statement "x" from version "0003": pq: boom', "", version="0003")
    assert with_layer_hint(exc, mig).hint == "Check deploy/migrations/silver/ for conflicts"


@pytest.mark.parametrize("tool", ["migrate", "genmigrate"])
def test_bad_config_is_one_message_exit_1(tool, tmp_path, monkeypatch, capsys):
    from dbstack.standalone import genmigrate_cli, migrate_cli

    (tmp_path / "config.yaml").write_text("database:\n  host: [unclosed\n")
    monkeypatch.setenv("CONFIG_SOURCE", "file")
    monkeypatch.setenv("CONFIG_FILE", str(tmp_path / "config.yaml"))
    monkeypatch.delenv("DBSTACK_DEBUG", raising=False)
    main = migrate_cli.main if tool == "migrate" else genmigrate_cli.main
    argv = [] if tool == "migrate" else ["add_x"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: config file ") and "is not valid YAML at line" in err
    assert "Traceback" not in err and err.count("Error:") == 1


def test_genmigrate_rejects_bad_names(tmp_path, monkeypatch, capsys):
    from dbstack.standalone import genmigrate_cli

    (tmp_path / "config.yaml").write_text("database: {host: h, port: 1, user: u, dbname: x_dev}\n")
    monkeypatch.setenv("CONFIG_FILE", str(tmp_path / "config.yaml"))
    assert genmigrate_cli.main(["../evil"]) == 1
    assert "invalid migration name '../evil'" in capsys.readouterr().err


def test_status_with_dry_run_is_a_usage_error(capsys):
    from dbstack.standalone import migrate_cli

    assert migrate_cli.main(["--status", "--dry-run"]) == 1
    assert "--status cannot be combined" in capsys.readouterr().err


def test_dependency_closure_has_no_task_runner_dependencies():
    from dbstack.standalone.bundle import dependency_closure

    names = {d.metadata["Name"].lower().replace("_", "-") for d in dependency_closure()}
    assert {"psycopg", "psycopg-binary", "pyyaml", "hvac", "requests"} <= names
    assert not names & {"invoke", "docker", "kubernetes", "jinja2"}


def test_a_new_build_prunes_older_trees_but_the_last_used_one(tmp_path):
    import os
    import time

    root = tmp_path / "cache" / "dbstack"
    olds = []
    for i, age in enumerate((300, 200, 100)):
        d = root / f"migrate-{str(i) * 16}"
        d.mkdir(parents=True)
        (d / ".complete").write_text("x\n")
        os.utime(d / ".complete", (time.time() - age,) * 2)
        olds.append(d)
    unfinished = root / f"migrate-{'9' * 16}"  # no .complete: maybe being written by another run
    unfinished.mkdir()
    other = root / f"genmigrate-{'8' * 16}"
    other.mkdir()
    (other / ".complete").write_text("x\n")
    archive = make_zip(tmp_path / "a.pyz", {"lib/pkg/__init__.py": b""})
    new = "f" * 16
    pyz_bootstrap.extract(str(archive), str(root), new)
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [f"migrate-{new}", olds[2].name, unfinished.name, other.name]
    )
    # an explicit prune (what `inv build-migrate` does) keeps only the current build
    assert pyz_bootstrap.prune(str(root), new) == [str(olds[2])]
