"""Typed, immutable settings; targets; URL building and masking.

Every key has a default here (``DEFAULTS``), so invoke can override any of
them from ``invoke.yaml`` or an ``INVOKE_DBSTACK_…`` environment variable.
Tasks hand ``c.config.dbstack`` to :func:`from_mapping`; code that runs
without invoke (benchmarks, standalone tools) calls :func:`load`.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .errors import ConfigError, Refused

DEFAULTS: dict[str, Any] = {
    # Database used when a task gets no --db.
    "database": "mydatabase",
    # Target used when a task gets no --target.
    "target": "local",
    # Local server backend: auto (Docker when its daemon answers and the
    # image is available, else embedded), docker or embedded.
    "backend": "auto",
    # Seconds to wait for the advisory lock (Atlas's --lock-timeout default).
    "lock_timeout": 10.0,
    # Seconds a local server may take to accept connections.
    "ready_timeout": 60.0,
    "compose": {
        "file": "docker-compose.yml",
        "service": "postgres",
        # Overrides the compose file's image (tests use a locally built one).
        "image": "",
    },
    "embedded": {
        # Project-local, git-ignored data directory of the embedded server.
        "data_dir": ".dbstack/pgdata",
        # Directory holding initdb/pg_ctl/postgres; empty = search.
        "bin_dir": "",
    },
    # The local dev server. Empty values come from the compose service
    # (POSTGRES_USER / POSTGRES_PASSWORD / published port).
    "local": {"host": "127.0.0.1", "port": 0, "user": "", "password": "", "admin_db": "postgres"},
    "databases": {
        "mydatabase": {
            # One or more migration directories ("layers"), applied in one
            # global version order into one revisions table.
            "dirs": ["manifests/migrations/mydatabase"],
            "format": "atlas",
            "revisions_schema": "",
        },
        # The layered example database of the standalone tools (seed 004):
        # four layers, one global version order, one revisions table.
        "hotpot": {
            "dirs": [
                "deploy/migrations/bronze",
                "deploy/migrations/bronzehistory",
                "deploy/migrations/silver",
                "deploy/migrations/gold",
            ],
            "format": "atlas",
            "revisions_schema": "",
        },
    },
    "targets": {
        "local": {"kind": "local", "dev": True},
        # A port-forwarded CNPG cluster (`inv cnpg-port-forward`).
        "cluster": {
            "kind": "server",
            "host": "localhost",
            "port": 5433,
            "user": "mydatabase",
            "password_env": "PGPASSWORD",
            "sslmode": "disable",
            "dev": False,
        },
        # Any server reachable through the URL in $DATABASE_URL.
        "cnpg": {"kind": "url", "url_env": "DATABASE_URL", "dev": False},
    },
    # The standalone `migrate` / `genmigrate` tools (dbstack.standalone.options).
    "standalone": {
        # Layer directories under here, in this order; embedded by `inv build-migrate`.
        "migrations_dir": "deploy/migrations",
        "layers": ["bronze", "bronzehistory", "silver", "gold"],
        # genmigrate's desired schema: <schema_dir>/<layer>/*.sql.
        "schema_dir": "deploy/schema",
        "pyz": "dist/migrate.pyz",
        "atlas_hcl": "manifests/schemas/atlas.hcl",
    },
    # Kind + CNPG + Atlas operator (dbstack.k8s.config.K8sSettings reads it).
    "k8s": {
        # Kind cluster name; every kubectl/helm/API call uses context kind-<name>.
        "kind_cluster": "dbstack",
        "kind_config": "kind/cluster.yaml",
        # environments.yaml, base/ and overlays/<env>/ live here.
        "manifests_dir": "manifests/cnpg",
        "cnpg_version": "1.30.0",
        "atlas_operator_chart": "oci://ghcr.io/ariga/charts/atlas-operator",
        "atlas_operator_version": "0.7.37",
        # Seconds to wait for the operators, the Cluster and the AtlasMigration.
        "operator_timeout": 300.0,
        "ready_timeout": 900.0,
    },
}

_SECRET = "****"


# --------------------------------------------------------------------------- URLs


def build_url(
    *,
    user: str,
    password: str | None,
    host: str,
    port: int,
    dbname: str,
    params: Mapping[str, str] | None = None,
    scheme: str = "postgres",
) -> str:
    """A PostgreSQL URL with every component escaped."""
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    netloc = f"{auth}@" if auth else ""
    h = f"[{host}]" if ":" in host and not host.startswith("[") else host
    url = f"{scheme}://{netloc}{h}:{port}/{quote(dbname, safe='')}"
    if params:
        url += "?" + urlencode(dict(params))
    return url


# A URL's userinfo password: everything between "user:" and the *last* "@" of the
# same whitespace-free token, so "#", "/", "?" and raw "@" in a password (which
# make the URL unparsable) are masked too. Any scheme: masking must not depend
# on the URL being one we understand.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#'\"]*:)[^\s'\"]*@")
# password= / sslpassword= (any *password key, e.g. PGPASSWORD=) in query strings,
# key=value DSNs and environment dumps; a quoted DSN value may hold spaces.
_KEY_PASSWORD = re.compile(r"(?i)(\b[A-Za-z_]*password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&'\"]*)")


def mask_secrets(text: str) -> str:
    """Every password a message may carry replaced by ****: URL userinfo, password=, sslpassword=.

    The one masking function: it works on any text (it never parses a URL, so
    it cannot fail on one), and the error printer runs every message through it.
    """
    if not text:
        return text
    text = _URL_PASSWORD.sub(rf"\g<1>{_SECRET}@", text)
    return _KEY_PASSWORD.sub(rf"\g<1>{_SECRET}", text)


def mask_url(url: str) -> str:
    """The URL with its password (and any password= parameter) replaced by ****."""
    return mask_secrets(url)


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def parse_bool(value: Any, where: str) -> bool:
    """A boolean setting, strictly: true/false/yes/no/on/off/1/0 (any case), else ConfigError.

    invoke turns every non-empty environment string except "0" into True
    (so "false" would mean yes); a setting that guards data must not guess.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
    raise ConfigError(
        f"setting {where} must be a boolean (true/false, yes/no, on/off, 1/0), got {value!r}",
        "fix it in invoke.yaml or the INVOKE_DBSTACK_… environment variable",
    )


