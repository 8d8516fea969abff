"""An offline stand-in for the official postgres image, for the Docker test tier.

No registry is reachable on the test machines, so ``postgres:18`` cannot be
pulled. Instead we build an image from Debian packages: ``mmdebstrap`` makes a
bookworm root filesystem holding ``postgresql-15``, ``docker import`` turns it
into an image, and ``standin-entrypoint.sh`` behaves like the official
entrypoint (POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB /
POSTGRES_INITDB_ARGS, ``postgres -c …`` commands, server runs as ``postgres``).

The image is built once per machine and reused: its ``dbstack.standin.recipe``
label holds a hash of this recipe, so a changed recipe rebuilds it.

    python tests/docker/standin.py          # build (or confirm) the image
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAG = "dbstack-standin/postgres:15"
ENTRYPOINT = HERE / "standin-entrypoint.sh"
PGDATA = "/var/lib/postgresql/data"
SUITE = "bookworm"

# Older official images (≤ 17) keep their data here too; the Docker backend
# must find this from the image config, not from the compose file's mount.
CHANGES = [
    f"ENV PGDATA={PGDATA}",
    "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    f"VOLUME {PGDATA}",
    'ENTRYPOINT ["docker-entrypoint.sh"]',
    'CMD ["postgres"]',
    "EXPOSE 5432",
    # docker import cannot set STOPSIGNAL (the official image uses SIGINT);
    # the Docker backend stops the server with SIGINT itself.
]

_CUSTOMIZE = [
    # The package's postinst creates a "main" cluster; the image must start empty.
    'rm -rf "$1/var/lib/postgresql/15" "$1/etc/postgresql/15"',
    f'mkdir -p "$1{PGDATA}" "$1/var/run/postgresql"',
    'chroot "$1" chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql',
    'rm -rf "$1/usr/share/doc" "$1/usr/share/man" "$1/usr/share/locale" "$1/var/cache/apt" "$1/var/lib/apt/lists"',
]


def recipe_hash() -> str:
    h = hashlib.sha256()
    h.update(ENTRYPOINT.read_bytes())
    h.update("\n".join(CHANGES + _CUSTOMIZE + [SUITE]).encode())
    return h.hexdigest()[:16]


def _client():
    import docker

    return docker.from_env()


def present(client=None, tag: str = TAG) -> bool:
    """The image exists and was built from this recipe."""
    import docker

    client = client or _client()
    try:
        img = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return (img.labels or {}).get("dbstack.standin.recipe") == recipe_hash()


def build(client=None, tag: str = TAG, log=print) -> str:
    """Build the image (about a minute) and return its tag."""
    client = client or _client()
    if not shutil.which("mmdebstrap"):
        raise RuntimeError("mmdebstrap is not installed: run scripts/setup --test (or apt-get install mmdebstrap)")
    work = Path(tempfile.mkdtemp(prefix="dbstack-standin-"))
    try:
        rootfs = work / "rootfs.tar"
        hooks = [f"--customize-hook={h}" for h in _CUSTOMIZE]
        hooks.append(f"--customize-hook=copy-in {ENTRYPOINT} /usr/local/bin")
        hooks.append(
            '--customize-hook=mv "$1/usr/local/bin/standin-entrypoint.sh" "$1/usr/local/bin/docker-entrypoint.sh"'
        )
        cmd = [
            "mmdebstrap",
            "--variant=minbase",
            "--include=postgresql-15",
            "--quiet",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
            *hooks,
            SUITE,
            str(rootfs),
        ]
        t0 = time.monotonic()
        log(f"building {tag} with mmdebstrap ({SUITE} + postgresql-15) ...")
        cp = subprocess.run(cmd, capture_output=True, text=True)
        if cp.returncode != 0:
            raise RuntimeError(f"mmdebstrap failed (exit {cp.returncode}):\n{cp.stderr[-4000:]}")
        changes = CHANGES + [f"LABEL dbstack.standin.recipe={recipe_hash()}"]
        repo, _, version = tag.rpartition(":")
        client.api.import_image_from_file(str(rootfs), repository=repo, tag=version, changes=changes)
        if not present(client, tag):
            raise RuntimeError(f"docker import did not produce {tag} with the recipe label")
        log(f"built {tag} in {time.monotonic() - t0:.0f}s")
        return tag
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure(client=None, tag: str = TAG, log=print) -> str:
    """The stand-in image's tag, building it first if this machine lacks it."""
    client = client or _client()
    if present(client, tag):
        return tag
    return build(client, tag, log)


if __name__ == "__main__":
    try:
        print(ensure())
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
