"""dbstack: PostgreSQL schemas from a laptop to Kubernetes, Atlas-compatible."""

__version__ = "0.1.0"