@dataclass(frozen=True)
class ConnSpec:
    """Where and how to connect; the password stays out of repr and str."""

    host: str
    port: int
    user: str
    dbname: str
    password: str | None = field(default=None, repr=False)
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_url(cls, url: str) -> ConnSpec:
        masked = mask_secrets(url)  # before anything can fail on the raw URL
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in ("postgres", "postgresql"):
            shown = scheme if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme or "") else "(none)"
            raise ConfigError(
                f"unsupported database URL scheme {shown!r} in {masked}", "use a postgres:// or postgresql:// URL"
            )
        try:
            parts = urlsplit(url)
            port = parts.port or 5432
            hostname = parts.hostname
            username, password = parts.username, parts.password
        except ValueError as exc:
            what = "port (or an unencoded @ : / ? # in the password)" if "port" in str(exc).lower() else "host or port"
            raise ConfigError(
                f"invalid {what} in database URL {masked}",
                "fix the URL; percent-encode special characters (@ : / ? # [ ]) in the user "
                "and password, e.g. p%40ss for p@ss",
            ) from None
        return cls(
            host=unquote(hostname or "localhost"),
            port=port,
            user=unquote(username or ""),
            password=unquote(password) if password is not None else None,
            dbname=unquote(parts.path.lstrip("/")) or unquote(username or "postgres"),
            params=tuple(parse_qsl(parts.query)),
        )

    def with_db(self, dbname: str) -> ConnSpec:
        return replace(self, dbname=dbname)

    @property
    def search_path(self) -> str | None:
        """The schema a URL is bound to (Atlas: ?search_path=…)."""
        for k, v in self.params:
            if k == "search_path" and v:
                return v
        return None

    def url(self, *, masked: bool = True) -> str:
        url = build_url(
            user=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            params=dict(self.params),
        )
        return mask_url(url) if masked else url

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for psycopg.connect (password never in a string we log)."""
        kw: dict[str, Any] = {"host": self.host, "port": self.port, "dbname": self.dbname}
        if self.user:
            kw["user"] = self.user
        if self.password:
            kw["password"] = self.password
        for k, v in self.params:
            # search_path is an Atlas URL convention, not a libpq parameter.
            if k == "search_path":
                kw["options"] = f"-c search_path={v}"
            else:
                kw[k] = v
        kw.setdefault("connect_timeout", 10)
        return kw

    def __str__(self) -> str:
        return self.url(masked=True)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class DatabaseSettings:
    name: str
    dirs: tuple[Path, ...]
    format: str = "atlas"
    revisions_schema: str = ""


@dataclass(frozen=True)
class TargetSettings:
    name: str
    kind: str  # local | server | url
    dev: bool = False
    host: str = ""
    port: int = 5432
    user: str = ""
    password_env: str = ""
    url_env: str = ""
    sslmode: str = ""


@dataclass(frozen=True)
class ComposeSettings:
    file: Path
    service: str
    image: str = ""


@dataclass(frozen=True)
class EmbeddedSettings:
    data_dir: Path
    bin_dir: str = ""


@dataclass(frozen=True)
class LocalSettings:
    host: str = "127.0.0.1"
    port: int = 0
    user: str = ""
    password: str = field(default="", repr=False)
    admin_db: str = "postgres"


@dataclass(frozen=True)
class Settings:
    root: Path
    database: str
    target: str
    backend: str
    lock_timeout: float
    ready_timeout: float
    compose: ComposeSettings
    embedded: EmbeddedSettings
    local: LocalSettings
    databases: Mapping[str, DatabaseSettings]
    targets: Mapping[str, TargetSettings]
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- lookups ---------------------------------------------------------------
    def db(self, name: str | None = None) -> DatabaseSettings:
        name = name or self.database
        try:
            return self.databases[name]
        except KeyError:
            known = ", ".join(sorted(self.databases)) or "none"
            raise ConfigError(
                f"unknown database {name!r} (configured: {known})",
                "pass --db with a configured name, --dir PATH, or add it under dbstack.databases in invoke.yaml",
            ) from None

    def migration_dirs(self, db: str | None = None, dir: str | os.PathLike | None = None) -> tuple[Path, ...]:
        """The directories (layers) to work on: --dir wins over --db."""
        if dir:
            return (self.resolve(dir),)
        return self.db(db).dirs

    def require_dev(self, target: str | None, force: bool, action: str) -> TargetSettings:
        """Refuse a destructive dev command on a target that is not marked dev, unless forced."""
        t = self.target_settings(target)
        if not t.dev and not force:
            raise Refused(
                f"{action} is a development command and target {t.name!r} is not a dev target",
                f"run it against a dev target (e.g. --target local), or pass --force if you really "
                f"mean to run it on {t.name!r}",
            )
        return t

    def target_settings(self, name: str | None = None) -> TargetSettings:
        name = name or self.target
        try:
            return self.targets[name]
        except KeyError:
            known = ", ".join(sorted(self.targets))
            raise ConfigError(
                f"unknown target {name!r} (configured: {known})",
                "pass --target with a configured name or add it under dbstack.targets in invoke.yaml",
            ) from None

    def resolve(self, p: str | os.PathLike) -> Path:
        path = Path(p).expanduser()
        return Path(os.path.normpath(path if path.is_absolute() else self.root / path))

    def local_server(self) -> ConnSpec:
        """The local dev server's admin connection (database = admin_db)."""
        from .compose import load_service  # compose holds the defaults

        svc = load_service(self.compose.file, self.compose.service)
        user = self.local.user or svc.environment.get("POSTGRES_USER", "postgres")
        password = self.local.password or svc.environment.get("POSTGRES_PASSWORD", "")
        port = self.local.port or svc.published_port(5432) or 5432
        return ConnSpec(
            host=self.local.host, port=port, user=user, password=password or None, dbname=self.local.admin_db
        )

    def database_name(
        self, target: str | None = None, db: str | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        """The database a task acts on; every task resolves it here (as connection() does).

        local and server targets: --db, else dbstack.database. A url target: the
        database named in its URL (--db then only picks the migrations).
        """
        if self.target_settings(target).kind == "url":
            return self.connection(target, db, env).dbname
        return db or self.database

    def connection(
        self, target: str | None = None, db: str | None = None, env: Mapping[str, str] | None = None
    ) -> ConnSpec:
        """Connection for a target and database; passwords come from settings or env, never argv."""
        env = os.environ if env is None else env
        t = self.target_settings(target)
        dbname = db or self.database
        if t.kind == "local":
            return self.local_server().with_db(dbname)
        if t.kind == "server":
            pw = env.get(t.password_env) if t.password_env else None
            params = (("sslmode", t.sslmode),) if t.sslmode else ()
            return ConnSpec(host=t.host, port=t.port, user=t.user, password=pw, dbname=dbname, params=params)
        if t.kind == "url":
            url = env.get(t.url_env, "")
            if not url:
                raise ConfigError(
                    f"target {t.name!r} reads its URL from ${t.url_env}, which is not set",
                    f"export {t.url_env}=postgres://USER:PASSWORD@HOST:PORT/DB",
                )
            return ConnSpec.from_url(url)
        raise ConfigError(f"target {t.name!r} has unknown kind {t.kind!r}", "use kind: local, server or url")


# --------------------------------------------------------------------------- loading


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _get(m: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    v = m.get(key)
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise ConfigError(
            f"setting {where}.{key} must be {kind.__name__}, got {v!r}",
            "fix it in invoke.yaml (or the INVOKE_DBSTACK_… variable)",
        )
    return v


def _env_name(*keys: str) -> str:
    return "INVOKE_DBSTACK_" + "_".join(k.upper() for k in keys)


def _dev_flag(name: str, t: Mapping[str, Any], env: Mapping[str, str] | None) -> bool:
    """targets.<name>.dev, strictly parsed; the raw INVOKE_DBSTACK_TARGETS_<NAME>_DEV string wins.

    invoke has already cast that variable with bool() when the default was a
    bool ("false" became True), so the raw text is read again here.
    """
    var = _env_name("targets", name, "dev")
    if env is not None and var in env:
        return parse_bool(env[var], f"{var} (dbstack.targets.{name}.dev)")
    return parse_bool(t.get("dev", False), f"dbstack.targets.{name}.dev")


def from_mapping(
    mapping: Mapping[str, Any], root: str | os.PathLike | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Settings from a dbstack config mapping (defaults merged underneath).

    env: the process environment when invoke built the mapping (tasks pass
    os.environ), so boolean INVOKE_DBSTACK_… variables are parsed strictly.
    """
    root_path = Path(root or find_root()).resolve()
    m = deep_merge(DEFAULTS, _plain(mapping))
    w = "dbstack"

    def res(p: str) -> Path:
        path = Path(p).expanduser()
        return Path(os.path.normpath(path if path.is_absolute() else root_path / path))

    backend = _get(m, "backend", str, w)
    if backend not in ("auto", "docker", "embedded"):
        raise ConfigError(
            f"setting dbstack.backend must be auto, docker or embedded, got {backend!r}",
            "fix it in invoke.yaml or pass --backend",
        )
    dbs: dict[str, DatabaseSettings] = {}
    for name, d in _get(m, "databases", dict, w).items():
        if not isinstance(d, Mapping):
            raise ConfigError(f"setting dbstack.databases.{name} must be a mapping", "see invoke.yaml")
        dirs = d.get("dirs") or []
        if isinstance(dirs, str):
            dirs = [dirs]
        if not dirs:
            raise ConfigError(
                f"database {name!r} lists no migration directories", f"set dbstack.databases.{name}.dirs in invoke.yaml"
            )
        fmt = d.get("format", "atlas")
        if fmt not in ("atlas", "golang-migrate"):
            raise ConfigError(f"database {name!r}: unknown directory format {fmt!r}", "use atlas or golang-migrate")
        dbs[name] = DatabaseSettings(
            name=name,
            dirs=tuple(res(x) for x in dirs),
            format=fmt,
            revisions_schema=str(d.get("revisions_schema") or ""),
        )
    targets: dict[str, TargetSettings] = {}
    for name, t in _get(m, "targets", dict, w).items():
        if not isinstance(t, Mapping):
            raise ConfigError(f"setting dbstack.targets.{name} must be a mapping", "see invoke.yaml")
        kind = t.get("kind", "server")
        if kind not in ("local", "server", "url"):
            raise ConfigError(f"target {name!r} has unknown kind {kind!r}", "use kind: local, server or url")
        targets[name] = TargetSettings(
            name=name,
            kind=kind,
            dev=_dev_flag(name, t, env),
            host=str(t.get("host", "")),
            port=int(t.get("port", 5432)),
            user=str(t.get("user", "")),
            password_env=str(t.get("password_env", "")),
            url_env=str(t.get("url_env", "")),
            sslmode=str(t.get("sslmode", "")),
        )
    c, e, loc = m["compose"], m["embedded"], m["local"]
    return Settings(
        root=root_path,
        database=_get(m, "database", str, w),
        target=_get(m, "target", str, w),
        backend=backend,
        lock_timeout=_get(m, "lock_timeout", float, w),
        ready_timeout=_get(m, "ready_timeout", float, w),
        compose=ComposeSettings(
            file=res(_get(c, "file", str, w + ".compose")),
            service=_get(c, "service", str, w + ".compose"),
            image=_get(c, "image", str, w + ".compose"),
        ),
        embedded=EmbeddedSettings(
            data_dir=res(_get(e, "data_dir", str, w + ".embedded")), bin_dir=_get(e, "bin_dir", str, w + ".embedded")
        ),
        local=LocalSettings(
            host=_get(loc, "host", str, w + ".local"),
            port=_get(loc, "port", int, w + ".local"),
            user=_get(loc, "user", str, w + ".local"),
            password=_get(loc, "password", str, w + ".local"),
            admin_db=_get(loc, "admin_db", str, w + ".local"),
        ),
        databases=dbs,
        targets=targets,
        raw=m,
    )


def _plain(m: Any) -> Any:
    """invoke's DataProxy → plain dicts/lists."""
    if isinstance(m, Mapping) or hasattr(m, "items"):
        return {k: _plain(v) for k, v in m.items()}
    if isinstance(m, (list, tuple)):
        return [_plain(v) for v in m]
    return m


def find_root(start: str | os.PathLike | None = None) -> Path:
    """The project root: the nearest directory holding tasks.py or invoke.yaml."""
    p = Path(start or os.getcwd()).resolve()
    for d in (p, *p.parents):
        if (d / "invoke.yaml").is_file() or (d / "tasks.py").is_file():
            return d
    return p


def load(root: str | os.PathLike | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings without invoke: defaults, then the project's invoke.yaml, then overrides."""
    import yaml

    root_path = Path(root) if root else find_root()
    data: Mapping[str, Any] = {}
    cfg = root_path / "invoke.yaml"
    if cfg.is_file():
        try:
            data = (yaml.safe_load(cfg.read_text()) or {}).get("dbstack") or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{cfg} is not valid YAML: {exc}", "fix the file") from None
    if overrides:
        data = deep_merge(data, overrides)
    return from_mapping(data, root_path)
