"""Ferrule web package."""
