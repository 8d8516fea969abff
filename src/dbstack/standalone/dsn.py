"""The ``database:`` block of the tools' configuration, as a DSN and as a URL.

Seed 004's tools read ``database: {host, port, user, password, dbname,
sslmode}`` (from YAML or Vault), turn it into a DSN and then into a
PostgreSQL URL. Here the block becomes a :class:`DatabaseConfig`; its URL is
built with every component percent-escaped (``settings.build_url``), so a
password holding ``@ : / ? # %`` or spaces survives the trip. A block may
also carry the whole DSN in one ``dsn`` key, either libpq's ``key=value``
form or a ``postgres://`` URL; explicit keys win over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import ConfigError, Refused
from ..settings import ConnSpec, build_url, mask_url

FIELDS = ("host", "port", "user", "password", "dbname", "sslmode")
REQUIRED = ("host", "port", "user", "dbname")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# libpq options a DSN may carry besides FIELDS; handed to the driver as they are.
EXTRA_OPTIONS = (
    "connect_timeout",
    "application_name",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "target_session_attrs",
    "options",
)
DEV_SUFFIX = "_dev"

NOT_CONFIGURED = "Database DSN not configured"
NOT_CONFIGURED_HINT = "Set database config in YAML or Vault"
INCOMPLETE_HINT = "Ensure database.host, port, user, dbname are set"
NOT_DEV = "database name must end with _dev"
NOT_DEV_HINT = "Set `dbname` to a `_dev` database (e.g. hotpot_dev)"


@dataclass(frozen=True)
class DatabaseConfig:
    """One database connection as configured; the password stays out of repr."""

    host: str
    port: int
    user: str
    dbname: str
    password: str | None = field(default=None, repr=False)
    sslmode: str = ""
    extra: tuple[tuple[str, str], ...] = ()
    source: str = ""  # where it came from, for messages ("config.yaml", "Vault secret …")

    @property
    def params(self) -> tuple[tuple[str, str], ...]:
        return ((("sslmode", self.sslmode),) if self.sslmode else ()) + self.extra

    def conn_spec(self) -> ConnSpec:
        return ConnSpec(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=self.dbname,
            password=self.password or None,
            params=self.params,
        )

    def url(self, *, masked: bool = True) -> str:
        """The PostgreSQL URL; masked unless a caller needs the real one (the Atlas pipe)."""
        url = build_url(
            user=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            params=dict(self.params),
        )
        return mask_url(url) if masked else url

    def require_dev(self) -> None:
        """genmigrate's safety rule (seed 004): only databases named *_dev."""
        if not self.dbname.endswith(DEV_SUFFIX):
            raise Refused(
                f"{NOT_DEV} (configured: {self.dbname!r} in {self.source or 'the config'})",
                f"{NOT_DEV_HINT}; genmigrate replays migrations on that server, "
                "so it refuses anything that could be production. "
                "Use separate configs for dev and production",
            )

    def __str__(self) -> str:
        return self.url(masked=True)


# --------------------------------------------------------------------------- DSN strings


