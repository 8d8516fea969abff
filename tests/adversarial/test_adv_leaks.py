"""Password leaks (issue 11, item 8): error messages and the environment and argv of children.

Children are scanned through /proc/<pid>/environ and /proc/<pid>/cmdline for
the password in raw, URL-encoded and base64 form.
"""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from adv_support import INV, ROOT, clean_env, make_dir

PASSWORD = "Sup3r#s/cr?t@pw"
FORMS = {
    "raw": PASSWORD,
    "url-encoded": quote(PASSWORD, safe=""),
    "base64": base64.b64encode(PASSWORD.encode()).decode(),
}


def _leaks(text: str) -> list[str]:
    return [k for k, v in FORMS.items() if v in text] + (["fragment"] if "cr?t" in text or "s/cr" in text else [])


@pytest.mark.parametrize(
    "url",
    [
        f"postgres://u:{PASSWORD}@127.0.0.1:1/db",  # raw # / ? @ in the password
        "postgres://u:pa#ss@127.0.0.1:1/db".replace("pa#ss", PASSWORD.split("@")[0]),
        f"mysql://u:{quote(PASSWORD, safe='')}@127.0.0.1:1/db",  # unknown scheme
        f"postgres://u:{quote(PASSWORD, safe='')}@[::1/db",  # unparsable host
        f"postgres://u:{quote(PASSWORD, safe='')}@127.0.0.1:1/db",  # valid: the connection fails
        f"postgres://127.0.0.1:1/db?sslpassword={quote(PASSWORD, safe='')}&password={quote(PASSWORD, safe='')}",
        f"host=127.0.0.1 port=1 password='{PASSWORD}'",  # a key=value DSN where a URL belongs
    ],
)
def test_error_messages_never_show_the_password(url):
    env = clean_env(DATABASE_URL=url)
    cp = subprocess.run(
        [INV, "migrate-status", "--target", "cnpg"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert cp.returncode != 0
    assert cp.stderr.startswith("Error: "), cp.stderr
    assert "unexpected" not in cp.stderr
    assert _leaks(cp.stdout + cp.stderr) == [], cp.stderr


def test_mask_secrets_forms():
    from dbstack.settings import mask_secrets

    for text in (
        f"postgres://u:{PASSWORD}@h/db",
        f"x postgres://:{PASSWORD}@h/db y",
        f"host=h password={PASSWORD.replace(' ', '')} user=u",
        f"sslpassword={PASSWORD}",
        f"postgres://h/db?a=1&password={quote(PASSWORD, safe='')}",
        f"PGPASSWORD={PASSWORD}",
        f"weird+scheme://user:{PASSWORD}@host",
    ):
        assert _leaks(mask_secrets(text)) == [], text


def _spy(bindir: Path, name: str, dump: Path, real: str | None) -> None:
    """An executable `name` that copies its own /proc environ and cmdline, then runs the real tool."""
    script = bindir / name
    tail = f'exec "{real}" "$@"' if real else "cat >/dev/null; exit 0"
    script.write_text(
        "#!/bin/sh\n"
        f'cat /proc/$$/environ > "{dump}/{name}-$$.environ"\n'
        f'cat /proc/$$/cmdline > "{dump}/{name}-$$.cmdline"\n' + tail + "\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def secret_env(monkeypatch, tmp_path):
    """Our environment full of the password, as a developer's shell may be; spies on PATH."""
    monkeypatch.setenv("DATABASE_URL", f"postgres://u:{quote(PASSWORD, safe='')}@127.0.0.1:1/db")
    monkeypatch.setenv("INVOKE_DBSTACK_LOCAL_PASSWORD", PASSWORD)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    monkeypatch.setenv("APP_SECRET_B64", FORMS["base64"])
    monkeypatch.setenv("LC_SECRETISH", FORMS["url-encoded"])  # allow-listed name, secret value
    bindir, dump = tmp_path / "spybin", tmp_path / "dump"
    bindir.mkdir()
    dump.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return bindir, dump


def _scan(dump: Path) -> dict[str, list[str]]:
    found = {}
    for f in sorted(dump.iterdir()):
        text = f.read_bytes().replace(b"\0", b"\n").decode("utf-8", "replace")
        found[f.name] = _leaks(text) + (["DATABASE_URL"] if "DATABASE_URL" in text else [])
    return found


def test_git_children_of_lint_get_an_allow_listed_environment(secret_env, tmp_path):
    from dbstack.analysis.lint import git_changed_files

    bindir, dump = secret_env
    repo = tmp_path / "repo"
    d = make_dir(repo / "m", {"1_a.sql": "SELECT 1;\n"})
    genv = clean_env(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=repo, env=genv, check=True)
    _spy(bindir, "git", dump, shutil.which("git", path=os.defpath + ":/usr/bin"))
    git_changed_files("HEAD", [d])
    found = _scan(dump)
    assert len(found) >= 8  # 4 git runs: environ + cmdline each
    assert all(v == [] for v in found.values()), found


def test_atlas_child_gets_no_password_in_any_form(secret_env, tmp_path):
    from dbstack.standalone.atlas_bridge import run_atlas

    bindir, dump = secret_env
    _spy(bindir, "atlas", dump, None)
    hcl = f'env "migrate" {{ url = "postgres://u:{quote(PASSWORD, safe="")}@h/db" }}\n'  # on stdin only
    assert run_atlas(["migrate", "status"], hcl, env_name="migrate", secrets=[PASSWORD]) == 0
    found = _scan(dump)
    assert len(found) == 2 and all(v == [] for v in found.values()), found
