"""Where ``migrate`` and ``genmigrate`` find their database: YAML or Vault.

``CONFIG_SOURCE=file`` (the default) reads ``CONFIG_FILE`` (default
``config.yaml``, relative to the current directory) and takes its
``database:`` block. ``CONFIG_SOURCE=vault`` reads the KV v2 secret at
``VAULT_PATH``; the secret holds either the same ``database`` mapping (a
nested object, or a DSN string) or the fields flat at its top level
(``host``, ``port``, ``user``, ``password``, ``dbname``, ``sslmode``, or one
``dsn``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .dsn import EXTRA_OPTIONS, FIELDS, DatabaseConfig, database_config

DEFAULT_CONFIG_FILE = "config.yaml"


def load_database_config(
    env: Mapping[str, str] | None = None, *, cwd: str | os.PathLike | None = None
) -> DatabaseConfig:
    """The configured database, from the source CONFIG_SOURCE names."""
    env = os.environ if env is None else env
    source = (env.get("CONFIG_SOURCE") or "file").strip().lower()
    if source == "file":
        return _from_file(env, Path(cwd or os.getcwd()))
    if source == "vault":
        return _from_vault(env)
    raise ConfigError(
        f"CONFIG_SOURCE={env.get('CONFIG_SOURCE')!r} is not a known config source",
        "set CONFIG_SOURCE=file (with CONFIG_FILE) or CONFIG_SOURCE=vault (with VAULT_ADDR, VAULT_TOKEN, VAULT_PATH)",
    )


def _from_file(env: Mapping[str, str], cwd: Path) -> DatabaseConfig:
    import yaml

    name = env.get("CONFIG_FILE") or DEFAULT_CONFIG_FILE
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = cwd / path
    where = name if name == str(path) else f"{name} ({path})"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {where} not found",
            "create it with a `database:` block (host, port, user, password, dbname, sslmode), "
            "point CONFIG_FILE at it, or use CONFIG_SOURCE=vault",
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"config file {where} is a directory", "point CONFIG_FILE at a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {where} is not UTF-8 text", "save it as UTF-8 YAML") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {where}: {exc.strerror}", "check its permissions") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Only the position and the parser's complaint: the default rendering
        # quotes the offending line, which may be the password's.
        mark = getattr(exc, "problem_mark", None)
        pos = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(
            f"config file {name} is not valid YAML{pos}: {problem}",
            "fix the YAML syntax (indentation, quoting: put values with ':' '#' '{' in quotes)",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"config file {name} must be a YAML mapping with a `database:` block, but it holds a {type(data).__name__}",
            "write it as `database:` followed by indented host, port, user, password, dbname, sslmode",
        )
    return database_config(data.get("database"), source=name)


def _from_vault(env: Mapping[str, str]) -> DatabaseConfig:
    from .vault import read_secret

    secret, loc = read_secret(env)
    where = f"Vault secret {loc.mount}/{loc.path}"
    block: Any = secret.get("database")
    if block is not None:
        return database_config(block, source=where)
    flat = {k: v for k, v in secret.items() if k in FIELDS or k in EXTRA_OPTIONS or k == "dsn"}
    if flat:
        return database_config(flat, source=where, prefix="")
    return database_config(None, source=where)
