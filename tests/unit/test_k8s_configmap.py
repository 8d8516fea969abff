"""The migrations ConfigMap: flattening, keys, exact YAML, size limits, annotations."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from dbstack.errors import ChecksumError, KubernetesError, MigrationDirError
from dbstack.k8s import configmap as cm
from dbstack.migrations.directory import HashFile, MigrationDir
from dbstack.migrations.layers import Layers
from dbstack.settings import from_mapping

ROOT = Path(__file__).resolve().parents[2]

TRICKY = {
    "0001_no_trailing_newline.sql": b"SELECT 1;",
    "0002_two_trailing_newlines.sql": b"SELECT 2;\n\n",
    "0003_indented_first_line.sql": b"    SELECT 3;\n",
    "0004_tabs.sql": b"SELECT\t4;\n",
    "0005_crlf.sql": b"SELECT 5;\r\nSELECT 6;\r\n",
    "0006_trailing_spaces.sql": b"SELECT 7;   \nSELECT 8;\n",
    "0007_non_ascii.sql": "-- caf\u00e9 \u65e5\u672c \u2192\nSELECT 9;\n".encode(),
    "0008_nel_and_line_separator.sql": "-- a\u0085b\u2028c\nSELECT 10;\n".encode(),
    "0009_empty.sql": b"",
    "0010_only_newline.sql": b"\n",
    "0011_bom.sql": "\ufeffSELECT 11;\n".encode(),
    "0012_yaml_lookalike.sql": b"key: value\n- item\n--- \n...\n# comment\n",
}


def make_dir(path, files):
    path.mkdir(parents=True)
    for name, data in files.items():
        (path / name).write_bytes(data)
    MigrationDir(path).write_sum()
    return path


def test_every_tricky_file_survives_the_yaml_exactly(tmp_path):
    d = make_dir(tmp_path / "m", TRICKY)
    out = cm.build(Layers.of([d]), "x-migrations")
    text = out.to_yaml()
    data = yaml.safe_load(text)["data"]
    for name, content in TRICKY.items():
        assert data[name].encode("utf-8") == content, name
    assert data["atlas.sum"].encode() == (d / "atlas.sum").read_bytes()
    # literal blocks where they are exact, quoted where they are not
    assert "0003_indented_first_line.sql: |4" in text or "0003_indented_first_line.sql: |2" in text
    assert '0005_crlf.sql: "SELECT 5;\\r\\nSELECT 6;\\r\\n"' in text


def test_layers_are_flattened_with_a_fresh_combined_atlas_sum(tmp_path):
    a = make_dir(tmp_path / "bronze", {"20240101000001_a.sql": b"A;\n", "20240101000003_c.sql": b"C;\n"})
    b = make_dir(tmp_path / "silver", {"20240101000002_b.sql": b"B;\n"})
    out = cm.build(Layers.of([a, b]), "hotpot-migrations", sources=["bronze", "silver"])
    names = ["20240101000001_a.sql", "20240101000002_b.sql", "20240101000003_c.sql"]
    assert out.migration_files == names
    expected = HashFile.compute([(n, (a / n if (a / n).exists() else b / n).read_bytes()) for n in names])
    assert out.data["atlas.sum"].encode() == expected.marshal()
    # neither layer's own atlas.sum is the combined one
    assert out.data["atlas.sum"].encode() not in ((a / "atlas.sum").read_bytes(), (b / "atlas.sum").read_bytes())
    assert out.latest_version == "20240101000003"
    md = out.to_object()["metadata"]
    assert md["annotations"][cm.ANNOTATION_LATEST] == "20240101000003"
    assert md["annotations"][cm.ANNOTATION_SOURCE] == "bronze,silver"


def test_a_file_name_in_two_layers_is_an_error(tmp_path):
    a = make_dir(tmp_path / "a", {"0001_x.sql": b"A;\n"})
    b = make_dir(tmp_path / "b", {"0001_x.sql": b"B;\n"})
    with pytest.raises(MigrationDirError, match="0001_x.sql exists in two layers"):
        cm.build(Layers.of([a, b]), "m", validate=False)


def test_a_flattened_order_different_from_the_global_order_is_refused(tmp_path):
    a = make_dir(tmp_path / "a", {"1_a.sql": b"A;\n"})
    b = make_dir(tmp_path / "b", {"10_b.sql": b"B;\n"})
    with pytest.raises(KubernetesError, match="differs from the flattened directory's name order"):
        cm.build(Layers.of([a, b]), "m")


def test_a_layer_with_a_stale_atlas_sum_is_refused(tmp_path):
    d = make_dir(tmp_path / "m", {"0001_a.sql": b"A;\n"})
    (d / "0001_a.sql").write_bytes(b"edited;\n")
    with pytest.raises(ChecksumError, match="0001_a.sql was edited"):
        cm.build(Layers.of([d]), "m")


@pytest.mark.parametrize(
    "key, ok",
    [
        ("20240101_init.sql", True),
        ("a-b.c_d.sql", True),
        ("atlas.sum", True),
        ("has space.sql", False),
        ("plus+.sql", False),
        ("..x.sql", False),
        ("..", False),
        (".", False),
        ("x" * 253, True),
        ("x" * 254, False),
        ("caf\u00e9.sql", False),
    ],
)
def test_configmap_key_rules(key, ok):
    assert (cm.key_problem(key) is None) is ok


def test_illegal_file_names_are_listed(tmp_path):
    d = make_dir(tmp_path / "m", {"0001_a b.sql": b"A;\n", "0002_c+d.sql": b"B;\n"})
    with pytest.raises(KubernetesError) as e:
        cm.build(Layers.of([d]), "m")
    assert "0001_a b.sql" in e.value.message and "0002_c+d.sql" in e.value.message


def test_not_utf8_is_refused(tmp_path):
    d = make_dir(tmp_path / "m", {"0001_a.sql": b"\xff\xfe;\n"})
    with pytest.raises(KubernetesError, match="not valid UTF-8"):
        cm.build(Layers.of([d]), "m")


def test_over_one_mib_is_one_clear_error_and_nothing_is_written(tmp_path):
    d = make_dir(tmp_path / "m", {"0001_big.sql": b"-- " + b"x" * (cm.MAX_DATA_BYTES) + b"\n"})
    settings = from_mapping({"k8s": {"manifests_dir": str(ROOT / "manifests" / "cnpg")}}, tmp_path)
    target = tmp_path / "out.yaml"
    with pytest.raises(KubernetesError) as e:
        cm.generate(settings, dir=str(d), output=str(target), out=lambda s: None)
    assert "would hold 1,048," in e.value.message and "at most 1,048,576 bytes (1 MiB)" in e.value.message
    assert "nothing was written" in e.value.hint
    assert not target.exists()


def test_exactly_one_mib_passes_and_advises_server_side_apply(tmp_path):
    body = b"x" * (cm.MAX_DATA_BYTES - 200)
    d = make_dir(tmp_path / "m", {"0001_big.sql": body})
    sum_len = len((d / "atlas.sum").read_bytes())
    (d / "0001_big.sql").write_bytes(b"x" * (cm.MAX_DATA_BYTES - sum_len))
    MigrationDir(d).write_sum()
    out = cm.build(Layers.of([d]), "m")
    assert out.data_bytes == cm.MAX_DATA_BYTES
    assert "apply it server-side" in cm.size_note(out)


def test_small_configmap_has_no_size_note(tmp_path):
    d = make_dir(tmp_path / "m", {"0001_a.sql": b"A;\n"})
    assert cm.size_note(cm.build(Layers.of([d]), "m")) is None


def test_content_hash_changes_with_any_byte(tmp_path):
    d = make_dir(tmp_path / "m", {"0001_a.sql": b"A;\n", "0002_b.sql": b"-- atlas:sum ignore\nB;\n"})
    h1 = cm.build(Layers.of([d]), "m").content_hash
    (d / "0002_b.sql").write_bytes(b"-- atlas:sum ignore\nB2;\n")  # not covered by atlas.sum's total
    h2 = cm.build(Layers.of([d]), "m").content_hash
    assert h1 != h2
    assert len(h1) == len(hashlib.sha256().hexdigest())


def test_generate_writes_the_default_file_and_is_stable(tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(ROOT / "manifests", root / "manifests", ignore=shutil.ignore_patterns("credentials.env"))
    s = from_mapping({}, root)
    lines: list[str] = []
    path = cm.generate(s, out=lines.append)
    assert path == root / "manifests/cnpg/base/migrations-configmap.yaml"
    assert lines[0].startswith("unchanged ")  # the committed file is what we generate
    (root / "manifests/migrations/mydatabase/20240301000001_more.sql").write_bytes(b"SELECT 1;\n")
    MigrationDir(root / "manifests/migrations/mydatabase").write_sum()
    cm.generate(s, out=lines.append)
    assert lines[-1].startswith("wrote ") and "6 migration files" in lines[-1]
    obj = yaml.safe_load(path.read_text())
    assert obj["metadata"]["annotations"][cm.ANNOTATION_LATEST] == "20240301000001"
    assert obj["metadata"]["name"] == "mydatabase-migrations"


def test_bad_configmap_name(tmp_path):
    d = make_dir(tmp_path / "m", {"0001_a.sql": b"A;\n"})
    with pytest.raises(KubernetesError, match="invalid ConfigMap name"):
        cm.build(Layers.of([d]), "Bad_Name")


def test_versions_must_be_unique_across_layers(tmp_path):
    a = make_dir(tmp_path / "a", {"0001_x.sql": b"A;\n"})
    b = make_dir(tmp_path / "b", {"0001_y.sql": b"B;\n"})
    with pytest.raises(MigrationDirError, match="duplicate migration version 0001"):
        cm.build(Layers.of([a, b]), "m")


def test_one_directory_is_taken_as_atlas_takes_it(tmp_path):
    """Atlas hashes 1_x.up.sql and 1_x.down.sql side by side; so does the ConfigMap."""
    d = make_dir(tmp_path / "m", {"1_x.up.sql": b"A;\n", "1_x.down.sql": b"B;\n"})
    assert cm.build(Layers.of([d]), "m").migration_files == ["1_x.down.sql", "1_x.up.sql"]
