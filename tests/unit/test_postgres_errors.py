"""dbstack.postgres without a server: the one connection-error wording, database and helper names.

Also what the error classes carry (report, version) and the one child-environment allow-list.
"""

from __future__ import annotations

import os
import re

import pytest

from dbstack import childenv
from dbstack.errors import DatabaseError, DbstackError, DiffUnverified, MigrationError, UsageError
from dbstack.postgres import check_name, connect, connect_error, scratch_name
from dbstack.settings import ConnSpec

SPEC = ConnSpec(host="db.example", port=6543, user="app", password="pw-Secret9", dbname="shop")

REFUSED = (
    'connection failed: connection to server at "db.example" (10.0.0.5), port 6543 failed: '
    "Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"
)
NO_DB = (
    'connection failed: connection to server at "db.example", port 6543 failed: FATAL:  database "shop" does not exist'
)
BAD_PW = (
    'connection failed: connection to server at "db.example", port 6543 failed: FATAL:  '
    'password authentication failed for user "app"'
)
OTHER = 'connection failed: connection to server at "db.example", port 6543 failed: FATAL:  too many clients'


@pytest.mark.parametrize("text", [REFUSED, NO_DB, BAD_PW, OTHER])
def test_one_wording_names_the_masked_url_and_libpq_first_line(text):
    err = connect_error(SPEC, Exception(text))
    assert isinstance(err, DatabaseError)
    assert err.message == f"cannot connect to postgres://app:****@db.example:6543/shop: {text.splitlines()[0]}"
    assert "pw-Secret9" not in err.render()
    assert err.hint


def test_the_hint_says_what_to_do():
    assert connect_error(SPEC, Exception(NO_DB)).hint.startswith("create the database first")
    assert connect_error(SPEC, Exception(BAD_PW)).hint.startswith("check the password")
    # The server itself did not answer: the hint names it (host and port).
    assert connect_error(SPEC, Exception(REFUSED)).hint.startswith("cannot connect to db.example:6543 at all")
    assert connect_error(SPEC, Exception(OTHER)).hint.startswith("check that the server is running")


def test_a_password_in_libpq_text_is_masked_and_an_empty_error_is_named():
    err = connect_error(SPEC, Exception("could not parse postgres://app:hunter22@x/db"))
    assert "hunter22" not in err.render()
    assert connect_error(SPEC, Exception("")).message.endswith(": Exception")


def test_connect_turns_a_refused_connection_into_the_one_error():
    from dbstack.local.pgctl import free_port

    dead = ConnSpec(host="127.0.0.1", port=free_port(), user="u", password="pw-Secret9", dbname="d")
    with pytest.raises(DatabaseError) as exc:
        connect(dead, connect_timeout="3")
    assert exc.value.message.startswith(f"cannot connect to postgres://u:****@127.0.0.1:{dead.port}/d: ")
    assert "pw-Secret9" not in exc.value.render()


def test_helper_names():
    # With a tag: the same name every time, for the same database; short enough to keep.
    assert scratch_name("shop", "new") == scratch_name("shop", "new") != scratch_name("shop", "old")
    assert re.fullmatch(r"shop_dbstack_new_[0-9a-f]{8}", scratch_name("shop", "new"))
    assert check_name(scratch_name("é" * 31, "old"))
    # Without: unique to this process, in the form leftovers() recognises.
    a, b = scratch_name("dbstack_lint"), scratch_name("dbstack_lint")
    assert a != b and re.fullmatch(rf"dbstack_lint_{os.getpid()}_[0-9a-f]{{8}}", a)
    assert re.fullmatch(rf"dbstack_scratch_{os.getpid()}_[0-9a-f]{{8}}", scratch_name())
    with pytest.raises(UsageError, match="NUL"):
        check_name("a\x00b")


def test_errors_declare_what_they_carry():
    plain = DbstackError("x")
    assert plain.report is None and plain.output == ""
    err = MigrationError("applying version 3 failed: pq: boom", "fix it", version="3", report="the report")
    assert (err.version, err.report, err.hint) == ("3", "the report", "fix it")
    assert MigrationError("lock held").version is None
    assert issubclass(DiffUnverified, MigrationError) and DiffUnverified("x").exit_code == 1


def test_server_env_is_the_child_env_with_the_server_list():
    env = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "LC_CTYPE": "C.UTF-8",
        "LC_NUMERIC": "de_DE",
        "LD_LIBRARY_PATH": "/opt/pg/lib",
        "DATABASE_URL": "postgres://a:pw-Secret9@h/d",
        "DBSTACK_CHILD_ENV_ALLOW": "FOO",
        "FOO": "1",
        "TZ": "pw-Secret9",
    }
    # Only the server's names: no HOME, no other LC_*, no user additions; values holding a password go.
    assert childenv.server_env(env) == {
        "PATH": "/usr/bin",
        "LC_CTYPE": "C.UTF-8",
        "LD_LIBRARY_PATH": "/opt/pg/lib",
        "LC_ALL": "C.UTF-8",
    }
    assert childenv.server_env({}) == {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}
    assert childenv.server_env({"LC_ALL": "de_DE.UTF-8"})["LC_ALL"] == "de_DE.UTF-8"
    # git and atlas keep the base list, LC_* and the user's additions.
    assert childenv.child_env(env=env) == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "LC_CTYPE": "C.UTF-8",
        "LC_NUMERIC": "de_DE",
        "FOO": "1",
    }
