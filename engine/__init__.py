"""Ferrule engine package."""
