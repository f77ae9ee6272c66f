"""What the loader gathers from a plant's YAML files and the checker resolves: the definitions,
validated but not yet cross-checked (:mod:`dsl.loader` fills them, :mod:`dsl.checker` and
:mod:`dsl._routings` read them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dsl.yamlsource import YMap, YNode, YScalar

NAMED_SECTIONS = {
    "work_centers": "work center",
    "roles": "role",
    "qualifications": "qualification",
    "devices": "device",
    "equipment": "equipment",
    "tools": "tool",
    "parts": "part",
    "products": "product",
    "event_rules": "event rule",
}
"""Top-level sections of named definitions, with what one of their entries is called."""

ONCE_SECTIONS = ("change_control", "inventory", "calendar", "quality", "history")
"""Top-level sections a site sets once, in one of its files."""


@dataclass
class Definitions:
    """Everything the plant's YAML files define, validated but not yet resolved."""

    root_label: str
    files: Mapping[str, str]
    present: frozenset[str]
    site: dict[str, YScalar] = field(default_factory=dict)
    once: dict[str, tuple[YScalar, YNode]] = field(default_factory=dict)
    """Each section set once for the site (:data:`ONCE_SECTIONS`): its key and value, from the
    one file that sets it."""
    sections: dict[str, dict[str, tuple[YScalar, YNode]]] = field(
        default_factory=lambda: {name: {} for name in NAMED_SECTIONS}
    )
    routings: list[YMap] = field(default_factory=list)
    first_file: str | None = None
    unreadable: bool = False
    """Some file is not valid YAML: its definitions are missing, so cross references are not
    checked (they would report every name that file defines as unknown)."""

    def display(self, relative: str) -> str:
        """A relative path as diagnostics show it."""
        return f"{self.root_label}/{relative}" if self.root_label else relative
