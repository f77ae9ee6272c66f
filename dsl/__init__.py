"""Ferrule's plant language: load a plant folder into a compiled, immutable model.

The public face is small: :func:`load` returns a :class:`LoadResult` (a plant, or diagnostics);
:func:`load_or_raise` raises :class:`PlantError`. The grammar, parser and compiler are private.
"""

from dsl.diagnostics import Diagnostic, PlantError, Severity, Span
from dsl.loader import LoadResult, load, load_files, load_or_raise
from dsl.model import Plant
from dsl.rules import CompiledRule, Outcome

__all__ = [
    "CompiledRule",
    "Diagnostic",
    "LoadResult",
    "Outcome",
    "Plant",
    "PlantError",
    "Severity",
    "Span",
    "load",
    "load_files",
    "load_or_raise",
]
