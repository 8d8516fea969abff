"""dev-migrate-refresh names the files whose own content changed, not every later atlas.sum line (issue 13)."""

from __future__ import annotations

import shutil

from dbstack import workflows
from dbstack.settings import from_mapping


def _project(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    for i, name in enumerate(["1_a.sql", "2_b.sql", "3_c.sql", "4_d.sql"]):
        (d / name).write_text(f"CREATE TABLE t{i} (id int);\n")
    return from_mapping({}, tmp_path), d


def test_one_edit_names_one_file(tmp_path):
    s, d = _project(tmp_path)
    assert workflows.rehash(s, db=None, dir=str(d), out=[].append) == []  # first hash: nothing was there
    before = (d / "atlas.sum").read_text().splitlines()
    (d / "2_b.sql").write_text("CREATE TABLE t1 (id bigint);\n")
    assert workflows.rehash(s, db=None, dir=str(d), out=[].append) == ["2_b.sql"]
    after = (d / "atlas.sum").read_text().splitlines()
    # the cumulative lines moved
    assert [b == a for b, a in zip(before, after, strict=False)] == [False, True, False, False, False]
    (d / "4_d.sql").write_text("CREATE TABLE t3 (id bigint);\n")
    (d / "1_a.sql").write_text("CREATE TABLE t0 (id bigint);\n")
    (d / "5_e.sql").write_text("CREATE TABLE t4 (id int);\n")  # new, not "changed"
    assert workflows.rehash(s, db=None, dir=str(d), out=[].append) == ["1_a.sql", "4_d.sql"]
    assert workflows.rehash(s, db=None, dir=str(d), out=[].append) == []


def test_without_a_record_only_the_first_diverging_file_is_named(tmp_path):
    s, d = _project(tmp_path)
    workflows.rehash(s, db=None, dir=str(d), out=[].append)
    shutil.rmtree(tmp_path / ".dbstack" / "cache")
    (d / "2_b.sql").write_text("CREATE TABLE t1 (id bigint);\n")
    assert workflows.rehash(s, db=None, dir=str(d), out=[].append) == ["2_b.sql"]


def test_migrate_hash_task_keeps_the_record_too(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    s, d = _project(tmp_path)
    (tmp_path / "invoke.yaml").write_text("dbstack: {}\n")
    (tmp_path / "tasks.py").write_text("from dbstack.tasks import ns  # noqa: F401\n")
    inv = str(Path(sys.executable).with_name("inv"))
    assert subprocess.run([inv, "migrate-hash", "--dir", str(d)], cwd=tmp_path, capture_output=True).returncode == 0
    (d / "3_c.sql").write_text("CREATE TABLE t2 (id bigint);\n")
    assert workflows.rehash(s, db=None, dir=str(d), out=[].append) == ["3_c.sql"]
