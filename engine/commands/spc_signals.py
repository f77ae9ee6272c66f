"""Charting a completion: every declared control chart of the operation takes the value the
completion recorded, closes a point when its subgroup is full, judges the point by the chart's
limits and run rules, and reacts to a signal as the plant declared (``on_signal``): notify, hold
the unit, put the equipment down, open a nonconformance, or block the next start of the
operation until a quality user acknowledges the signal.

The cost of a point does not grow with the chart's history: the limits are one row, the subgroup
in progress a few observations, and the rules need only the last :data:`MEMORY` points. The
limits of a baseline are computed once, when its last subgroup closes, and kept as a record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.model import Operation, SpcChart
from engine.access.people import require_role
from engine.commands.equipment import record_state_change
from engine.errors import Conflict, Invalid, NotFound
from engine.floor.items import ItemRow, read_item, state_change, update_state
from engine.floor.spc import (
    Baseline,
    Sample,
    baseline_from,
    chart_key,
    dispersion,
    evaluate,
    given,
    kind_of,
    limits,
    statistic,
)
from engine.floor.spc_rules import MEMORY, replay
from engine.floor.validation import FieldValue
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, insert_rows
from engine.records.production import ITEM_SUBJECT, HoldEvent, Nonconformance, table
from engine.records.spc import SpcAcknowledgement, SpcLimits, SpcObservation, SpcPoint, SpcSignal

ACKNOWLEDGE_ROLES = ("quality",)

_observations = table(SpcObservation)
_limits = table(SpcLimits)
_points = table(SpcPoint)
_signals = table(SpcSignal)
_acks = table(SpcAcknowledgement)
_INSERT_ACK = insert_rows(_acks)
_INSERT_OBSERVATION = insert_rows(_observations, returning=_observations.c.id)
_INSERT_LIMITS = insert_rows(_limits)
_INSERT_POINT = insert_rows(_points, returning=_points.c.id)
_INSERT_SIGNAL = insert_rows(_signals, returning=_signals.c.id)
_INSERT_HOLD = insert_rows(table(HoldEvent))
_ncs = table(Nonconformance)
_INSERT_NC = insert_rows(_ncs, returning=_ncs.c.id)
_REACTIONS = {
    "notify": "quality is notified",
    "hold": "the unit is on hold",
    "hold-equipment": "the equipment is down",
    "nc": "a nonconformance is open",
    "block": "the next start waits for a quality acknowledgement",
}


@dataclass(frozen=True, slots=True)
class SpcSignalInfo(Jsonable):
    """A rule broken at a completion, as the operator is shown it."""

    id: int
    chart: str
    source: str
    rule: str
    on_chart: str
    description: str
    action: str
    message: str


@dataclass(frozen=True, slots=True)
class Charted:
    """What charting a completion did: the signals, and the item as it now is."""

    signals: tuple[SpcSignalInfo, ...]
    item: ItemRow


def chart_completion(
    sql: Sql,
    *,
    routing: str,
    operation: Operation,
    item_number: str,
    run_id: int,
    values: Sequence[FieldValue],
    captures: Sequence[Mapping[str, Any]],
    actor: str,
    now: dt.datetime,
) -> Charted:
    """Chart the values a completion recorded on ``operation``'s charts and react to signals;
    in the completion's transaction, with one audit row saying what was charted and one per
    reaction (the hold, the nonconformance, the equipment going down)."""
    item = read_item(sql, item_number)
    observed = _observed(operation, values, captures)
    if not observed:
        return Charted((), item)
    signals: list[SpcSignalInfo] = []
    charted: dict[str, Any] = {}
    for chart, value in observed:
        key = chart_key(routing, operation.id, chart)
        point = _observe(sql, chart, key=key, item=item, run_id=run_id, value=value, now=now)
        charted[key] = {"observed": value}
        if point is None:
            continue
        point_id, judged = point
        charted[key] |= {"point": point_id, **judged}
        for rule, on_chart, description in judged["signals"]:
            message = (
                f"SPC signal on {chart.source} ({chart.chart} chart): {description} ({rule}); "
                f"{_REACTIONS[chart.on_signal]}"
            )
            signal_id: int = sql.scalar(
                _INSERT_SIGNAL,
                {
                    "point_id": point_id, "chart": key, "routing": routing,
                    "operation": operation.id, "item_id": item.id, "rule": rule,
                    "on_chart": on_chart, "description": description,
                    "action": chart.on_signal, "at": now,
                    "config_version_id": item.config_version_id,
                },
            )  # fmt: skip
            signals.append(
                SpcSignalInfo(
                    signal_id, key, chart.source, rule, on_chart, description, chart.on_signal,
                    message,
                )
            )  # fmt: skip
    audit.append(sql, [audit.Change(actor, "chart", "operation_run", run_id, None, charted)])
    for signal in _one_per_action(signals):
        item = _react(
            sql, signal, item=item, operation=operation, run_id=run_id, actor=actor, now=now
        )
    return Charted(tuple(signals), item)


def _observed(
    operation: Operation, values: Sequence[FieldValue], captures: Sequence[Mapping[str, Any]]
) -> list[tuple[SpcChart, float]]:
    """Each chart with the value this completion gives it: an entered number, or a captured
    tag value of good quality; charts without one are left alone."""
    entered = {v.field.name: v.number for v in values}
    captured = {
        c["tag"]: c["value_num"]
        for c in captures
        if c["quality"] == "good" and c["value_num"] is not None
    }
    result: list[tuple[SpcChart, float]] = []
    for chart in operation.spc:
        value = captured.get(chart.source) if chart.captured else entered.get(chart.source)
        if value is not None:
            result.append((chart, value))
    return result


def _observe(
    sql: Sql,
    chart: SpcChart,
    *,
    key: str,
    item: ItemRow,
    run_id: int,
    value: float,
    now: dt.datetime,
) -> tuple[int, dict[str, Any]] | None:
    """Record the observation; when it closes a point, record and judge the point: its id and
    what the audit row says of it (value, limits, the rules it broke)."""
    session = sql.session
    assert session is not None
    kind = kind_of(chart)
    size = chart.sample_size
    observation_id: int = sql.scalar(
        _INSERT_OBSERVATION,
        {
            "chart": key, "item_id": item.id, "run_id": run_id, "value": value, "size": size,
            "at": now, "config_version_id": item.config_version_id,
        },
    )  # fmt: skip
    last = session.execute(
        select(_points.c.observation_id, _points.c.value)
        .where(_points.c.chart == key)
        .order_by(_points.c.id.desc())
        .limit(1)
    ).one_or_none()
    pending = session.execute(
        select(_observations.c.value)
        .where(_observations.c.chart == key, _observations.c.id > (last[0] if last else 0))
        .order_by(_observations.c.id)
    ).scalars()
    subgroup = tuple(pending)
    if len(subgroup) < chart.subgroup:
        return None
    sample = Sample(values=subgroup, count=value, size=size)
    previous = Sample(values=(last[1],)) if last is not None else None
    baseline = given(chart) or _stored_baseline(session, key) or _new_baseline(sql, chart, key, now)
    spread = dispersion(kind, sample, previous)
    row: dict[str, Any] = {
        "chart": key, "item_id": item.id, "run_id": run_id, "observation_id": observation_id,
        "value": statistic(kind, sample), "spread": spread, "size": size, "center": None,
        "lcl": None, "ucl": None, "sigma": None, "z": None, "at": now,
        "config_version_id": item.config_version_id,
    }  # fmt: skip
    signals: list[tuple[str, str, str]] = []
    if baseline is not None:
        state = replay(_recent(session, key, baseline))
        judged = evaluate(state, baseline, sample, previous, chart.rules)
        placed = judged.limits
        row |= {
            "value": judged.value, "center": placed.center, "lcl": placed.lcl,
            "ucl": placed.ucl, "sigma": placed.sigma, "z": judged.z,
        }  # fmt: skip
        signals = [(s.rule, s.chart, s.description) for s in judged.signals]
    point_id: int = sql.scalar(_INSERT_POINT, row)
    shown = {k: row[k] for k in ("value", "spread", "center", "lcl", "ucl")}
    return point_id, {**shown, "signals": signals}


def _stored_baseline(session: Session, key: str) -> Baseline | None:
    row = session.execute(
        select(_limits).where(_limits.c.chart == key).order_by(_limits.c.id.desc()).limit(1)
    ).one_or_none()
    if row is None:
        return None
    return Baseline(row.kind, row.subgroup, row.center, row.spread, row.sigma, row.points)


def _new_baseline(sql: Sql, chart: SpcChart, key: str, now: dt.datetime) -> Baseline | None:
    """Limits from the first ``chart.baseline`` points, once this observation completes them
    (None before); stored as a record."""
    session = sql.session
    assert session is not None and chart.baseline is not None
    closed = session.execute(select(func.count()).where(_points.c.chart == key)).scalar_one()
    if closed + 1 < chart.baseline:
        return None
    kind = kind_of(chart)
    rows = session.execute(
        select(_observations.c.value, _observations.c.size, _observations.c.config_version_id)
        .where(_observations.c.chart == key)
        .order_by(_observations.c.id)
        .limit(chart.baseline * chart.subgroup)
    ).all()
    n = chart.subgroup
    samples = [
        Sample(
            values=tuple(r.value for r in rows[i : i + n]), count=rows[i].value, size=rows[i].size
        )
        for i in range(0, len(rows), n)
    ]
    baseline = baseline_from(kind, samples, n)
    sql.execute(
        _INSERT_LIMITS,
        {
            "chart": key, "kind": kind, "subgroup": n, "center": baseline.center,
            "spread": baseline.spread, "sigma": baseline.sigma, "points": baseline.points,
            "computed_at": now, "config_version_id": rows[-1].config_version_id,
        },
    )  # fmt: skip
    return baseline


def _recent(session: Session, key: str, baseline: Baseline) -> list[tuple[float, float]]:
    """The chart's last points as the rules see them, ``(z, value)``, oldest first; a baseline
    point, recorded before the limits existed, is placed by them now."""
    rows = session.execute(
        select(_points.c.z, _points.c.value, _points.c.size)
        .where(_points.c.chart == key)
        .order_by(_points.c.id.desc())
        .limit(MEMORY)
    ).all()
    return [
        (r.z if r.z is not None else limits(baseline, r.size).z(r.value), r.value)
        for r in reversed(rows)
    ]


def _one_per_action(signals: Sequence[SpcSignalInfo]) -> list[SpcSignalInfo]:
    """The first signal of each reaction: a unit is held once, however many rules broke."""
    seen: dict[str, SpcSignalInfo] = {}
    for signal in signals:
        seen.setdefault(signal.action, signal)
    return list(seen.values())


def _react(
    sql: Sql,
    signal: SpcSignalInfo,
    *,
    item: ItemRow,
    operation: Operation,
    run_id: int,
    actor: str,
    now: dt.datetime,
) -> ItemRow:
    """Carry out a signal's declared reaction; the item as it then is."""
    if signal.action == "hold" and item.status in ("queued", "in_progress", "completed"):
        sql.execute(
            _INSERT_HOLD,
            {
                "item_id": item.id, "action": "hold", "source": "spc", "actor": actor,
                "reason": signal.message, "at": now,
                "config_version_id": item.config_version_id,
            },
        )  # fmt: skip
        return _move(
            sql, item, changes={"status": "on_hold"}, actor=actor, action="hold",
            reason=signal.message, now=now,
        )  # fmt: skip
    if signal.action == "nc" and item.status not in ("nonconforming", "scrapped"):
        nc_id: int = sql.scalar(
            _INSERT_NC,
            {
                **ITEM_SUBJECT, "item_id": item.id, "run_id": run_id,
                "operation": operation.id, "gate": None,
                "defect_code": f"spc-{signal.rule}", "description": signal.message,
                "continue_at": item.current_operation, "opened_by": actor, "opened_at": now,
                "config_version_id": item.config_version_id,
            },
        )  # fmt: skip
        audit.append(
            sql,
            [audit.Change(actor, "open", "nonconformance", nc_id, None,
                          {"item": item.number, "spc_signal": signal.id}, signal.message)],
        )  # fmt: skip
        return _move(
            sql, item, changes={"status": "nonconforming"}, actor=actor,
            action="nonconformance", reason=signal.message, now=now,
        )  # fmt: skip
    if signal.action == "hold-equipment" and operation.equipment is not None:
        assert sql.session is not None
        record_state_change(
            sql.session, operation.equipment, "down", actor=actor, at=now, reason=signal.message
        )
    return item


