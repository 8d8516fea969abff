"""migrate-hash / migrate-validate / migrate-new through `inv`: exit codes and one clear message."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testpaths import ATLAS_DIRS, INV, ROOT


def inv(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INV, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env={**os.environ, "DBSTACK_DEBUG": ""}
    )


def one_error(cp: subprocess.CompletedProcess, text: str) -> None:
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert "Traceback" not in cp.stderr + cp.stdout
    errors = [ln for ln in cp.stderr.splitlines() if ln.startswith("Error: ")]
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
    assert cp.stdout == (
        "You have a checksum error in your migration directory.\n\n\tL2: 1_a.sql was edited\n\n"
        "Please check your migration files and run 'atlas migrate hash' to re-hash the contents\n\n"
    )


@pytest.mark.parametrize(
    "case,text",
    [
        ("missing-dir", "does not exist"),
        ("unreadable", "cannot read migration file"),
        ("malformed-sum", "checksum file format invalid"),
        ("invalid-name", "invalid migration file name"),
        ("duplicate", "duplicate migration version 1"),
        ("hidden", "hidden file"),
    ],
)
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
        inv("migrate-hash", "--dir", str(d))  # Atlas hashes it; validate refuses it
    elif case == "duplicate":
        (d / "1_b.sql").write_text("B;")
        inv("migrate-hash", "--dir", str(d))
    elif case == "hidden":
        (d / ".hidden_9999.sql").write_text("H;")
        inv("migrate-hash", "--dir", str(d))
    before = (
        {p.name: p.read_bytes() for p in d.iterdir() if p.is_file() and os.access(p, os.R_OK)} if d.exists() else {}
    )
    one_error(inv(task, "--dir", str(d)), text)
    after = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file() and os.access(p, os.R_OK)} if d.exists() else {}
    assert after == before  # nothing written or lost


@pytest.mark.skipif(not ATLAS_DIRS.exists(), reason="../shared is absent")
def test_golang_migrate_format_through_the_task():
    d = ATLAS_DIRS / "openmeterio__openmeter__tools-migrate-migrations"
    assert inv("migrate-validate", "--dir", str(d), "--dir-format", "golang-migrate").returncode == 0
    one_error(inv("migrate-validate", "--dir", str(d)), "checksum mismatch")


# --------------------------------------------------------------------------- Atlas's bytes for what Atlas hashes


def atlas_sum_reference(d: Path) -> bytes:
    """atlas.sum as Atlas's sql/migrate/dir.go computes it, written out independently of dbstack."""
    import base64
    import hashlib
    import re

    names = sorted((p.name for p in d.iterdir() if p.name.endswith(".sql")), key=lambda n: n.encode())
    h, lines = hashlib.sha256(), []
    for n in names:
        body = (d / n).read_bytes()
        h.update(n.encode())
        m = re.match(rb"([ -~]*)atlas:(\w+)(?: +(.+))*", body)
        if m and m.group(2) == b"sum" and m.group(3) == b"ignore":
            continue
        h.update(body)
        lines.append((n, base64.b64encode(h.digest()).decode()))
    total = base64.b64encode(hashlib.sha256("".join(n + x for n, x in lines).encode()).digest()).decode()
    return (f"h1:{total}\n" + "".join(f"{n} h1:{x}\n" for n, x in lines)).encode()


def _hash_ok(d: Path) -> subprocess.CompletedProcess:
    cp = inv("migrate-hash", "--dir", str(d))
    assert cp.returncode == 0, cp.stderr
    return cp


@pytest.mark.skipif(not ATLAS_DIRS.exists(), reason="../shared is absent")
def test_hash_writes_atlas_bytes_for_an_up_down_pair_in_atlas_format(tmp_path):
    import shutil

    src = ATLAS_DIRS / "ariga__atlas__sql-migrate-testdata-migrate"  # Atlas's own fixture and its atlas.sum
    d = tmp_path / "m"
    shutil.copytree(src, d)
    (d / "atlas.sum").unlink()
    cp = _hash_ok(d)
    assert (d / "atlas.sum").read_bytes() == (src / "atlas.sum").read_bytes()
    assert "duplicate migration version 1" in cp.stderr  # a note, not a refusal
    bad = inv("migrate-validate", "--dir", str(d))
    one_error(bad, "duplicate migration version 1")
    assert "--dir-format golang-migrate" in bad.stderr


def test_hash_writes_atlas_bytes_for_a_dotfile_migration(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "1_a.sql").write_text("CREATE TABLE a (id int);\n")
    (d / ".hidden_9999.sql").write_text("CREATE TABLE h (id int);\n")
    cp = _hash_ok(d)
    assert (d / "atlas.sum").read_bytes() == atlas_sum_reference(d)
    assert b".hidden_9999.sql h1:" in (d / "atlas.sum").read_bytes()
    assert "hidden file" in cp.stderr
    one_error(inv("migrate-validate", "--dir", str(d)), "hidden file")


def test_hash_writes_atlas_bytes_for_ignored_files_sharing_a_version(tmp_path):
    # The files of Atlas's TestHashSum (sql/migrate/dir_test.go): two ignored files, version "exclude".
    d = tmp_path / "m"
    d.mkdir()
    (d / "include.sql").write_bytes(b"//atlas:sum\nfoo")
    (d / "exclude_1.sql").write_bytes(b"//atlas:sum ignore\nbar")
    (d / "exclude_2.sql").write_bytes(b"atlas:sum ignore")
    _hash_ok(d)
    data = (d / "atlas.sum").read_bytes()
    assert data == atlas_sum_reference(d) and b"include.sql" in data and b"exclude_" not in data
    one_error(inv("migrate-validate", "--dir", str(d)), "duplicate migration version exclude")
