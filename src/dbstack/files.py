"""Writing files so that a reader sees the old content or the new, never a half.

Every file dbstack writes for later use (atlas.sum, rendered manifests, caches,
the migrate.pyz build, inspection output) goes through :func:`atomic_write`.
The temporary file is created beside the target with ``O_EXCL | O_NOFOLLOW``
under a name no one can guess, so a symlink planted at a predictable
``<name>.tmp`` is never followed, and two writers never share a temporary
file. Errors are ``OSError``: each caller knows what to tell the user.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write(path: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one rename; parents are created.

    ``mode`` None gives what a plain ``open(path, "w")`` gives (0666 less the
    umask); otherwise exactly ``mode``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, data: bytes) -> bool:
    """:func:`atomic_write` unless the file already holds ``data``; True when it changed."""
    if path.is_file() and path.read_bytes() == data:
        return False
    atomic_write(path, data)
    return True
