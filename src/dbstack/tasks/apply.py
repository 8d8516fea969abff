"""Tasks: apply (being written)."""
