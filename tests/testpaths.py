"""Paths every test may need (a module of its own: `conftest` names are ambiguous)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ATLAS_DIRS = SHARED / "testdata" / "atlas-dirs"
# The `inv` installed beside the interpreter that runs the tests, whatever virtualenv that is.
INV = str(Path(sys.executable).parent / "inv")
