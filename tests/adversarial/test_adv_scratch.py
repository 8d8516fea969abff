"""Scratch databases and signals (issue 11): Ctrl-C or SIGTERM right after CREATE DATABASE leaves nothing.

A child process runs drift or lint twelve times; each time the signal is sent
to the whole process the moment the scratch database exists (the worst spot:
it used to be delivered before the `try` that drops it, or to drift's worker
thread). Afterwards no database with our prefix may be left.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from adv_support import clean_env, databases, make_dir, query

pytestmark = pytest.mark.postgres

CHILD = r"""
import os, signal, sys
from dbstack.settings import ConnSpec
from dbstack.inspect import scratch
from dbstack.migrations.layers import Layers

host, port, user, db, what, sig, mdir = sys.argv[1:]
spec = ConnSpec(host=host, port=int(port), user=user, dbname=db, password=sys.stdin.readline().rstrip("\n"))
real = scratch.create_database

def create_then_signal(server, name, **kw):
    real(server, name, **kw)
    os.kill(os.getpid(), getattr(signal, sig))   # process-directed: any unblocked thread may take it

scratch.create_database = create_then_signal
interrupted = 0
for _ in range(12):
    try:
        if what == "drift":
            from dbstack.analysis.drift import drift
            drift(spec, Layers.of([mdir]))
        else:
            from dbstack.analysis.lint import lint_layers
            lint_layers(Layers.of([mdir]), spec)
    except (KeyboardInterrupt, SystemExit):
        interrupted += 1
print(interrupted)
"""


@pytest.mark.parametrize("what,prefix", [("drift", "dbstack_scratch"), ("lint", "dbstack_lint")])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_signal_right_after_create_database_leaves_no_scratch_database(fresh_db, tmp_path, what, prefix, sig):
    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id int);\n"})
    before = databases(fresh_db, prefix + "\\_%")
    cp = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            fresh_db.host,
            str(fresh_db.port),
            fresh_db.user,
            fresh_db.dbname,
            what,
            sig,
            str(d),
        ],
        input=(fresh_db.password or "") + "\n",
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "12"  # the signal interrupted every run
    assert databases(fresh_db, prefix + "\\_%") == before  # and none left its database behind


def test_leftover_of_a_killed_run_is_dropped_by_the_next_and_reported_before(fresh_db, pg_server, tmp_path):
    from dbstack.analysis.drift import drift
    from dbstack.inspect.scratch import leftovers
    from dbstack.migrations.layers import Layers

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()  # a pid that no longer runs
    name = f"dbstack_scratch_{dead}_0123abcd"
    query(pg_server, f'CREATE DATABASE "{name}"')
    busy = f"dbstack_scratch_{dead}_4567abcd"  # someone is connected: in use, left alone
    query(pg_server, f'CREATE DATABASE "{busy}"')
    import psycopg

    holder = psycopg.connect(**pg_server.with_db(busy).connect_kwargs())
    try:
        assert name in leftovers(pg_server)  # what `inv doctor` reports
        assert busy not in leftovers(pg_server)
        d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id int);\n"})
        drift(fresh_db, Layers.of([d]))
        assert databases(pg_server, name) == []  # dropped by the next run
        assert databases(pg_server, busy) == [busy]
    finally:
        holder.close()
        query(pg_server, f'DROP DATABASE IF EXISTS "{busy}"')


def test_doctor_reports_a_leftover(pg_server, tmp_path):
    from dbstack.doctor import _scratch_checks
    from dbstack.settings import from_mapping

    (tmp_path / "docker-compose.yml").write_text("services:\n  postgres:\n    image: postgres:15\n")
    s = from_mapping(
        {
            "local": {
                "host": pg_server.host,
                "port": pg_server.port,
                "user": pg_server.user,
                "password": pg_server.password,
            }
        },
        tmp_path,
    )
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    name = f"dbstack_lint_{dead}_89abcdef"
    query(pg_server, f'CREATE DATABASE "{name}"')
    try:
        (check,) = _scratch_checks(s)
        assert check.level == "warn" and name in check.detail and f'DROP DATABASE "{name}"' in check.fix
    finally:
        query(pg_server, f'DROP DATABASE IF EXISTS "{name}"')
    (check,) = _scratch_checks(s)
    assert check.level == "ok"
