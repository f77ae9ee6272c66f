"""Control charts at completions: points, limits from a baseline, signals and their reactions
(hold the unit, open a nonconformance, block the next start until acknowledged), on the
acme-harness line with SPC declared on the crimp operation."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import select

from engine.commands import versions
from engine.commands.bom import ConsumptionInput
from engine.commands.complete import CompleteResult
from engine.errors import Blocked, Conflict, Forbidden
from engine.facade.audit import AuditTrail
from engine.facade.spc import Spc
from engine.records.spc import SpcLimits, SpcPoint

ACME = Path(__file__).parents[2] / "plants" / "acme-harness"
PULL_FORCE = "pull_force: {type: number, unit: N, required: true, min: 0 N, max: 500 N}"
CRIMP_HEIGHT = "crimp_height: {type: number, unit: mm, required: true}"
CAPTURE = "capture: [press1.pressure, press1.strokes]"
PULL_CHART = "harness-a/crimp/pull_force/i-mr"
HEIGHT_CHART = "harness-a/crimp/crimp_height/xbar-r/2"


def _deploy_with(line: Line, tmp_path: Path, old: str, new: str) -> None:
    """Deploy acme-harness with ``old`` replaced by ``new`` in its routing."""
    folder = tmp_path / "plant"
    shutil.copytree(ACME, folder)
    path = folder / "routings" / "harness-a.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    versions.deploy(line.engine.db, folder, actor="admin", note="SPC test")


def _with_spc(field: str, spc: str) -> str:
    return field[:-1] + f", spc: {spc}}}"


def _crimp(line: Line, unit: str, **data: float) -> CompleteResult:
    assert line.cut(unit) == "next"
    line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    return line.engine.complete_operation(
        actor=line.operator,
        item=unit,
        operation="crimp",
        data={"pull_force": 80.0, "crimp_height": 1.55, "visual": "ok", **data},
        consume=[ConsumptionInput("TERM-22", "T-001")],
    )


def _audit_ok(line: Line) -> None:
    verdict = AuditTrail(line.engine.db).verify()
    assert verdict.ok, verdict


def test_a_point_beyond_given_limits_holds_the_unit_with_its_rule(
    line: Line, tmp_path: Path
) -> None:
    spc = "{chart: i-mr, limits: {center: 80, sigma: 2}, rules: [we1, we2], on_signal: hold}"
    _deploy_with(line, tmp_path, PULL_FORCE, _with_spc(PULL_FORCE, spc))
    good, bad = line.release(2)
    assert _crimp(line, good).spc == ()
    result = _crimp(line, bad, pull_force=95.0)
    message = (
        "SPC signal on pull_force (i-mr chart): one point beyond the 3-sigma control limits "
        "(we1); the unit is on hold"
    )
    moving_range = (
        "SPC signal on pull_force (i-mr chart): the moving range beyond its control limits "
        "(we1); the unit is on hold"
    )
    assert [(s.rule, s.on_chart, s.message) for s in result.spc] == [
        ("we1", "location", message),
        ("we1", "dispersion", moving_range),
    ]
    assert result.status == "on_hold"
    item = line.engine.item(bad)
    assert (item.status, item.status_reason) == ("on_hold", message)
    history = line.engine.history(bad)
    assert [e.summary for e in history if e.kind == "spc_signal"] == [
        "SPC signal on pull_force: one point beyond the 3-sigma control limits (we1), "
        "on_signal hold",
        "SPC signal on pull_force: the moving range beyond its control limits (we1), "
        "on_signal hold",
    ]
    assert f"hold: {message}" in [e.summary for e in history]
    chart = Spc(line.engine.db).chart(PULL_CHART)
    assert [(p.number, p.item, p.value, p.rules, p.spread_rules) for p in chart.points] == [
        (1, good, 80.0, (), ()),
        (2, bad, 95.0, ("we1",), ("we1",)),
    ]
    assert (chart.limits.origin, chart.limits.ucl, chart.limits.lcl) == ("given", 86.0, 74.0)
    _audit_ok(line)


def test_limits_come_from_the_baseline_and_a_block_waits_for_quality(
    line: Line, tmp_path: Path
) -> None:
    spc = (
        "{chart: xbar-r, subgroup: 2, limits: {from: first 3 subgroups}, rules: [we1], "
        "on_signal: block}"
    )
    _deploy_with(line, tmp_path, CRIMP_HEIGHT, _with_spc(CRIMP_HEIGHT, spc))
    units = line.release(9)
    heights = [1.55, 1.56, 1.54, 1.55, 1.56, 1.55]
    results = [_crimp(line, u, crimp_height=h) for u, h in zip(units, heights, strict=False)]
    assert all(r.spc == () for r in results)
    with line.engine.db.session() as session:
        stored = session.execute(select(SpcLimits.center, SpcLimits.spread)).one()
        assert session.query(SpcPoint).count() == 3
    assert stored == pytest.approx((1.551667, 0.01), abs=1e-6)
    assert _crimp(line, units[6], crimp_height=1.60).spc == ()  # subgroup not closed yet
    signalled = _crimp(line, units[7], crimp_height=1.61)
    assert [s.rule for s in signalled.spc] == ["we1"]
    assert signalled.status == "queued"  # block holds nothing: it stops the next start
    assert line.cut(units[8]) == "next"
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=line.operator, item=units[8], operation="crimp")
    assert blocked.value.checks[-1]["because"] == (
        "SPC signal on crimp_height: one point beyond the 3-sigma control limits (we1); "
        "a quality user must acknowledge it before the next start"
    )
    spc_facade = Spc(line.engine.db)
    signal_id = signalled.spc[0].id
    with pytest.raises(Forbidden):
        spc_facade.acknowledge(actor=line.operator, signal_id=signal_id, comment="seen")
    acknowledged = spc_facade.acknowledge(
        actor=line.quality, signal_id=signal_id, comment="Anvil worn; replaced and re-set"
    )
    assert (acknowledged.acknowledged_by, acknowledged.comment) == (
        line.quality,
        "Anvil worn; replaced and re-set",
    )
    with pytest.raises(Conflict, match=f"SPC signal {signal_id} was already acknowledged by"):
        spc_facade.acknowledge(actor=line.quality, signal_id=signal_id, comment="again")
    assert spc_facade.open_signals() == []
    started = line.engine.start_operation(actor=line.operator, item=units[8], operation="crimp")
    assert started.allowed
    chart = spc_facade.chart(HEIGHT_CHART)
    assert chart.limits.origin == "baseline"
    assert chart.limits.baseline_points == 3
    assert chart.limits.ucl == pytest.approx(1.551667 + 1.880 * 0.01, abs=1e-6)
    assert [p.rules for p in chart.points] == [(), (), (), ("we1",)]
    assert chart.capability is None  # crimp_height has no min and max
    _audit_ok(line)


def test_a_captured_tag_signal_opens_a_nonconformance(line: Line, tmp_path: Path) -> None:
    spc = (
        "capture: [{tag: press1.pressure, spc: {chart: i-mr, limits: {center: 70, sigma: 1}, "
        "on_signal: nc}}, press1.strokes]"
    )
    _deploy_with(line, tmp_path, CAPTURE, spc)
    (unit,) = line.release(1)
    line.tags.set("press1.pressure", 75.0)
    result = _crimp(line, unit)
    assert [(s.source, s.rule, s.action) for s in result.spc] == [("press1.pressure", "we1", "nc")]
    assert result.status == "nonconforming"
    assert line.engine.item(unit).status_reason == result.spc[0].message
    _audit_ok(line)


def test_a_signal_can_put_the_equipment_down(line: Line, tmp_path: Path) -> None:
    spc = (
        "capture: [{tag: press1.pressure, spc: {chart: i-mr, limits: {center: 70, sigma: 1}, "
        "on_signal: hold-equipment}}, press1.strokes]"
    )
    _deploy_with(line, tmp_path, CAPTURE, spc)
    first, second = line.release(2)
    line.tags.set("press1.pressure", 75.0)
    result = _crimp(line, first)
    assert [s.action for s in result.spc] == ["hold-equipment"]
    assert result.status == "queued"
    line.tags.set("press1.pressure", 70.0)
    assert line.cut(second) == "next"
    with pytest.raises(Blocked) as blocked:
        line.engine.start_operation(actor=line.operator, item=second, operation="crimp")
    assert "Equipment crimp-press-1 is down" in [c["because"] for c in blocked.value.checks]
    _audit_ok(line)


def test_a_defect_count_is_charted_on_a_c_chart_from_its_baseline(
    line: Line, tmp_path: Path
) -> None:
    scratches = (
        CRIMP_HEIGHT + "\n      scratches: {type: integer, spc: {chart: c, "
        "limits: {from: first 3 subgroups}, on_signal: nc}}"
    )
    _deploy_with(line, tmp_path, CRIMP_HEIGHT, scratches)
    units = line.release(4)
    for unit, count in zip(units, (1, 2, 1), strict=False):
        assert _crimp(line, unit, scratches=count).spc == ()
    signalled = _crimp(line, units[3], scratches=7)
    assert [(s.rule, s.action) for s in signalled.spc] == [("we1", "nc")]
    assert signalled.status == "nonconforming"
    chart = Spc(line.engine.db).chart("harness-a/crimp/scratches/c")
    assert (chart.limits.center, chart.limits.lcl) == (pytest.approx(4 / 3), 0.0)
    assert chart.limits.ucl == pytest.approx(4 / 3 + 3 * (4 / 3) ** 0.5)
    assert [p.value for p in chart.points] == [1.0, 2.0, 1.0, 7.0]
    _audit_ok(line)


def test_an_unavailable_captured_value_is_never_charted_as_a_point(
    line: Line, tmp_path: Path
) -> None:
    spc = (
        "capture: [{tag: press1.pressure, spc: {chart: i-mr, limits: {center: 70, sigma: 1}, "
        "on_signal: nc}}, press1.strokes]"
    )
    _deploy_with(line, tmp_path, CAPTURE, spc)
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    line.engine.start_operation(actor=line.operator, item=unit, operation="crimp")
    line.tags.set_bad("press1.pressure", "press1: connection lost")
    result = line.engine.complete_operation(
        actor=line.operator,
        item=unit,
        operation="crimp",
        data={"pull_force": 80.0, "crimp_height": 1.55, "visual": "ok"},
        consume=[ConsumptionInput("TERM-22", "T-001")],
    )
    assert result.spc == ()
    with line.engine.db.session() as session:
        assert session.scalars(select(SpcPoint)).all() == []
    _audit_ok(line)
