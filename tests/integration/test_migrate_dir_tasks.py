"""migrate-hash / migrate-validate / migrate-new through `inv`: exit codes and one clear message."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testpaths import ATLAS_DIRS, INV, ROOT



def inv(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([INV, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DBSTACK_DEBUG": ""})


def one_error(cp: subprocess.CompletedProcess, text: str) -> None:
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert "Traceback" not in cp.stderr + cp.stdout
    errors = [l for l in cp.stderr.splitlines() if l.startswith("Error: ")]
    assert len(errors) == 1 and text in errors[0], cp.stderr
    assert "hint: " in cp.stderr


def test_hash_then_validate_then_new(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "20240101000000_a.sql").write_text("CREATE TABLE a (id int);\n")
    assert inv("migrate-hash", "--dir", str(d)).returncode == 0
    assert inv("migrate-validate", "--dir", str(d)).returncode == 0
    cp = inv("migrate-new", "add_b", "--dir", str(d))
    assert cp.returncode == 0, cp.stderr
    assert len(list(d.glob("*_add_b.sql"))) == 1
    assert inv("migrate-validate", "--dir", str(d)).returncode == 0


def test_checksum_mismatch_prints_atlas_report_and_exits_1(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "1_a.sql").write_text("A;")
    inv("migrate-hash", "--dir", str(d))
    (d / "1_a.sql").write_text("B;")
    cp = inv("migrate-validate", "--dir", str(d))
    one_error(cp, "checksum mismatch")
    assert cp.stdout == ("You have a checksum error in your migration directory.\n\n\tL2: 1_a.sql was edited\n\n"
                         "Please check your migration files and run 'atlas migrate hash' to re-hash the contents\n\n")


@pytest.mark.parametrize("case,text", [
    ("missing-dir", "does not exist"),
    ("unreadable", "cannot read migration file"),
    ("malformed-sum", "checksum file format invalid"),
    ("invalid-name", "invalid migration file name"),
    ("duplicate", "duplicate migration version 1"),
])
def test_bad_directories_give_one_message(tmp_path, case, text):
    d = tmp_path / "m"
    d.mkdir()
    (d / "1_a.sql").write_text("A;")
    inv("migrate-hash", "--dir", str(d))
    task = "migrate-validate"
    if case == "missing-dir":
        d = tmp_path / "nope"
    elif case == "unreadable":
        if os.geteuid() == 0:  # root reads anything: a directory named *.sql is unreadable as a file
            (d / "2_b.sql").mkdir()
            text = "is a directory"
        else:
            (d / "2_b.sql").write_text("B;")
            (d / "2_b.sql").chmod(0)
    elif case == "malformed-sum":
        (d / "atlas.sum").write_text((d / "atlas.sum").read_text() + "no hash here\n")
    elif case == "invalid-name":
        (d / "_x.sql").write_text("X;")
        task = "migrate-hash"
    elif case == "duplicate":
        (d / "1_b.sql").write_text("B;")
        task = "migrate-hash"
    before = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()} if d.exists() else {}
    one_error(inv(task, "--dir", str(d)), text)
    after = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()} if d.exists() else {}
    assert after == before  # nothing written or lost


@pytest.mark.skipif(not ATLAS_DIRS.exists(), reason="../shared is absent")
def test_golang_migrate_format_through_the_task():
    d = ATLAS_DIRS / "openmeterio__openmeter__tools-migrate-migrations"
    assert inv("migrate-validate", "--dir", str(d), "--dir-format", "golang-migrate").returncode == 0
    one_error(inv("migrate-validate", "--dir", str(d)), "checksum mismatch")
