"""Building tool types (``tools`` of site.yaml): crimp applicators, gauges, moulds.

Each type names its physical tools (``units``), its life in cycles and its calibration interval;
an operation that names the type (``tool: applicator-22``) has a tool of it scanned at start.
A tool id belongs to one type only, so a scanned id says which type it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dsl import _reader as r
from dsl.model import CareInterval, ToolType
from dsl.units import to_si
from dsl.yamlsource import YMap, YNode, YScalar

DEFAULT_WARN_AT = 0.9
"""The share of its life after which a tool is shown as nearly worn out."""


def build_tools(
    report: r.Reporter,
    section: Mapping[str, tuple[YScalar, YNode]],
    care_interval: Callable[[YMap, str], CareInterval | None],
) -> dict[str, ToolType]:
    """Every tool type of ``section`` (validated by the schema); a tool id listed twice, in one
    type or two, is an error. ``care_interval`` reads a ``calibration`` interval like the
    equipment's."""
    owners: dict[str, YScalar] = {}
    result: dict[str, ToolType] = {}
    for name, (key, value) in section.items():
        node = r.as_map(value)
        units: list[str] = []
        for item in r.items(node, "units"):
            if not isinstance(item, YScalar) or item.is_empty:
                continue
            tool_id = item.text.strip()
            first = owners.get(tool_id)
            if first is not None:
                report.error(
                    item.span,
                    f"tool id '{tool_id}' is listed twice",
                    f"first listed at {first.span}; a tool id names one physical tool",
                )
                continue
            owners[tool_id] = item
            units.append(tool_id)
        warn = r.quantity(node, "warn_at")
        result[name] = ToolType(
            name=name,
            kind=r.text(node, "kind", "tool"),
            description=r.text(node, "description"),
            life_cycles=r.integer(node, "life", 0) or None,
            warn_at=to_si(warn.value, warn.unit) if warn is not None else DEFAULT_WARN_AT,
            calibration=care_interval(node, "calibration"),
            units=tuple(units),
            span=key.span,
        )
    return result
