import psycopg
import pytest

pytestmark = pytest.mark.postgres


def test_server_accepts_password_login_over_tcp(fresh_db):
    with psycopg.connect(**fresh_db.connect_kwargs()) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == fresh_db.dbname
        assert conn.info.server_version >= 150000


def test_wrong_password_is_refused(pg_server):
    from dataclasses import replace

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(**replace(pg_server, password="wrong").connect_kwargs())
