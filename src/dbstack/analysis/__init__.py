"""Checks that replay migrations and compare schemas: lint, drift, migrate-diff.

Above both ``migrations`` (the engine) and ``inspect`` (reading a schema).
"""
