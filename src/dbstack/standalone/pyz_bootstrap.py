"""The ``__main__.py`` of ``migrate.pyz`` (copied in by the build, BUILD_INFO filled in).

Compiled extension modules (psycopg's binary driver, PyYAML's and
charset-normalizer's speedups) cannot be imported from inside a zip file, so
on first run the bundled ``lib/`` tree is extracted once into a per-build
cache directory, ``$DBSTACK_MIGRATE_CACHE`` or ``$XDG_CACHE_HOME/dbstack`` or
``~/.cache/dbstack``, as ``migrate-<build id>/`` (``genmigrate-<build id>/`` for genmigrate.pyz), and put first on
``sys.path``. Later runs reuse it. A new build removes the trees of older
builds but the most recently used other one (a run of the previous version
may still be going on); ``inv build-migrate`` prunes the same way. Only the
standard library is used here.
"""

import os
import re
import shutil
import stat
import sys
import tempfile
import zipfile

# Replaced by the build: build id, cache_tag, platform, entry point, tool. A type comment, not an
# annotation: this file runs under whatever python3 starts the archive.
BUILD_INFO = {}  # type: dict[str, str]

LIB = "lib/"
DONE = ".complete"


def cache_root(env=os.environ):
    if env.get("DBSTACK_MIGRATE_CACHE"):
        return env["DBSTACK_MIGRATE_CACHE"]
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dbstack")


def fail(message, hint):
    sys.stderr.write("Error: %s\n  hint: %s\n" % (message, hint))
    sys.exit(1)


def check_interpreter(info):
    import sysconfig

    tool = info.get("tool", "migrate")
    want_tag, want_platform = info.get("cache_tag"), info.get("platform")
    if sys.implementation.cache_tag != want_tag or sysconfig.get_platform() != want_platform:
        fail(
            "this %s.pyz was built for %s on %s, but runs on %s on %s (its bundled database driver "
            "is compiled for the former)"
            % (tool, want_tag, want_platform, sys.implementation.cache_tag, sysconfig.get_platform()),
            "run it with that Python (e.g. python3.%s %s.pyz), or rebuild it with `inv build-%s` "
            "using the Python that will run it" % (want_tag.replace("cpython-3", ""), tool, tool)
            if want_tag
            else "rebuild it",
        )


def _own_dir(path):
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        fail(
            "the cache directory %s is not a directory owned by this user" % path,
            "remove it, or point DBSTACK_MIGRATE_CACHE at a directory of your own",
        )


def extract(archive, root, build, tool="migrate"):
    """The extracted lib/ tree of this build (extracting it first if needed)."""
    target = os.path.join(root, tool + "-" + build)
    if os.path.isfile(os.path.join(target, DONE)):
        _own_dir(target)
        try:
            os.utime(os.path.join(target, DONE))  # "last used", for prune()
        except OSError:
            pass
        return target
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
    except OSError as exc:
        fail(
            "cannot create the cache directory %s: %s" % (root, exc.strerror),
            "set DBSTACK_MIGRATE_CACHE (or XDG_CACHE_HOME) to a writable directory",
        )
    _own_dir(root)
    tmp = tempfile.mkdtemp(prefix="." + tool + "-" + build + ".", dir=root)
    try:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = info.filename
                if not name.startswith(LIB) or name.endswith("/"):
                    continue
                rel = name[len(LIB) :]
                parts = rel.split("/")
                if not rel or any(p in ("", ".", "..") for p in parts):
                    fail("%s.pyz contains a bad entry %r" % (tool, name), "rebuild it with `inv build-%s`" % tool)
                dest = os.path.join(tmp, *parts)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with z.open(info) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
                mode = (info.external_attr >> 16) & 0o777
                os.chmod(dest, mode or 0o644)
        with open(os.path.join(tmp, DONE), "w") as fh:
            fh.write(build + "\n")
        try:
            os.rename(tmp, target)
        except OSError:
            # Another run extracted the same build meanwhile; use theirs.
            if not os.path.isfile(os.path.join(target, DONE)):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prune(root, build, keep_others=1, tool=tool)
    return target


def prune(root, current, keep_others=0, tool="migrate"):
    """Remove extracted trees (<tool>-<build>/) of builds other than current; the paths removed.

    Only complete trees of this user are touched; the keep_others most
    recently used ones stay.
    """
    try:
        names = os.listdir(root)
    except OSError:
        return []
    found = []
    for name in names:
        if not re.fullmatch(re.escape(tool) + r"-[0-9a-f]{16}", name) or name == tool + "-" + current:
            continue
        path = os.path.join(root, name)
        try:
            st = os.lstat(path)
            used = os.stat(os.path.join(path, DONE)).st_mtime
        except OSError:
            continue  # not a finished tree
        if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            continue
        found.append((used, path))
    found.sort(reverse=True)
    removed = []
    for _used, path in found[keep_others:]:
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            removed.append(path)
    return removed


def main():
    info = BUILD_INFO
    check_interpreter(info)
    archive = os.path.dirname(os.path.abspath(__file__))
    lib = extract(archive, cache_root(), info["build"], info.get("tool", "migrate"))
    # Nothing may be imported from the zip itself (or from a stray checkout).
    sys.path[:] = [lib] + [p for p in sys.path if os.path.abspath(p or ".") != archive]
    module, _, func = info["entry"].partition(":")
    import importlib

    sys.exit(getattr(importlib.import_module(module), func)())


if __name__ == "__main__":
    main()
