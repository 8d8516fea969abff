"""Settings: defaults, overrides, targets, URL building and masking."""

from __future__ import annotations

import pytest

from dbstack.errors import ConfigError
from dbstack.settings import ConnSpec, build_url, from_mapping, mask_url


def test_url_escaping_round_trips_and_masks():
    c = ConnSpec(
        host="db", port=5433, user="u@x", password="p@ss:w/rd?&%", dbname="my db", params=(("sslmode", "disable"),)
    )
    raw = c.url(masked=False)
    assert ConnSpec.from_url(raw) == c
    assert "p@ss" not in c.url() and "****" in c.url()
    assert "p@ss" not in str(c) and "p@ss" not in repr(c)


@pytest.mark.parametrize(
    "url,expected",
    [
        ("postgres://u:secret@h:5432/d", "postgres://u:****@h:5432/d"),
        ("postgresql://u:s%40cret@h/d?sslmode=require", "postgresql://u:****@h/d?sslmode=require"),
        ("postgres://h/d?user=u&password=secret&x=1", "postgres://h/d?user=u&password=****&x=1"),
        ("postgres://u@h/d", "postgres://u@h/d"),
    ],
)
def test_mask_url(url, expected):
    assert mask_url(url) == expected


def test_build_url_without_password():
    assert build_url(user="u", password=None, host="::1", port=5432, dbname="d") == "postgres://u@[::1]:5432/d"


def test_defaults_and_overrides(tmp_path):
    s = from_mapping({"databases": {"other": {"dirs": "x/y"}}, "lock_timeout": 3}, tmp_path)
    assert s.database == "mydatabase" and s.lock_timeout == 3.0
    assert s.db("other").dirs == (tmp_path / "x/y",)
    assert s.migration_dirs("other", dir="z") == (tmp_path / "z",)
    with pytest.raises(ConfigError, match="unknown database 'nope'"):
        s.db("nope")
    with pytest.raises(ConfigError, match="backend must be"):
        from_mapping({"backend": "podman"}, tmp_path)
    with pytest.raises(ConfigError, match="lock_timeout must be float"):
        from_mapping({"lock_timeout": "soon"}, tmp_path)


def test_targets_take_passwords_from_the_environment_only(tmp_path):
    s = from_mapping({}, tmp_path)
    c = s.connection("cluster", env={"PGPASSWORD": "pw"})
    assert (c.host, c.port, c.user, c.password, c.dbname) == ("localhost", 5433, "mydatabase", "pw", "mydatabase")
    c = s.connection("cnpg", db="ignored", env={"DATABASE_URL": "postgres://a:b@h:1/app?sslmode=require"})
    assert (c.user, c.password, c.dbname, c.params) == ("a", "b", "app", (("sslmode", "require"),))
    with pytest.raises(ConfigError, match=r"\$DATABASE_URL, which is not set"):
        s.connection("cnpg", env={})
    with pytest.raises(ConfigError, match="unknown target"):
        s.connection("mars", env={})


def test_local_target_reads_the_compose_service(root):
    s = from_mapping({}, root)
    c = s.connection("local", db="mydatabase", env={})
    assert (c.host, c.port, c.user, c.dbname) == ("127.0.0.1", 5432, "myuser", "mydatabase")
    assert c.password == "mypassword"  # the local dev default of docker-compose.yml
