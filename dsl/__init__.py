"""Ferrule's plant language: load a plant folder into a compiled, immutable model.

The public face is small: :func:`load` returns a :class:`LoadResult` (a plant, or diagnostics);
:func:`load_or_raise` raises :class:`PlantError`. The grammar, parser and compiler are private.
"""
