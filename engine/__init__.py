"""Ferrule's engine: execution, persistence and records, with no web or device imports.

Subpackages by kind of code, each allowed to import only those below it (docs/architecture.md):
records < infra < access < floor < commands, queries < facade < configtest, cli; migrations sits
beside infra. ``engine.errors`` is the one module every layer shares.
"""