def _move(
    sql: Sql,
    item: ItemRow,
    *,
    changes: dict[str, Any],
    actor: str,
    action: str,
    reason: str,
    now: dt.datetime,
) -> ItemRow:
    moved = update_state(sql, item, {**changes, "status_reason": reason}, now)
    audit.append(sql, [state_change(item, moved, actor=actor, action=action, reason=reason)])
    return moved


# ---------------------------------------------------------------- blocking and acknowledging


def start_checks(session: Session, routing: str, operation: str) -> list[dict[str, Any]]:
    """A failing start check for each unacknowledged ``block`` signal on the operation, in the
    shape of an interlock's result."""
    rows = session.execute(
        select(_signals.c.id, _signals.c.description, _signals.c.rule, _signals.c.chart)
        .outerjoin(_acks, _acks.c.signal_id == _signals.c.id)
        .where(
            _signals.c.routing == routing,
            _signals.c.operation == operation,
            _signals.c.action == "block",
            _acks.c.id.is_(None),
        )
        .order_by(_signals.c.id)
    ).all()
    return [
        {
            "name": f"SPC signal {row.id}",
            "because": (
                f"SPC signal on {row.chart.split('/')[2]}: {row.description} ({row.rule}); "
                "a quality user must acknowledge it before the next start"
            ),
            "implicit": True,
            "outcome": "fail",
            "checks": [
                {"text": f"{row.rule}: {row.description}", "outcome": "fail", "readings": []}
            ],
        }
        for row in rows
    ]


