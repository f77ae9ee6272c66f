"""Reading ``history`` of a tag (what the tag historian records) and of site.yaml (how long it
keeps values and when it downsamples them).

The validator has checked the shapes (:data:`dsl.schema.TAG_HISTORY`,
:data:`dsl.schema.HISTORY_POLICY`); here the deadband's unit is checked against the tag's unit
and the durations against each other.
"""

from __future__ import annotations

from dsl import _reader as r
from dsl.model import HistoryPolicy, TagHistory, ValueType
from dsl.units import dimension_name, format_number, parse_unit, same_dimension
from dsl.validate import unit_span_of
from dsl.yamlsource import YMap, YScalar

DEFAULT_EVERY_S = 1.0
DEFAULT_HEARTBEAT_S = 600.0
"""A recorded tag stores a value at least this often (10 min) even when it does not move."""


def tag_history(
    report: r.Reporter,
    name: YScalar,
    node: YMap,
    value_type: ValueType | None,
    unit: str | None,
) -> TagHistory | None:
    """The tag's ``history``, or None when it has none or it is wrong (reported). ``unit`` is
    the tag's unit ("" for none, None when it is itself wrong)."""
    key, value = node.key("history"), node.get("history")
    if key is None or not isinstance(value, YMap):
        return None
    if value_type is ValueType.STRING:
        report.error(
            key.span,
            f"tag '{name.text}' holds string values, which the historian does not record",
            "history records number and bool tags",
        )
        return None
    every = r.si(value, "every", DEFAULT_EVERY_S)
    heartbeat = r.si(value, "heartbeat", DEFAULT_HEARTBEAT_S)
    written = r.scalar(value, "heartbeat")
    if written is not None and heartbeat < every:
        report.error(
            written.span,
            f"heartbeat ({written.text.strip()}) must not be shorter than every "
            f"({format_number(every)} s)",
            "the heartbeat is the longest time without a stored value",
        )
        return None
    deadband = _deadband(report, name, value, value_type, unit)
    if deadband is None:
        return None
    return TagHistory(every, deadband, heartbeat, key.span)


def _deadband(
    report: r.Reporter,
    name: YScalar,
    node: YMap,
    value_type: ValueType | None,
    unit: str | None,
) -> float | None:
    """The deadband in the tag's own unit (0 when not given: every change is stored)."""
    written = r.scalar(node, "deadband")
    if written is None:
        return 0.0
    quantity = r.quantity_of(written)
    if quantity is None or unit is None:
        return None  # the validator reported the number or its unit; the tag reported its unit
    if value_type is ValueType.BOOL:
        report.error(
            written.span,
            f"tag '{name.text}' is a bool tag; a deadband applies to number tags",
            "remove the deadband: a bool tag is stored whenever it changes",
        )
        return None
    if quantity.value < 0:
        report.error(
            written.span,
            f"a deadband cannot be negative, found {written.text.strip()}",
            "write 0 to store every change",
        )
        return None
    if quantity.unit is None:
        if not unit:
            return quantity.value
        report.error(
            written.span,
            f"deadband of tag '{name.text}' needs a unit of {dimension_name(unit)}, "
            f"like '{format_number(quantity.value)} {unit}'",
        )
        return None
    if not unit or not same_dimension(quantity.unit, unit):
        tag_unit = f"in {unit} ({dimension_name(unit)})" if unit else "a plain number"
        report.error(
            unit_span_of(written, quantity.unit),
            f"deadband of tag '{name.text}' is in {quantity.unit} "
            f"({dimension_name(quantity.unit)}), but the tag is {tag_unit}",
            f"write the deadband in {unit}" if unit else "write the deadband without a unit",
        )
        return None
    return quantity.value * _factor(quantity.unit) / _factor(unit)


def _factor(unit: str) -> float:
    """How many SI units one ``unit`` spans: a deadband is a difference, so a temperature's
    offset (°C, °F) does not apply."""
    parsed = parse_unit(unit)
    assert parsed is not None  # checked by the validator and the tag
    return parsed.factor


def history_policy(report: r.Reporter, key: YScalar, value: YMap) -> HistoryPolicy | None:
    """The site's ``history``: retention and downsampling, or None when wrong (reported)."""
    default = HistoryPolicy()
    keep = r.si(value, "keep", default.keep_s)
    downsample = value.get("downsample")
    if not isinstance(downsample, YMap):
        return HistoryPolicy(keep, span=key.span)
    after = r.si(downsample, "after", 0.0)
    to = r.si(downsample, "to", 0.0)
    after_node, to_node = r.scalar(downsample, "after"), r.scalar(downsample, "to")
    if after_node is None or to_node is None:
        return None  # required keys: the validator reported the missing one
    if after >= keep:
        report.error(
            after_node.span,
            f"downsample after {after_node.text.strip()} must be shorter than keep "
            f"({format_number(keep / 86400)} d)",
            "values older than keep are deleted, so they would never be downsampled",
        )
        return None
    if to >= after:
        report.error(
            to_node.span,
            f"downsample to {to_node.text.strip()} buckets must be shorter than after "
            f"({after_node.text.strip()})",
        )
        return None
    if round(to * 1000) <= 0 or (86400 * 1000) % round(to * 1000):
        report.error(
            to_node.span,
            f"downsample to {to_node.text.strip()} does not divide a day into whole buckets",
            "use a bucket such as 10 s, 1 min, 5 min, 15 min or 1 h",
        )
        return None
    return HistoryPolicy(keep, after, to, key.span)
