"""The standalone tools of seed 004: ``migrate`` and ``genmigrate``.

Both read the database from a YAML file or a HashiCorp Vault secret
(:mod:`.config`), never take a password on the command line, and work on a
layered database (bronze → bronzehistory → silver → gold by default) whose
migrations share one global version order and one revisions table.
"""
