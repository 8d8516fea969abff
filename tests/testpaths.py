"""Paths every test may need (a module of its own: `conftest` names are ambiguous)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ATLAS_DIRS = SHARED / "testdata" / "atlas-dirs"
