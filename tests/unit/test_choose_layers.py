"""One place turns --db/--dir/--dir-format into layers (migrations.commands.choose_layers, issue 14)."""

from __future__ import annotations

import pytest

from dbstack.migrations.commands import choose_layers
from dbstack.settings import from_mapping


@pytest.fixture
def settings(tmp_path):
    for d in ("a", "b", "g", "x"):
        (tmp_path / d).mkdir()
    return from_mapping(
        {
            "database": "app",
            "databases": {
                "app": {"dirs": ["a", "b"]},
                "go": {"dirs": ["g"], "format": "golang-migrate"},
            },
        },
        tmp_path,
    )


def _shape(layers):
    return [(d.path.name, d.format) for d in layers.dirs]


def test_a_configured_database_gives_its_layers_and_format(settings):
    assert _shape(choose_layers(settings)) == [("a", "atlas"), ("b", "atlas")]
    assert _shape(choose_layers(settings, db="go")) == [("g", "golang-migrate")]
    assert _shape(choose_layers(settings, db="go", dir_format="atlas")) == [("g", "atlas")]


def test_dir_wins_over_db_and_is_atlas_unless_told(settings, tmp_path):
    assert _shape(choose_layers(settings, db="go", dir="x")) == [("x", "atlas")]
    assert _shape(choose_layers(settings, dir=tmp_path / "x", dir_format="golang-migrate")) == [("x", "golang-migrate")]
