"""Tasks: inspect (being written)."""
