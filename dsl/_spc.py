"""Reading ``spc:`` on a collected field or a captured tag into a :class:`SpcChart`.

The validator has checked the shape (:data:`dsl.schema.SPC`); here the parts are checked against
each other and against what is charted: a chart needs numbers, x̄ charts a subgroup size,
p/np/u charts a sample size, and holding the equipment needs an operation that names one.
"""

from __future__ import annotations

import re

from dsl import _reader as r
from dsl.model import DataField, SpcChart, Tag, ValueType
from dsl.yamlsource import YMap, YScalar

_BASELINE = re.compile(r"^first\s+(\d+)\s+(subgroups|points|samples)$")
_SUBGROUPED = ("xbar-r", "xbar-s")
_SAMPLED = ("p", "np", "u")
_COUNTED = ("p", "np", "c", "u")
DEFAULT_RULES = ("we1",)


def field_chart(
    report: r.Reporter, field: DataField, node: YMap, *, equipment: str | None
) -> SpcChart | None:
    """The chart declared under ``spc:`` of ``field`` (its mapping ``node``), or None."""
    spc = node.get("spc")
    if not isinstance(spc, YMap):
        return None
    label = node.key("spc")
    assert label is not None
    if field.type not in ("number", "integer"):
        report.error(
            label.span,
            f"field '{field.name}' is {field.type}; a control chart needs a number or "
            "integer field",
        )
        return None
    chart = r.scalar(spc, "chart")
    if chart is not None and chart.text in _COUNTED and field.type != "integer":
        report.error(
            chart.span,
            f"{chart.text} charts count nonconforming items or defects; field '{field.name}' "
            "must be an integer field",
            "use type: integer for counts",
        )
        return None
    return _chart(
        report, spc, source=field.name, captured=False, low=field.low, high=field.high,
        unit=field.unit, equipment=equipment,
    )  # fmt: skip


def tag_chart(
    report: r.Reporter, tag: Tag, name: YScalar, node: YMap, *, equipment: str | None
) -> SpcChart | None:
    """The chart declared under ``spc:`` of a ``capture`` item ``{tag: T, spc: {...}}``."""
    spc = node.get("spc")
    if not isinstance(spc, YMap):
        return None
    if tag.value_type is not ValueType.NUMBER:
        report.error(
            name.span,
            f"tag '{name.text.strip()}' holds {tag.value_type.value} values; a control chart "
            "needs a number tag",
        )
        return None
    return _chart(
        report, spc, source=name.text.strip(), captured=True, low=None, high=None,
        unit=tag.unit, equipment=equipment,
    )  # fmt: skip


def _chart(
    report: r.Reporter,
    spc: YMap,
    *,
    source: str,
    captured: bool,
    low: float | None,
    high: float | None,
    unit: str | None,
    equipment: str | None,
) -> SpcChart | None:
    chart_node = r.scalar(spc, "chart")
    action_node = r.scalar(spc, "on_signal")
    if chart_node is None or action_node is None:
        return None
    chart = chart_node.text.strip()
    ok = _sizes_fit(report, spc, chart_node, chart)
    limits = spc.get("limits")
    baseline = _baseline(report, limits, chart) if isinstance(limits, YMap) else None
    center = r.scalar(limits, "center") if isinstance(limits, YMap) else None
    sigma = r.number(limits, "sigma", 0.0) if isinstance(limits, YMap) else 0.0
    if center is not None:
        ok = _given_fits(report, center, chart, sigma) and ok
    elif baseline is None:
        ok = False
    action = action_node.text.strip()
    if action == "hold-equipment" and equipment is None:
        report.error(
            action_node.span,
            "on_signal: hold-equipment needs an operation that names its equipment",
            "add equipment: NAME to the operation, or choose hold, nc, block or notify",
        )
        ok = False
    if not ok:
        return None
    rules = tuple(
        i.text.strip() for i in r.items(spc, "rules") if isinstance(i, YScalar) and not i.is_empty
    )
    return SpcChart(
        source=source,
        captured=captured,
        chart=chart,
        subgroup=r.integer(spc, "subgroup", 1),
        sample_size=r.number(spc, "sample_size", 1.0),
        baseline=baseline,
        center=float(center.text) if center is not None else None,
        sigma=sigma or None,
        rules=rules or DEFAULT_RULES,
        on_signal=action,  # type: ignore[arg-type]
        low=low,
        high=high,
        unit=unit,
        span=chart_node.span,
    )


def _sizes_fit(report: r.Reporter, spc: YMap, chart_node: YScalar, chart: str) -> bool:
    """x̄ charts need ``subgroup``, p/np/u charts ``sample_size``; the others take neither."""
    ok = True
    subgroup = spc.key("subgroup")
    if chart in _SUBGROUPED and subgroup is None:
        report.error(
            chart_node.span,
            f"{chart} charts need the number of values per point",
            "add subgroup: N (2 to 25), e.g. subgroup: 5",
        )
        ok = False
    elif chart not in _SUBGROUPED and subgroup is not None:
        report.error(
            subgroup.span,
            f"'subgroup' applies only to xbar-r and xbar-s charts; this chart is {chart}",
        )
        ok = False
    sample_size = spc.key("sample_size")
    if chart in _SAMPLED and sample_size is None:
        report.error(
            chart_node.span,
            f"{chart} charts need the number of items inspected per point",
            "add sample_size: N, e.g. sample_size: 50",
        )
        ok = False
    elif chart not in _SAMPLED and sample_size is not None:
        report.error(
            sample_size.span,
            f"'sample_size' applies only to p, np and u charts; this chart is {chart}",
        )
        ok = False
    return ok


def _baseline(report: r.Reporter, limits: YMap, chart: str) -> int | None:
    """``from: first 25 subgroups`` → 25; None (reported) when it does not read so."""
    written = r.scalar(limits, "from")
    if written is None:
        return None
    match = _BASELINE.match(written.text.strip())
    if match is None:
        report.error(
            written.text_span,
            f"limits 'from' must read 'first N subgroups', found '{written.text.strip()}'",
            "e.g. from: first 25 subgroups (20 to 25 is usual)",
        )
        return None
    count = int(match.group(1))
    least = 2 if chart == "i-mr" else 1
    if count < least:
        report.error(
            written.text_span,
            f"a baseline of {count} subgroup{'s' if count != 1 else ''} cannot set limits",
            "use at least 20 subgroups",
        )
        return None
    return count


def _given_fits(report: r.Reporter, center: YScalar, chart: str, sigma: float) -> bool:
    """Given limits: variables charts need a sigma; p and np take a fraction below 1."""
    value = float(center.text)
    if chart in ("i-mr", *_SUBGROUPED) and not sigma:
        report.error(
            center.span,
            f"given limits of {chart} charts need the process sigma too",
            "add sigma: S next to center, or compute them: from: first 25 subgroups",
        )
        return False
    if chart in ("p", "np") and not 0 < value < 1:
        report.error(
            center.span,
            f"the center of a {chart} chart is the fraction nonconforming, between 0 and 1; "
            f"found {center.text.strip()}",
        )
        return False
    if chart in ("c", "u") and value <= 0:
        report.error(center.span, f"the center of a {chart} chart must be above 0")
        return False
    return True
