"""Atlas directory format: discovery, versions, atlas.sum bytes and validation."""

from __future__ import annotations

import base64
import csv
import hashlib
from datetime import UTC

import pytest
import yaml

from dbstack.errors import ChecksumError, MigrationDirError, UsageError
from dbstack.migrations.directory import HashFile, MigrationDir, MigrationFile
from dbstack.migrations.layers import Layers
from testpaths import ATLAS_DIRS, SHARED

MANIFEST = list(csv.DictReader(open(ATLAS_DIRS / "MANIFEST.tsv"), delimiter="\t")) if ATLAS_DIRS.exists() else []

# Where each known mismatch first diverges, derived from the MANIFEST notes.
EXPECTED_MISMATCH = {
    # the merge re-added an older file that was never hashed
    "Encedeus__panel__ent-migrate-migrations-HEAD": (2, "20240228181514_test_2.sql", "added"),
    # hashed on a CRLF checkout; the repository stores LF
    "JohnYoungers__cockroach-demo__migrations": (2, "20230922183731_tvfFormTemplateDetails.sql", "edited"),
    "Artexxx__HR-Kafka-QA__migrations": (2, "20250930000001_schema.sql", "edited"),
    # stale sum: first entries hashed under CRLF
    "BioSystems-Indonesia__TAMALabs__migrations-HEAD": (2, "20250411034650_init_db.up.sql", "edited"),
    # pre-v0.6 recursive algorithm listed sub/ files
    "ariga__atlas__legacy-pre-v0.6-testdata-migrate": (4, "sub/1.a_sub.up.sql", "removed"),
}


@pytest.mark.skipif(not MANIFEST, reason="../shared/testdata is absent")
@pytest.mark.parametrize("row", MANIFEST, ids=[r["slug"] for r in MANIFEST])
def test_manifest_vector(row):
    d = MigrationDir(ATLAS_DIRS / row["slug"], row["format"])
    committed = d.sum_path.read_bytes()
    if row["expected_result"] == "match":
        assert d.compute_sum().marshal() == committed
        d.validate()
    else:
        assert row["slug"] in EXPECTED_MISMATCH
        with pytest.raises(ChecksumError) as ei:
            d.validate()
        line, name, reason = EXPECTED_MISMATCH[row["slug"]]
        assert f"\tL{line}: {name} was {reason}\n" in ei.value.output
        assert ei.value.output.startswith("You have a checksum error in your migration directory.\n\n")


OPERATOR_SAMPLE = SHARED / "testdata/atlas/atlas-operator-sample-migration-dir-configmap.yaml"


@pytest.mark.skipif(not OPERATOR_SAMPLE.exists(), reason="../shared/testdata/atlas is absent (optional corpus)")
def test_operator_sample_configmap_vector():
    cm = yaml.safe_load(OPERATOR_SAMPLE.read_text())
    data = cm["data"]
    items = sorted(((k, v.encode()) for k, v in data.items() if k.endswith(".sql")), key=lambda kv: kv[0].encode())
    assert HashFile.compute(items).marshal().decode() == data["atlas.sum"]


