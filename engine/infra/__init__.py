"""Plumbing every command shares: the database and its transactions, compiled statements, the
audit chain, idempotency, numbering, JSON results. May import engine.records and engine.errors."""
