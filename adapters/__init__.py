"""Ferrule adapters package."""
