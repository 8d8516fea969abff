"""Tasks: standalone (being written)."""
