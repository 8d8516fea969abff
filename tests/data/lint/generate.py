"""Regenerates the lint corpus (one directory per code + clean) and expected.tsv.

Run: .venv/bin/python tests/data/lint/generate.py
"""

import shutil
import sys

sys.path.insert(0, "src")
from pathlib import Path

from dbstack.migrations.directory import MigrationDir

root = Path("tests/data/lint")
base = (root / "base.sql").read_text()
# case -> (file description, content, code, substring of the flagged line)
TX = "-- atlas:txmode none\n\n"
cases = {
    "DS101": ("drop_archive", "DROP SCHEMA archive CASCADE;\n", "DROP SCHEMA"),
    "DS102": ("drop_tags", "-- Tags are gone.\nDROP TABLE tags;\n", "DROP TABLE"),
    "DS103": ("drop_bio", "ALTER TABLE users DROP COLUMN bio;\n", "DROP COLUMN"),
    "MF101": (
        "unique_email",
        TX + "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n",
        "CREATE UNIQUE",
    ),
    "MF102": (
        "unique_title",
        TX + "DROP INDEX CONCURRENTLY posts_title_idx;\n"
        "CREATE UNIQUE INDEX CONCURRENTLY posts_title_idx ON posts (title);\n",
        "CREATE UNIQUE",
    ),
    "MF103": ("team_id", "ALTER TABLE users ADD COLUMN team_id bigint NOT NULL;\n", "ADD COLUMN"),
    "MF104": ("body_not_null", "ALTER TABLE notes ALTER COLUMN body SET NOT NULL;\n", "SET NOT NULL"),
    "BC101": ("rename_tags", "ALTER TABLE tags RENAME TO labels;\n", "RENAME TO"),
    "BC102": ("rename_nick", "ALTER TABLE users RENAME COLUMN nick TO nickname;\n", "RENAME COLUMN"),
    "CD101": ("drop_fk", "ALTER TABLE posts DROP CONSTRAINT posts_user_fk;\n", "DROP CONSTRAINT"),
    "PG101": ("age_idx", "CREATE INDEX users_age_idx ON users (age);\n", "CREATE INDEX"),
    "PG102": ("drop_title_idx", "DROP INDEX posts_title_idx;\n", "DROP INDEX"),
    "PG103": (
        "age_idx_concurrently",
        "-- Concurrently, but in a transaction.\nCREATE INDEX CONCURRENTLY users_age_idx ON users (age);\n",
        None,
    ),
    "PG104": ("posts_pk", "ALTER TABLE posts ADD PRIMARY KEY (id);\n", "PRIMARY KEY"),
    "PG105": (
        "tags_code",
        "ALTER TABLE tags ADD COLUMN code text;\nALTER TABLE tags ADD CONSTRAINT tags_code_key UNIQUE (code);\n",
        "UNIQUE",
    ),
    "PG301": ("age_bigint", "ALTER TABLE users ALTER COLUMN age TYPE bigint;\n", "TYPE bigint"),
    "PG302": ("token", "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();\n", "ADD COLUMN"),
    "PG303": (
        "email_not_null",
        "UPDATE users SET email = '' WHERE email IS NULL;\n\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
        "SET NOT NULL",
    ),
    "PG304": ("tags_pk", "ALTER TABLE tags ADD PRIMARY KEY USING INDEX tags_id_key;\n", "PRIMARY KEY"),
    "PG305": ("age_check", "ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age >= 0);\n", "CHECK"),
    "PG306": (
        "posts_fk",
        "ALTER TABLE posts ADD CONSTRAINT posts_user_fk2 FOREIGN KEY (user_id) REFERENCES users (id);\n",
        "FOREIGN KEY",
    ),
    "IN104": ("vacuum", "ALTER TABLE users ADD COLUMN visits integer;\nVACUUM users;\n", "VACUUM"),
    "IN105": ("broken", "ALTER TABLE missing_table ADD COLUMN x integer;\n", "missing_table"),
}
clean = (
    "safe_changes",
    TX
    + """CREATE TABLE comments (
    id      bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    body    text NOT NULL DEFAULT ''
);
CREATE INDEX comments_user_id_idx ON comments (user_id);
ALTER TABLE users ADD COLUMN phone text;
ALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0;
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
ALTER TABLE users ADD CONSTRAINT users_age_positive CHECK (age > 0) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_age_positive;
ALTER TABLE users ALTER COLUMN bio SET DEFAULT '';
ALTER TABLE users ALTER COLUMN nick TYPE varchar;
CREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18;
INSERT INTO users (id, name) VALUES (1, 'Ada');
INSERT INTO comments (id, user_id) VALUES (1, 1);
""",
)
rows = ["# case\tfile\tline\tcode"]
for d in root.iterdir():
    if d.is_dir():
        shutil.rmtree(d)


def write(case, desc, content):
    d = root / case
    d.mkdir()
    (d / "20240101000001_base.sql").write_text(base)
    name = f"20240102000001_{desc}.sql"
    (d / name).write_text(content)
    MigrationDir(d).write_sum()
    return name


for code, (desc, content, needle) in cases.items():
    name = write(code, desc, content)
    line = (
        1
        if needle is None
        else next(i for i, ln in enumerate(content.splitlines(), 1) if needle in ln and not ln.startswith("--"))
    )
    rows.append(f"{code}\t{name}\t{line}\t{code}")
write("clean", *clean)
(root / "expected.tsv").write_text("\n".join(rows) + "\n")
print("\n".join(rows))
