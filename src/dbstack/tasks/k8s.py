"""Tasks: k8s (being written)."""