def parse_keyword_dsn(text: str) -> dict[str, str]:
    """libpq's ``key=value`` connection string: whitespace-separated, values optionally
    single-quoted, backslash escapes ``\\'`` and ``\\\\``."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return out
        start = i
        while i < n and text[i] != "=" and not text[i].isspace():
            i += 1
        key = text[start:i]
        while i < n and text[i].isspace():
            i += 1
        if not key or i >= n or text[i] != "=":
            raise ConfigError(
                f"invalid DSN: expected key=value near {_safe_near(text, start)}",
                "write the DSN as host=… port=… user=… dbname=… (quote values with spaces in '…')",
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        buf = []
        if i < n and text[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ConfigError(
                        f"invalid DSN: unterminated quoted value for {key!r}", "close the value with a single quote"
                    )
                ch = text[i]
                if ch == "\\" and i + 1 < n:
                    buf.append(text[i + 1])
                    i += 2
                    continue
                if ch == "'":
                    i += 1
                    break
                buf.append(ch)
                i += 1
        else:
            while i < n and not text[i].isspace():
                if text[i] == "\\" and i + 1 < n:
                    buf.append(text[i + 1])
                    i += 2
                    continue
                buf.append(text[i])
                i += 1
        out[key] = "".join(buf)


def _safe_near(text: str, pos: int) -> str:
    # Never echo a value back (it may be the password): only the position.
    return f"character {pos + 1}"


def parse_dsn(text: str) -> dict[str, str]:
    """A DSN string (URL or key=value) as a dict of the same keys as the ``database:`` block."""
    text = text.strip()
    if text.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(text)
        out: dict[str, str] = {}
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise ConfigError(
                "invalid DSN URL: the port is not a number", "write it as postgres://USER:PASSWORD@HOST:PORT/DBNAME"
            ) from None
        if host:
            out["host"] = unquote(host)
        if port:
            out["port"] = str(port)
        if parts.username:
            out["user"] = unquote(parts.username)
        if parts.password is not None:
            out["password"] = unquote(parts.password)
        if parts.path.strip("/"):
            out["dbname"] = unquote(parts.path.lstrip("/"))
        for k, v in parse_qsl(parts.query):
            out[k] = v
        return out
    if "://" in text:
        raise ConfigError(
            f"invalid DSN: unsupported URL scheme {text.split('://', 1)[0]!r}", "use postgres://… or the key=value form"
        )
    return parse_keyword_dsn(text)


# --------------------------------------------------------------------------- the block


def database_config(block: Any, *, source: str, prefix: str = "database.") -> DatabaseConfig:
    """Validate a ``database:`` mapping (or DSN string) into a DatabaseConfig."""
    if block is None or block == {} or block == "":
        raise ConfigError(
            f"{NOT_CONFIGURED} ({source} has no `database:` block)",
            f"{NOT_CONFIGURED_HINT}: add database.host, port, user, password, dbname and sslmode",
        )
    if isinstance(block, str):
        values: dict[str, Any] = dict(parse_dsn(block))
    elif isinstance(block, Mapping):
        values = {}
        dsn = block.get("dsn")
        if dsn not in (None, ""):
            if not isinstance(dsn, str):
                raise ConfigError(f"{prefix}dsn in {source} must be a string", "write it as host=… or postgres://…")
            values.update(parse_dsn(dsn))
        values.update({k: v for k, v in block.items() if k != "dsn" and v is not None})
    else:
        raise ConfigError(
            f"{NOT_CONFIGURED} ({source}: `database` is a {type(block).__name__}, not a mapping)",
            f"{NOT_CONFIGURED_HINT}: database must hold host, port, user, password, dbname and sslmode",
        )

    missing = [f"{prefix}{k}" for k in REQUIRED if values.get(k) in (None, "")]
    if missing:
        raise ConfigError(f"incomplete DSN: missing {', '.join(missing)} in {source}", INCOMPLETE_HINT)

    def text(key: str) -> str:
        v = values.get(key)
        if v is None:
            return ""
        if not isinstance(v, str):
            # YAML turns 0123 into 83 and yes into True: refuse rather than guess.
            raise ConfigError(
                f"{prefix}{key} in {source} must be a string, got a {type(v).__name__}",
                f'quote the value in YAML, e.g. {key}: "…"',
            )
        return v

    port_raw = values.get("port")
    if isinstance(port_raw, bool) or not isinstance(port_raw, (int, str)):
        raise ConfigError(
            f"{prefix}port in {source} must be a number, got a {type(port_raw).__name__}",
            "set it to the server's port, e.g. 5432",
        )
    try:
        port = int(port_raw)
    except ValueError:
        raise ConfigError(
            f"{prefix}port in {source} must be a number, got {port_raw!r}", "set it to the server's port, e.g. 5432"
        ) from None
    if not 0 < port < 65536:
        raise ConfigError(f"{prefix}port in {source} is out of range: {port}", "use a port between 1 and 65535")
    sslmode = text("sslmode")
    if sslmode and sslmode not in SSLMODES:
        raise ConfigError(f"{prefix}sslmode in {source} is {sslmode!r}", f"use one of {', '.join(SSLMODES)}")
    extra = []
    for k in EXTRA_OPTIONS:
        if values.get(k) not in (None, ""):
            extra.append((k, str(values[k])))
    return DatabaseConfig(
        host=text("host"),
        port=port,
        user=text("user"),
        dbname=text("dbname"),
        password=text("password") or None,
        sslmode=sslmode,
        extra=tuple(extra),
        source=source,
    )


def dsn_to_url(dsn: str) -> str:
    """A libpq DSN (or URL) as an escaped PostgreSQL URL (with the password: handle with care)."""
    return database_config(dsn, source="the DSN", prefix="").url(masked=False)
