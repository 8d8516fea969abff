"""Config sources of the standalone tools: YAML file, Vault (fake KV v2 server), DSN → URL."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from dbstack.errors import ConfigError, Refused
from dbstack.standalone.config import load_database_config
from dbstack.standalone.dsn import database_config, dsn_to_url, parse_keyword_dsn
from dbstack.standalone.vault import split_path

DATA = Path(__file__).resolve().parents[1] / "data" / "standalone"
NASTY = "p@ss:w/rd?#%&=' \"${x}\\"  # every character a URL or HCL could trip over


def _fake_vault_module():
    spec = importlib.util.spec_from_file_location("fake_vault", DATA / "fake_vault.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FakeVault = _fake_vault_module().FakeVault

GOOD = """\
database:
  host: db.internal
  port: 5432
  user: hotpot
  password: "s3cret"
  dbname: hotpot_dev
  sslmode: require
other_app_setting: true
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> dict[str, str]:
    (tmp_path / name).write_text(text)
    return {"CONFIG_SOURCE": "file", "CONFIG_FILE": str(tmp_path / name)}


# --------------------------------------------------------------------------- file


def test_file_source_reads_the_database_block(tmp_path):
    cfg = load_database_config(write(tmp_path, GOOD))
    assert (cfg.host, cfg.port, cfg.user, cfg.dbname, cfg.sslmode) == (
        "db.internal",
        5432,
        "hotpot",
        "hotpot_dev",
        "require",
    )
    assert cfg.password == "s3cret"
    assert "s3cret" not in repr(cfg) and "s3cret" not in str(cfg)
    assert cfg.url() == "postgres://hotpot:****@db.internal:5432/hotpot_dev?sslmode=require"
    spec = cfg.conn_spec()
    assert spec.connect_kwargs()["password"] == "s3cret" and spec.connect_kwargs()["sslmode"] == "require"


def test_default_config_file_is_config_yaml_in_the_current_directory(tmp_path):
    (tmp_path / "config.yaml").write_text(GOOD)
    assert load_database_config({}, cwd=tmp_path).host == "db.internal"


def test_url_escapes_every_component():
    cfg = database_config(
        {"host": "h", "port": 5432, "user": "us er@x", "password": NASTY, "dbname": "my/db?"}, source="t"
    )
    url = cfg.url(masked=False)
    parts = urlsplit(url)
    assert unquote(parts.password) == NASTY and unquote(parts.username) == "us er@x"
    assert unquote(parts.path[1:]) == "my/db?" and parts.hostname == "h" and parts.port == 5432
    assert NASTY not in cfg.url()  # masked by default


def test_keyword_dsn_parsing_and_conversion():
    assert parse_keyword_dsn(r"host=h port = 6543 password='a b\'c\\' dbname=x\ y") == {
        "host": "h",
        "port": "6543",
        "password": "a b'c\\",
        "dbname": "x y",
    }
    url = dsn_to_url("host=db port=5433 user=u password='p@ss word' dbname=app_dev sslmode=disable")
    assert url == "postgres://u:p%40ss%20word@db:5433/app_dev?sslmode=disable"
    assert (
        dsn_to_url("postgres://u:p%40ss@db:5433/app_dev?sslmode=require")
        == "postgres://u:p%40ss@db:5433/app_dev?sslmode=require"
    )


def test_dsn_key_in_the_block_with_explicit_keys_winning(tmp_path):
    cfg = load_database_config(write(tmp_path, "database:\n  dsn: host=a port=1 user=u dbname=d_dev\n  port: 7000\n"))
    assert (cfg.host, cfg.port, cfg.dbname) == ("a", 7000, "d_dev")


@pytest.mark.parametrize("text", ["other: 1\n", "", "database:\n", "database: {}\n"])
def test_no_database_block_is_dsn_not_configured(tmp_path, text):
    with pytest.raises(ConfigError) as ei:
        load_database_config(write(tmp_path, text))
    assert ei.value.message.startswith("Database DSN not configured")
    assert ei.value.hint.startswith("Set database config in YAML or Vault")


def test_missing_fields_are_named_in_incomplete_dsn(tmp_path):
    with pytest.raises(ConfigError) as ei:
        load_database_config(write(tmp_path, "database:\n  host: h\n  user: u\n  password: secret123\n"))
    assert ei.value.message.startswith("incomplete DSN: missing database.port, database.dbname")
    assert ei.value.hint == "Ensure database.host, port, user, dbname are set"
    assert "secret123" not in ei.value.render()


def test_malformed_yaml_names_the_position_not_the_content(tmp_path):
    env = write(tmp_path, "database:\n  host: h\n  password: secret: [oops\n")
    with pytest.raises(ConfigError) as ei:
        load_database_config(env)
    text = ei.value.render()
    assert "is not valid YAML at line 3" in text and "secret" not in text


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError) as ei:
        load_database_config({"CONFIG_FILE": str(tmp_path / "nope.yaml")})
    assert "not found" in ei.value.message and "CONFIG_FILE" in ei.value.hint


@pytest.mark.parametrize(
    "block, needle",
    [
        ("port: abc", "port"),
        ("port: 70000", "out of range"),
        ("password: 0123", "must be a string"),
        ("sslmode: maybe", "sslmode"),
    ],
)
def test_bad_values(tmp_path, block, needle):
    text = "database:\n  host: h\n  port: 5432\n  user: u\n  dbname: d_dev\n  " + block + "\n"
    with pytest.raises(ConfigError) as ei:
        load_database_config(write(tmp_path, text))
    assert needle in ei.value.message