def acknowledge(
    session: Session, *, signal_id: int, actor: str, comment: str, now: dt.datetime
) -> None:
    """A quality user acknowledges a signal, saying what was done; a blocked operation may then
    start again."""
    require_role(session, actor, ACKNOWLEDGE_ROLES, "acknowledge an SPC signal")
    text = comment.strip()
    if not text:
        raise Invalid(
            "Say what was found or done about the signal; the comment goes into the record.",
            field="comment",
        )
    signal = session.execute(
        select(_signals.c.id, _signals.c.chart).where(_signals.c.id == signal_id)
    ).one_or_none()
    if signal is None:
        raise NotFound(f"There is no SPC signal {signal_id}.")
    known = session.execute(
        select(_acks.c.actor, _acks.c.at).where(_acks.c.signal_id == signal_id)
    ).one_or_none()
    if known is not None:
        raise Conflict(
            f"SPC signal {signal_id} was already acknowledged by {known.actor} at "
            f"{known.at.isoformat(timespec='minutes')}."
        )
    Sql(session).execute(
        _INSERT_ACK,
        {"signal_id": signal_id, "actor": actor, "comment": text, "at": now},
    )
    audit.record(
        session,
        actor=actor,
        action="acknowledge",
        entity="spc_signal",
        entity_id=signal_id,
        new={"chart": signal.chart},
        reason=text,
    )
