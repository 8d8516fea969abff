"""The local PostgreSQL server: Docker (SDK) or embedded (initdb/pg_ctl)."""