def test_unknown_config_source():
    with pytest.raises(ConfigError) as ei:
        load_database_config({"CONFIG_SOURCE": "consul"})
    assert "CONFIG_SOURCE" in ei.value.message and "vault" in ei.value.hint


def test_dev_rule():
    ok = database_config({"host": "h", "port": 1, "user": "u", "dbname": "hotpot_dev"}, source="config.yaml")
    ok.require_dev()
    prod = database_config({"host": "h", "port": 1, "user": "u", "dbname": "hotpot"}, source="config.yaml")
    with pytest.raises(Refused) as ei:
        prod.require_dev()
    assert ei.value.message.startswith("database name must end with _dev")
    assert "hotpot_dev" in ei.value.hint


# --------------------------------------------------------------------------- vault


def vault_env(v: FakeVault, token: str = "root-token", path: str = "secret/hotpot/config") -> dict[str, str]:
    return {
        "CONFIG_SOURCE": "vault",
        "VAULT_ADDR": v.addr,
        "VAULT_TOKEN": token,
        "VAULT_PATH": path,
        "HOME": "/nonexistent",
    }


def test_vault_nested_database_shape():
    data = {
        "database": {
            "host": "vh",
            "port": "6432",
            "user": "vu",
            "password": NASTY,
            "dbname": "hp",
            "sslmode": "verify-full",
        }
    }
    with FakeVault("root-token", {"secret/hotpot/config": data}) as v:
        cfg = load_database_config(vault_env(v))
        assert v.requests == [("GET", "/v1/secret/data/hotpot/config", "root-token")]
    assert (cfg.host, cfg.port, cfg.user, cfg.dbname, cfg.password) == ("vh", 6432, "vu", "hp", NASTY)
    assert cfg.source == "Vault secret secret/hotpot/config"


def test_vault_flat_shape_and_api_style_path():
    data = {"host": "fh", "port": 5432, "user": "fu", "dbname": "f_dev", "unrelated": "x"}
    with FakeVault("t", {"kv/apps/hotpot": data}) as v:
        cfg = load_database_config(vault_env(v, "t", "kv/data/apps/hotpot"))
    assert (cfg.host, cfg.dbname) == ("fh", "f_dev")


def test_vault_secret_without_database_fields():
    with FakeVault("t", {"secret/x": {"unrelated": 1}}) as v:
        with pytest.raises(ConfigError) as ei:
            load_database_config(vault_env(v, "t", "secret/x"))
    assert ei.value.message.startswith("Database DSN not configured")


def test_vault_incomplete_flat_secret():
    with FakeVault("t", {"secret/x": {"host": "h", "port": 1}}) as v:
        with pytest.raises(ConfigError) as ei:
            load_database_config(vault_env(v, "t", "secret/x"))
    assert ei.value.message.startswith("incomplete DSN: missing user, dbname")


def test_vault_wrong_token_is_403_message():
    with FakeVault("right", {"secret/hotpot/config": {"database": {}}}) as v:
        with pytest.raises(ConfigError) as ei:
            load_database_config(vault_env(v, "wrong-token"))
    assert "permission denied (HTTP 403)" in ei.value.message and "VAULT_TOKEN" in ei.value.hint
    assert "wrong-token" not in ei.value.render()


def test_vault_missing_path_is_404_message():
    with FakeVault("t", {}) as v:
        with pytest.raises(ConfigError) as ei:
            load_database_config(vault_env(v, "t", "secret/missing"))
    assert "no secret at secret/missing" in ei.value.message and "(HTTP 404)" in ei.value.message
    assert "VAULT_PATH" in ei.value.hint


def test_unreachable_vault():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "CONFIG_SOURCE": "vault",
        "VAULT_ADDR": f"http://127.0.0.1:{port}",
        "VAULT_TOKEN": "t",
        "VAULT_PATH": "secret/a",
    }
    with pytest.raises(ConfigError) as ei:
        load_database_config(env)
    assert ei.value.message == f"cannot reach Vault at http://127.0.0.1:{port}: connection refused"


@pytest.mark.parametrize("missing", ["VAULT_ADDR", "VAULT_TOKEN", "VAULT_PATH"])
def test_vault_variables_required(missing):
    env = {
        "CONFIG_SOURCE": "vault",
        "VAULT_ADDR": "http://127.0.0.1:1",
        "VAULT_TOKEN": "t",
        "VAULT_PATH": "secret/a",
        "HOME": "/nonexistent",
    }
    del env[missing]
    with pytest.raises(ConfigError) as ei:
        load_database_config(env)
    assert f"{missing} is not set" in ei.value.message


def test_vault_token_file_fallback(tmp_path):
    (tmp_path / ".vault-token").write_text("from-file\n")
    with FakeVault("from-file", {"secret/a": {"dsn": "host=h port=1 user=u dbname=d"}}) as v:
        cfg = load_database_config(
            {"CONFIG_SOURCE": "vault", "VAULT_ADDR": v.addr, "VAULT_PATH": "secret/a", "HOME": str(tmp_path)}
        )
    assert cfg.dbname == "d"


def test_split_path():
    assert split_path("secret/hotpot/config") == ("secret", "hotpot/config")
    assert split_path("/secret/data/hotpot/config/") == ("secret", "hotpot/config")
    assert split_path("team/kv/hotpot", "team/kv") == ("team/kv", "hotpot")
    with pytest.raises(ConfigError):
        split_path("secret")
