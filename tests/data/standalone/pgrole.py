"""A login role with a hard password and a database it owns, on the test server."""

from __future__ import annotations

import contextlib
import uuid

# Every character that breaks naive URL, DSN, YAML or HCL handling.
HARD_PASSWORD_PREFIX = "Pw@:/?#%&=' \"\\${x}"


@contextlib.contextmanager
def role_and_database(server, *, dbname: str | None = None, createdb: bool = False):
    """Yield (user, password, dbname); both dropped afterwards."""
    import psycopg
    from psycopg import sql

    tag = uuid.uuid4().hex[:10]
    user = f"hp_{tag}"
    password = HARD_PASSWORD_PREFIX + uuid.uuid4().hex
    dbname = dbname or f"hotpot_{tag}"
    with psycopg.connect(**server.connect_kwargs(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN {} PASSWORD {}").format(
                sql.Identifier(user), sql.SQL("CREATEDB" if createdb else "NOCREATEDB"), sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(user)))
    try:
        yield user, password, dbname
    finally:
        with psycopg.connect(**server.connect_kwargs(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = %s)", (user,)
            ).fetchall()
            for (name,) in rows:  # scratch databases a failed run may have left
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def write_config(path, server, user: str, password: str, dbname: str, sslmode: str = "disable") -> None:
    import yaml

    path.write_text(
        yaml.safe_dump(
            {
                "database": {
                    "host": server.host,
                    "port": server.port,
                    "user": user,
                    "password": password,
                    "dbname": dbname,
                    "sslmode": sslmode,
                }
            }
        )
    )
