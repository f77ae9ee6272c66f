"""Scopes: exactly the names an expression may read where it stands.

The loader builds one :class:`Scope` per place (an equipment state rule, an operation's
interlocks, its gates) and the expression compiler type-checks against it, so an interlock cannot
read a field that is collected later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Kind = Literal["number", "bool", "string", "date", "datetime"]


@dataclass(frozen=True, slots=True)
class Symbol:
    """A readable name: its environment key, its kind and (for numbers) its unit."""

    key: str
    kind: Kind
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class LaterField:
    """A field that exists but is not readable here, for a helpful error."""

    operation: str
    field: str


def _empty() -> Mapping[str, Symbol]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Scope:
    """What an expression may read.

    ``tags`` maps ``device.tag`` to its symbol; ``fields`` maps the surface name (``pull_force``
    for this operation, ``cut.length`` for an earlier one) to its symbol. ``operator`` and
    ``equipment`` say whether those objects exist here; ``item`` is ``"unit"`` for serialized
    products, ``"lot"`` for lot-tracked ones, or None (equipment state rules).
    ``qualifications`` and ``roles`` are the names the plant declares, to check
    ``operator.qualified("x")``.
    """

    tags: Mapping[str, Symbol] = field(default_factory=_empty)
    fields: Mapping[str, Symbol] = field(default_factory=_empty)
    operator: bool = False
    equipment: bool = False
    item: Literal["unit", "lot"] | None = None
    qualifications: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    later_fields: Mapping[str, LaterField] = field(default_factory=lambda: MappingProxyType({}))