def _write(d, files):
    d.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (d / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return MigrationDir(d)


def test_cumulative_hash_definition(tmp_path):
    md = _write(tmp_path, {"1_a.sql": "A;", "2_b.sql": "B;"})
    h = hashlib.sha256()
    h.update(b"1_a.sql" + b"A;")
    e1 = base64.b64encode(h.digest()).decode()
    h.update(b"2_b.sql" + b"B;")
    e2 = base64.b64encode(h.digest()).decode()
    total = base64.b64encode(hashlib.sha256(f"1_a.sql{e1}2_b.sql{e2}".encode()).digest()).decode()
    assert md.compute_sum().marshal() == f"h1:{total}\n1_a.sql h1:{e1}\n2_b.sql h1:{e2}\n".encode()


def test_empty_dir_sum(tmp_path):
    assert MigrationDir(tmp_path).compute_sum().marshal() == b"h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


def test_byte_order_and_only_top_level_sql(tmp_path):
    md = _write(
        tmp_path,
        {
            "10.sql": "",
            "1_a.sql": "",
            "2.sql": "",
            "1.sql": "",
            "X.SQL": "",
            ".x.sql": "",
            "notes.txt": "",
            "embed.go": "",
        },
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "3.sql").write_text("")
    assert [f.name for f in md.files()] == [".x.sql", "1.sql", "10.sql", "1_a.sql", "2.sql"]


def test_golang_migrate_hashes_only_up_files(tmp_path):
    _write(tmp_path, {"1_init.up.sql": "a", "1_init.down.sql": "b"})
    md = MigrationDir(tmp_path, "golang-migrate")
    assert [f.name for f in md.files()] == ["1_init.up.sql"]
    assert md.files()[0].description == "init"
    assert md.files()[0].version == "1"


@pytest.mark.parametrize(
    "name,version,desc",
    [
        ("20240204000001_initial.sql", "20240204000001", "initial"),
        ("0003_add_x.sql", "0003", "add_x"),
        ("1.sql", "1", ""),
        ("1_initial.up.sql", "1", "initial.up"),
        ("2.10.x-20_description.sql", "2.10.x-20", "description"),
    ],
)
def test_version_and_description(name, version, desc, tmp_path):
    f = MigrationFile(tmp_path, name)
    assert (f.version, f.description) == (version, desc)


@pytest.mark.parametrize(
    "first_line,ignored",
    [
        (b"-- atlas:sum ignore\nSELECT 1;", True),
        (b"//atlas:sum ignore\n", True),
        (b"atlas:sum ignore", True),
        (b"-- atlas:sum ignore \nSELECT 1;", False),  # trailing space
        (b"-- atlas:sum ignore\r\nSELECT 1;", False),  # CRLF
        (b"/* atlas:sum ignore */\n", False),
        (b"SELECT 1;\n-- atlas:sum ignore\n", False),  # not the first line
    ],
)
def test_sum_ignore_directive(tmp_path, first_line, ignored):
    md = _write(tmp_path, {"1_a.sql": first_line, "2_b.sql": "B;"})
    hf = md.compute_sum()
    assert ("1_a.sql" not in [e.name for e in hf.entries]) == ignored
    if ignored:  # the ignored file's name still feeds the running hash
        h = hashlib.sha256(b"1_a.sql" + b"2_b.sql" + b"B;")
        assert hf.by_name("2_b.sql") == base64.b64encode(h.digest()).decode()


def test_crlf_content_is_hashed_raw(tmp_path):
    a = _write(tmp_path / "a", {"1.sql": b"A;\n"}).compute_sum()
    b = _write(tmp_path / "b", {"1.sql": b"A;\r\n"}).compute_sum()
    assert a.entries[0].hash != b.entries[0].hash


def test_parse_accepts_crlf_sum_and_rejects_bad_lines(tmp_path):
    md = _write(tmp_path, {"1_a.sql": "A;"})
    text = md.compute_sum().marshal()
    assert HashFile.parse(text.replace(b"\n", b"\r\n")) == HashFile.parse(text)
    with pytest.raises(ChecksumError, match="format invalid"):
        HashFile.parse(text + b"garbage line\n")
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        HashFile.parse(b"h1:AAAA\n" + text.split(b"\n", 1)[1])


@pytest.mark.parametrize(
    "change,expected",
    [
        ("edit", "\tL2: 1_a.sql was edited\n"),
        ("add", "\tL4: 3_c.sql was added\n"),
        ("insert", "\tL3: 1_b.sql was added\n"),
        ("remove", "\tL3: 2_b.sql was removed\n"),
    ],
)
def test_validation_reports_first_divergence(tmp_path, change, expected):
    md = _write(tmp_path, {"1_a.sql": "A;", "2_b.sql": "B;"})
    md.write_sum()
    if change == "edit":
        (tmp_path / "1_a.sql").write_text("A2;")
    elif change == "add":
        (tmp_path / "3_c.sql").write_text("C;")
    elif change == "insert":
        (tmp_path / "1_b.sql").write_text("X;")
    else:
        (tmp_path / "2_b.sql").unlink()
    md.refresh()
    with pytest.raises(ChecksumError) as ei:
        md.validate()
    assert expected in ei.value.output
    assert ei.value.output.endswith(
        "Please check your migration files and run 'atlas migrate hash' to re-hash the contents\n\n"
    )


def test_missing_sum(tmp_path):
    md = _write(tmp_path, {"1_a.sql": "A;"})
    with pytest.raises(ChecksumError, match="not found") as ei:
        md.validate()
    assert ei.value.output == (
        "You have a checksum error in your migration directory.\n"
        "Please check your migration files and run 'atlas migrate hash' "
        "to re-hash the contents\n\n"
    )
    MigrationDir(tmp_path / "empty").path.mkdir()
    MigrationDir(tmp_path / "empty").validate()  # no files, no sum: fine


def test_missing_dir_and_unreadable_file(tmp_path):
    with pytest.raises(MigrationDirError, match="does not exist"):
        MigrationDir(tmp_path / "nope").files()
    (tmp_path / "x.sql").mkdir()
    with pytest.raises(MigrationDirError, match="is a directory"):
        MigrationDir(tmp_path).compute_sum()


def test_duplicate_versions_and_invalid_names(tmp_path):
    _write(tmp_path / "a", {"1_a.sql": "", "1_b.sql": ""})
    with pytest.raises(MigrationDirError, match="duplicate migration version 1"):
        Layers.of([tmp_path / "a"]).check_versions()
    _write(tmp_path / "b", {"_x.sql": ""})
    with pytest.raises(MigrationDirError, match="invalid migration file name"):
        Layers.of([tmp_path / "b"]).check_versions()


def test_duplicate_versions_across_layers(tmp_path):
    _write(tmp_path / "bronze", {"0001_a.sql": ""}).write_sum()
    _write(tmp_path / "silver", {"0001_b.sql": ""}).write_sum()
    with pytest.raises(MigrationDirError, match="duplicate migration version 0001"):
        Layers.of([tmp_path / "bronze", tmp_path / "silver"]).validate()


def test_global_order_across_layers(tmp_path):
    _write(tmp_path / "bronze", {"0001_a.sql": "", "0003_c.sql": ""})
    _write(tmp_path / "silver", {"0002_b.sql": ""})
    ls = Layers.of([tmp_path / "bronze", tmp_path / "silver"])
    assert [f.name for f in ls.files()] == ["0001_a.sql", "0002_b.sql", "0003_c.sql"]


def test_new_file_timestamp_and_sequential(tmp_path):
    from datetime import datetime

    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ts = _write(tmp_path / "ts", {"20240101000000_a.sql": "A;"})
    ts.write_sum()
    p = Layers.of([ts.path]).new_file("add_x", now=now)
    assert p.name == "20260102030405_add_x.sql" and p.read_bytes() == b""
    p2 = Layers.of([ts.path]).new_file("add_y", now=now)  # same second: still later
    assert p2.name == "20260102030406_add_y.sql"
    ts.refresh()
    ts.validate()
    _write(tmp_path / "bronze", {"0001_a.sql": "A;"}).write_sum()
    _write(tmp_path / "silver", {"0002_b.sql": "B;"}).write_sum()
    ls = Layers.of([tmp_path / "bronze", tmp_path / "silver"])
    assert ls.new_file("add_z", layer="bronze").name == "0003_add_z.sql"
    MigrationDir(tmp_path / "bronze").validate()
    with pytest.raises(UsageError, match="invalid migration name"):
        ls.new_file("bad name", layer="bronze")
    with pytest.raises(UsageError, match="several layers"):
        ls.new_file("x")


def test_new_file_refuses_a_checksum_error(tmp_path):
    md = _write(tmp_path, {"1_a.sql": "A;"})
    md.write_sum()
    (tmp_path / "1_a.sql").write_text("changed")
    with pytest.raises(ChecksumError):
        Layers.of([tmp_path]).new_file("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1_a.sql", "atlas.sum"]


def test_sample_migrations_are_hashed(root):
    MigrationDir(root / "manifests/migrations/mydatabase").validate()
