"""Schema inspection from pg_catalog: the catalog model, its renderers (SQL, HCL, Mermaid), diff and drift."""
