"""Tasks: local (being written)."""
