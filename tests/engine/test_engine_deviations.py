"""Planned deviations: quality's signed, time-boxed permission to accept the crimp pull test
between 55 and 60 N for one work order; the gate records ``deviation`` for a unit of that order
within the range, and still fails outside it, for other orders, and once withdrawn."""
# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt
import math

import pytest
from engine_exec_support import CRIMP_DATA, Line, line  # noqa: F401

from dsl.env import field_key
from engine.access.signatures import SignatureInput
from engine.commands.bom import ConsumptionInput
from engine.commands.deviations import DeviationInfo, DeviationInput, accepted_by
from engine.errors import Forbidden, Invalid
from engine.facade.audit import AuditTrail
from engine.facade.records import Records

NOW = dt.datetime.now(dt.UTC)


def _order(shop: Line, quantity: int = 1) -> tuple[str, list[str]]:
    order = shop.engine.create_work_order(
        actor=shop.supervisor, product="HA-100", quantity=quantity
    )
    released = shop.engine.release_work_order(actor=shop.supervisor, number=order.number)
    return order.number, list(released.items)


def _given(work_order: str, **changes: object) -> DeviationInput:
    values: dict[str, object] = {
        "product": "HA-100", "operation": "crimp", "gate": "pull test", "subject": "pull_force",
        "low": 55.0, "high": 60.0, "work_orders": (work_order,),
        "valid_from": NOW - dt.timedelta(hours=1), "valid_until": NOW + dt.timedelta(days=3),
        "reason": "Terminal lot T-001 runs soft; customer concession CC-118",
    }  # fmt: skip
    return DeviationInput(**{**values, **changes})  # type: ignore[arg-type]


def _approve(shop: Line, given: DeviationInput, meaning: str = "Deviation approved") -> object:
    return shop.engine.approve_deviation(
        actor=shop.quality, given=given,
        signature=SignatureInput(shop.quality, shop.password, meaning),
    )  # fmt: skip


def _crimp(shop: Line, unit: str, pull_force: float) -> tuple[str, str, str]:
    """Cut and crimp ``unit``: the route and the pull test's outcome and reason."""
    shop.cut(unit)
    shop.engine.start_operation(actor=shop.operator, item=unit, operation="crimp")
    result = shop.engine.complete_operation(
        actor=shop.operator, item=unit, operation="crimp",
        data={**CRIMP_DATA, "pull_force": pull_force},
        consume=[ConsumptionInput("TERM-22", "T-001")],
    )  # fmt: skip
    (pull,) = [g for g in result.gates if g.gate == "pull test"]
    return result.route, pull.outcome, pull.because


def test_a_deviation_accepts_the_gate_within_its_range_for_its_order(line: Line) -> None:
    shop = line
    covered, (unit, *_) = _order(shop, 1)
    other, (stranger,) = _order(shop, 1)
    approved = _approve(shop, _given(covered))
    number = approved.number  # type: ignore[attr-defined]
    assert [d.number for d in shop.engine.deviations_in_force(item=unit, operation="crimp")] == [
        number
    ]
    route, outcome, because = _crimp(shop, unit, 57.0)
    assert (route, outcome) == ("next", "deviation")
    assert because.startswith(
        f"{number}: gate 'pull test' of 'crimp' accepts pull_force from 55 to 60 N until "
    )
    (exception,) = [
        e for e in Records(shop.engine).record("item", unit).exceptions if e.kind == "deviation"
    ]
    assert exception.summary == (
        f"gate 'pull test' failed (pull_force = 57 N; accepted under {number})"
    )
    assert _crimp(shop, stranger, 57.0)[:2] == ("nonconformance", "fail")
    assert shop.engine.deviations_in_force(item=stranger, operation="crimp") == []
    verdict = AuditTrail(shop.engine.db).verify()
    assert verdict.ok, verdict.problem
    assert other != covered


def test_outside_its_range_or_once_withdrawn_the_gate_fails(line: Line) -> None:
    shop = line
    order, units = _order(shop, 2)
    approved = _approve(shop, _given(order))
    assert _crimp(shop, units[0], 52.0)[:2] == ("nonconformance", "fail")
    withdrawn = shop.engine.withdraw_deviation(
        actor=shop.quality,
        deviation_id=approved.id,
        reason="soft lot used up",  # type: ignore[attr-defined]
    )
    assert withdrawn.withdrawn_by == shop.quality
    assert shop.engine.deviations_in_force(item=units[1], operation="crimp") == []


def test_what_a_deviation_may_say_is_checked(line: Line) -> None:
    shop = line
    order, _ = _order(shop, 1)
    cases = [
        (
            _given(order, subject="crimp_height"),
            "Gate 'pull test' does not read 'crimp_height'; a deviation widens a value the gate "
            "checks.",
        ),
        (
            _given(order, high=600.0),
            "'pull_force' accepts 0 to 500 N at entry; a deviation cannot go beyond what can be "
            "entered.",
        ),
        (
            _given(order, valid_until=NOW + dt.timedelta(days=120)),
            "A deviation runs 90 days at most; change the config for anything lasting longer.",
        ),
        (_given(order, gate="pull"), "Operation 'crimp' has no gate 'pull'; its gates: pull test, "
         "crimp height."),
        (_given(order, work_orders=()), "Name the work orders the deviation covers."),
    ]  # fmt: skip
    for given, message in cases:
        with pytest.raises(Invalid) as refused:
            _approve(shop, given)
        assert refused.value.message == message
    with pytest.raises(Invalid) as meaning:
        _approve(shop, _given(order), meaning="Approved")
    assert meaning.value.message == "A deviation's signature states 'Deviation approved'."
    with pytest.raises(Forbidden) as operator:
        shop.engine.approve_deviation(
            actor=shop.operator, given=_given(order),
            signature=SignatureInput(shop.operator, shop.password, "Deviation approved"),
        )  # fmt: skip
    assert operator.value.message == (
        f"User '{shop.operator}' may not approve a deviation: that needs the role 'quality'; "
        "ask an admin to grant it."
    )
    assert shop.engine.deviations() == []


def test_a_deviation_never_accepts_a_value_it_cannot_see() -> None:
    found = [
        DeviationInfo(
            id=1, number="DEV-0001", product="HA-100", operation="crimp", gate="pull test",
            subject="pull_force", low=55.0, high=60.0, unit="N", work_orders=("WO-1",),
            valid_from=NOW, valid_until=NOW + dt.timedelta(days=1), reason="r", created_by="q",
            created_at=NOW,
        )
    ]  # fmt: skip
    key = field_key("crimp", "pull_force")
    assert accepted_by(found, "pull test", {key: 57.0}) is found[0]
    for unseen in ({}, {key: math.nan}, {key: None}, {key: "57"}, {key: True}):
        assert accepted_by(found, "pull test", unseen) is None  # missing, NaN, not a number
    assert accepted_by(found, "crimp height", {key: 57.0}) is None
