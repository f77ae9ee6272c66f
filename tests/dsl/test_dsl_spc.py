"""``spc:`` on collected fields and captured tags: what the loader builds, and the mistakes it
reports like a compiler (line:col, caret, hint)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dsl.loader import LoadResult
from dsl.model import SpcChart

LENGTH = "      length: {type: number, unit: mm, min: 490 mm, max: 0.51 m}\n"
CAPTURE = "    capture: [scale.weight]\n"
XBAR_R = (
    "{chart: xbar-r, subgroup: 5, limits: {from: first 25 subgroups}, "
    "rules: [we1, we2, we3, we4], on_signal: hold}"
)

Load = Callable[[dict[str, str] | None], LoadResult]
Edit = Callable[[str, str, str], dict[str, str]]


def _field_spc(spc: str) -> str:
    return LENGTH.rstrip("}\n") + f", spc: {spc}}}\n"


def _charts(result: LoadResult) -> tuple[SpcChart, ...]:
    assert result.plant is not None, result.render()
    return result.plant.routings["widget"].operations[0].spc


def test_a_field_chart_takes_the_field_limits_as_specification(
    load_plant: Load, edit: Edit
) -> None:
    (chart,) = _charts(load_plant(edit("routings/widget.yaml", LENGTH, _field_spc(XBAR_R))))
    assert (chart.source, chart.captured, chart.chart, chart.subgroup) == (
        "length", False, "xbar-r", 5,
    )  # fmt: skip
    assert (chart.baseline, chart.center, chart.rules, chart.on_signal) == (
        25, None, ("we1", "we2", "we3", "we4"), "hold",
    )  # fmt: skip
    assert (chart.low, chart.high, chart.unit) == (490.0, 510.0, "mm")


def test_a_captured_tag_chart_with_given_limits(load_plant: Load, edit: Edit) -> None:
    capture = (
        "    capture: [{tag: scale.weight, spc: {chart: i-mr, limits: {center: 2.5, sigma: 0.1},"
        " on_signal: hold-equipment}}]\n"
    )
    result = load_plant(edit("routings/widget.yaml", CAPTURE, capture))
    (chart,) = _charts(result)
    assert (chart.source, chart.captured, chart.center, chart.sigma, chart.rules) == (
        "scale.weight", True, 2.5, 0.1, ("we1",),
    )  # fmt: skip
    assert result.plant is not None
    assert result.plant.routings["widget"].operations[0].capture == ("scale.weight",)


@pytest.mark.parametrize(
    ("spc", "expected"),
    [
        (
            "{chart: xbar-r, limits: {from: first 25 subgroups}, on_signal: hold}",
            "plant/routings/widget.yaml:19:79: error: xbar-r charts need the number of values "
            "per point\n"
            "  hint: add subgroup: N (2 to 25), e.g. subgroup: 5",
        ),
        (
            "{chart: xbar-r, subgroup: 5, limits: {from: last 25}, on_signal: hold}",
            "plant/routings/widget.yaml:19:115: error: limits 'from' must read 'first N "
            "subgroups', found 'last 25'\n"
            "  hint: e.g. from: first 25 subgroups (20 to 25 is usual)",
        ),
        (
            "{chart: xbar-r, subgroup: 5, limits: {from: first 25 subgroups}, on_signal: hodl}",
            "plant/routings/widget.yaml:19:147: error: 'on_signal' must be notify, hold, "
            "hold-equipment, nc or block, found 'hodl'; did you mean 'hold'?",
        ),
        (
            "{chart: i-mr, limits: {center: 500}, on_signal: nc}",
            "plant/routings/widget.yaml:19:102: error: given limits of i-mr charts need the "
            "process sigma too\n"
            "  hint: add sigma: S next to center, or compute them: from: first 25 subgroups",
        ),
        (
            "{chart: p, limits: {from: first 25 subgroups}, on_signal: nc}",
            "plant/routings/widget.yaml:19:79: error: p charts count nonconforming items or "
            "defects; field 'length' must be an integer field\n"
            "  hint: use type: integer for counts",
        ),
        (
            "{chart: xbar-r, subgroup: 5, rules: [we5], limits: {from: first 25 subgroups}, "
            "on_signal: nc}",
            "plant/routings/widget.yaml:19:108: error: rule 1 must be we1, we2, we3, we4, "
            "nelson1, nelson2, nelson3, nelson4, nelson5, nelson6, nelson7 or nelson8, found "
            "'we5'; did you mean 'we4'?",
        ),
    ],
)
def test_spc_mistakes_are_reported_where_they_are(
    load_plant: Load, edit: Edit, spc: str, expected: str
) -> None:
    result = load_plant(edit("routings/widget.yaml", LENGTH, _field_spc(spc)))
    assert result.plant is None
    headline, *hints = expected.splitlines()
    rendered = result.render()
    assert headline in [d.render(result.sources).splitlines()[0] for d in result.errors], rendered
    assert all(hint in rendered for hint in hints)


def test_holding_equipment_needs_an_operation_with_equipment(load_plant: Load, edit: Edit) -> None:
    inspect = "      visual: {type: choice, choices: [ok, scratch]}\n"
    count = (
        "      scratches: {type: integer, spc: {chart: c, limits: {center: 2}, "
        "on_signal: hold-equipment}}\n"
    )
    result = load_plant(edit("routings/widget.yaml", inspect, inspect + count))
    assert result.plant is None
    assert [d.message for d in result.errors] == [
        "on_signal: hold-equipment needs an operation that names its equipment"
    ]
