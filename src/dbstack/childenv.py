"""The environment a child process gets: an allow-list, never "ours minus what looks secret".

Our own environment may hold ``DATABASE_URL``, ``PGPASSWORD``,
``INVOKE_DBSTACK_…PASSWORD`` or a Vault token; a child (git, atlas, a
server) can leak what it inherits (``/proc/<pid>/environ`` is readable by the
same user, and a database superuser can run ``COPY … FROM PROGRAM 'env'``).
So a child gets only the variables it needs to run, and none whose value
contains a password in any of the forms it may be written in. Every child
(git, atlas, initdb/pg_ctl/postgres of the embedded server) gets its
environment from :func:`child_env`; what differs is its list.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote

# What any well-behaved Unix tool needs: where to find programs, the user's
# home and locale, and where to put temporary files.
BASE_ALLOW = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "SHELL", "SYSTEMROOT")
BASE_PREFIXES = ("LC_",)
# Per tool, on top of the base.
GIT_ALLOW = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "XDG_CONFIG_HOME",
)
ATLAS_ALLOW = (
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "ATLAS_NO_UPDATE_NOTIFIER",
    "ATLAS_NO_UPGRADE_SUGGESTIONS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
)
# initdb, pg_ctl and the embedded server: nothing of the user's shell (no HOME, no
# DBSTACK_CHILD_ENV_ALLOW), only what finds programs and libraries and sets the locale.
SERVER_ALLOW = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TZ",
    "TMPDIR",
    "SYSTEMROOT",
    "LD_LIBRARY_PATH",
    "DYLD_LIBRARY_PATH",
    "DYLD_FALLBACK_LIBRARY_PATH",
)
# Names a user adds to every child's allow-list (comma-separated); values are still
# checked for secrets.
EXTRA_ALLOW_VAR = "DBSTACK_CHILD_ENV_ALLOW"


def secret_forms(secret: str) -> set[str]:
    """The ways a password can be written into another variable: raw, URL-encoded, base64."""
    if not secret:
        return set()
    raw = secret.encode("utf-8")
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(secret),
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii"),
    }
    # base64 of a longer value holding the secret only shows it from an aligned offset;
    # the unpadded stem still catches the common case of the secret itself.
    forms |= {f.rstrip("=") for f in list(forms)}
    return {f for f in forms if len(f) >= 3 or f == secret}


_SECRET_NAME = re.compile(r"(?i)PASSW(OR)?D|TOKEN|SECRET|CREDENTIAL")
_URL_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:([^\s]*)@")
_KEY_PASSWORD = re.compile(r"(?i)\b[a-z_]*password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)")


def env_secrets(env: Mapping[str, str]) -> set[str]:
    """Passwords our own environment holds: credential-named variables, URL and DSN passwords."""
    found = set()
    for k, v in env.items():
        if not v:
            continue
        if _SECRET_NAME.search(k):
            found.add(v)
        for m in _URL_USERINFO.finditer(v):
            found |= {m.group(1), unquote(m.group(1))}
        for m in _KEY_PASSWORD.finditer(v):
            found.add(m.group(1).strip("'"))
    return {s for s in found if len(s) >= 4}


def child_env(
    allow: Iterable[str] = (),
    *,
    secrets: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    base: bool = True,
) -> dict[str, str]:
    """BASE_ALLOW + allow taken from env (default os.environ), minus any value holding a secret; then extra.

    The secrets are those given plus every password env itself holds (env_secrets).
    base=False: exactly the names in allow (no BASE_ALLOW, LC_* or DBSTACK_CHILD_ENV_ALLOW).
    """
    env = os.environ if env is None else env
    names = set(allow)
    prefixes: tuple[str, ...] = ()
    if base:
        names |= set(BASE_ALLOW)
        names |= {n.strip() for n in env.get(EXTRA_ALLOW_VAR, "").split(",") if n.strip()}
        prefixes = BASE_PREFIXES
    forms: set[str] = set()
    for s in set(secrets) | env_secrets(env):
        forms |= secret_forms(s or "")
    out = {}
    for k, v in env.items():
        if k in names or k.startswith(prefixes):
            if not any(f in v for f in forms):
                out[k] = v
    out.update(extra or {})
    return out


def server_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of initdb, pg_ctl and the embedded server: SERVER_ALLOW, a PATH, a UTF-8 locale."""
    out = child_env(SERVER_ALLOW, env=env, base=False)
    out.setdefault("PATH", os.defpath)
    out["LC_ALL"] = out.get("LC_ALL") or "C.UTF-8"
    return out
