"""Real migration directories from public repositories (../shared/testdata/atlas-dirs).

Every PostgreSQL directory whose SQL runs on a plain PostgreSQL 15 server is
applied to a fresh database; the recorded rows must carry the file's
atlas.sum hash and the scanner's statement count. Directories that cannot
run here are listed with the reason. Directories whose atlas.sum is known not
to match (MANIFEST.tsv) must be refused before the database is touched.
"""

from __future__ import annotations

import csv

import pytest

from dbstack.errors import ChecksumError
from dbstack.migrations import scanner
from dbstack.migrations.directory import MigrationDir
from dbstack.migrations.engine import apply, status
from test_engine_support import ROOT, layers, rows, schemas

pytestmark = pytest.mark.postgres

ATLAS_DIRS = ROOT.parent / "shared" / "testdata" / "atlas-dirs"
if not (ATLAS_DIRS / "MANIFEST.tsv").is_file():
    pytest.skip("../shared/testdata/atlas-dirs is not present", allow_module_level=True)

MANIFEST = {r["slug"]: r for r in csv.DictReader(open(ATLAS_DIRS / "MANIFEST.tsv"), delimiter="\t")}

# Directories that are not PostgreSQL, or whose SQL needs more than a plain PostgreSQL 15 server.
CANNOT_RUN_HERE = {
    "997899594__nexusnote__migrations": "needs the pgvector extension (CREATE EXTENSION vector)",
    "AidarDzhumagulov__EventMap__backend-migrations": "needs the PostGIS extension",
    "mkrepo-dev__mkrepo__sql-migrations": "uses uuidv7(), new in PostgreSQL 18",
    "JohnYoungers__cockroach-demo__migrations__crlf-reconstructed": (
        "CockroachDB demo: its only file uses a type and tables created outside the directory"
    ),
    "HijiriSato88__lovender_backend__migrations": "MySQL",
    "AnuchitO__atlasgo-db-migration__poc-migrations": "MySQL",
    "ent__ent__examples-migration": "MySQL",
    "BioSystems-Indonesia__TAMALabs__migrations-854b3b4": (
        "SQLite; also up and down files share versions, which dbstack refuses (DESIGN: unique versions)"
    ),
    "ariga__atlas__sql-migrate-testdata-migrate": (
        "Atlas's own fixture: up and down files share versions, which dbstack refuses (unique versions)"
    ),
}

RUNNABLE = sorted(
    slug for slug, r in MANIFEST.items() if r["expected_result"] == "match" and slug not in CANNOT_RUN_HERE
)
MISMATCHING = sorted(slug for slug, r in MANIFEST.items() if r["expected_result"] != "match")


def test_the_list_covers_hatchet_and_openmeter():
    assert "hatchet-dev__hatchet__sql-migrations" in RUNNABLE
    assert "openmeterio__openmeter__tools-migrate-migrations" in RUNNABLE
    assert len(RUNNABLE) >= 18


@pytest.mark.parametrize("slug", RUNNABLE)
def test_real_directory_applies_with_atlas_rows(fresh_db, slug):
    fmt = MANIFEST[slug]["format"]
    d = ATLAS_DIRS / slug
    ls = layers(d, format=fmt)
    files = ls.files()
    rep = apply(fresh_db, ls)
    assert rep.applied == [f.version for f in files] and not rep.failed
    sums = {e.name: e.hash for e in MigrationDir(d, fmt).read_sum().entries}
    got = {r["version"]: r for r in rows(fresh_db)}
    assert list(got) == [f.version for f in files]
    for f in files:
        r = got[f.version]
        assert r["hash"] == sums[f.name], f.name
        assert r["applied"] == r["total"] == len(scanner.scan(f.text())), f.name
        assert r["type"] == 2 and r["error"] == "" and r["ph_json_null"]
    st = status(fresh_db, ls)
    assert st.status == "OK" and st.current == (files[-1].version if files else "No migration applied yet")
    assert apply(fresh_db, ls).render_text() == "No migration files to execute\n"


def test_hatchet_txmode_none_files_ran_outside_transactions(fresh_db):
    d = ATLAS_DIRS / "hatchet-dev__hatchet__sql-migrations"
    none = [f for f in layers(d).files() if scanner.txmode_of(f.text(), f.name) == "none"]
    assert len(none) >= 10 and all("CONCURRENTLY" in f.text() for f in none)
    rep = apply(fresh_db, layers(d))  # CREATE INDEX CONCURRENTLY fails inside a transaction block
    assert len(rep.applied) == 82
    got = {r["version"]: r for r in rows(fresh_db)}
    assert all(got[f.version]["applied"] == got[f.version]["total"] > 0 for f in none)


@pytest.mark.parametrize("slug", MISMATCHING)
def test_known_mismatching_sums_are_refused_before_any_change(fresh_db, slug):
    with pytest.raises(ChecksumError) as e:
        apply(fresh_db, layers(ATLAS_DIRS / slug, format=MANIFEST[slug]["format"]))
    assert e.value.output.startswith("You have a checksum error in your migration directory.\n")
    assert schemas(fresh_db) == ["public"]
