"""Downtime: stops that need a reason, coding them, and the quarter-hour state buckets for OEE.

A *stop* is a stretch of a machine's history not running and not in setup (``down``, ``idle`` or
``unknown``); one longer than its work centre's ``code_after`` needs a reason from the work
centre's reason tree. An operator codes a stop from the station; a supervisor may later split it
(code parts of it) or re-code it: every coding is a new row (audited) and for each second the
newest coding covering it holds, so the first coding stays on record.

The state buckets (:class:`~engine.records.downtime.EquipmentStateBucket`) are kept as each state
change is recorded (:func:`add_state_time`, called by
:func:`engine.commands.equipment.record_state_change`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dsl.calendars import DowntimeReason, ReasonTree
from dsl.model import Plant
from engine.access.people import require_role
from engine.errors import Conflict, Invalid, NotFound
from engine.floor import kpis
from engine.floor.completions import completions
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.downtime import (
    DowntimeCoding,
    EquipmentStateBucket,
    ProductionBucket,
    ProductionWatermark,
)
from engine.records.tables import EquipmentRecord, EquipmentStateChange

STOP_STATES = frozenset({"down", "idle", "unknown"})
SUMMARY_LAG = dt.timedelta(minutes=5)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

CODERS = ("operator", "supervisor", "admin")  # who may code a stop (and split or re-code it)


@dataclass(frozen=True, slots=True)
class Stop(Jsonable):
    """A stretch of not producing; ``reason`` is the newest coding at its start ("" if none)."""

    equipment: str
    start: dt.datetime
    end: dt.datetime
    state: str
    reason: str
    needs_reason: bool

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class Coding(Jsonable):
    """One recorded coding."""

    id: int
    equipment: str
    start: dt.datetime
    end: dt.datetime
    reason: str
    planned: bool
    coded_by: str
    coded_at: dt.datetime


# ---------------------------------------------------------------- buckets


def add_state_time(
    session: Session, equipment: str, state: str, start: dt.datetime, end: dt.datetime
) -> None:
    """Count ``start``–``end`` in ``state`` into the machine's quarter-hour buckets: one read of
    the buckets the span already has (a machine idle for a long weekend spans hundreds of
    quarter-hours); the writes go with the transaction's flush, after its audit row, as every
    command's do (one lock order: no deadlock between two state changes)."""
    spans = list(kpis.quarter_hours(start, end))
    if not spans:
        return
    found = session.scalars(
        select(EquipmentStateBucket).where(
            EquipmentStateBucket.equipment == equipment,
            EquipmentStateBucket.state == state,
            EquipmentStateBucket.start.between(spans[0][0], spans[-1][0]),
        )
    )
    existing = {row.start: row for row in found}  # aware UTC, as the column type reads it
    for bucket, seconds in spans:
        row = existing.get(bucket)
        if row is None:
            session.add(
                EquipmentStateBucket(
                    equipment=equipment, start=bucket, state=state, seconds=seconds
                )
            )
        else:
            row.seconds += seconds


def rebuild_buckets(session: Session, equipment: str) -> int:
    """Recompute a machine's buckets from its whole state history; the changes read."""
    session.execute(delete(EquipmentStateBucket).where(EquipmentStateBucket.equipment == equipment))
    totals: dict[tuple[dt.datetime, str], float] = {}
    previous: tuple[str, dt.datetime] | None = None
    count = 0
    query = (
        select(EquipmentStateChange.state, EquipmentStateChange.at)
        .where(EquipmentStateChange.equipment == equipment)
        .order_by(EquipmentStateChange.at, EquipmentStateChange.id)
        .execution_options(yield_per=10_000)
    )
    for state, at in session.execute(query):
        count += 1
        if previous is not None:
            for bucket, seconds in kpis.quarter_hours(previous[1], at):
                key = (bucket, previous[0])
                totals[key] = totals.get(key, 0.0) + seconds
        previous = (state, at)
    session.add_all(
        EquipmentStateBucket(equipment=equipment, start=bucket, state=state, seconds=seconds)
        for (bucket, state), seconds in totals.items()
    )
    session.flush()
    return count


def behind(session: Session, equipment: list[str], now: dt.datetime) -> list[str]:
    """The machines whose production buckets :func:`summarize_production` would extend."""
    upto = kpis.bucket_start(now - SUMMARY_LAG)
    query = select(ProductionWatermark.equipment, ProductionWatermark.until)
    rows = session.execute(query.where(ProductionWatermark.equipment.in_(equipment))).all()
    marks = {name: until for name, until in rows}
    return [name for name in equipment if marks.get(name, EPOCH) < upto]


def summarize_production(session: Session, equipment: list[str], now: dt.datetime) -> None:
    """Sum the machines' completions into production buckets up to the quarter-hour
    :data:`SUMMARY_LAG` before ``now`` (a completion commits within moments of its time, so
    none can land behind the watermark), and move their watermarks there."""
    upto = kpis.bucket_start(now - SUMMARY_LAG)
    for name in equipment:
        mark = session.get(ProductionWatermark, name, with_for_update=True)
        if mark is None:
            mark = ProductionWatermark(equipment=name, until=EPOCH)
            session.add(mark)
        if mark.until >= upto:
            continue
        totals: dict[tuple[dt.datetime, str, str, str, str], list[float]] = {}
        for row in completions(session, name, mark.until, upto):
            key = (kpis.bucket_start(row.completed_at), row.routing, row.operation, row.product,
                   row.route)  # fmt: skip
            sums = totals.setdefault(key, [0.0, 0.0])
            sums[0] += row.quantity
            sums[1] += row.first_quantity
        for (start, routing, operation, product, route), (quantity, first) in totals.items():
            found = session.get(ProductionBucket, (name, start, routing, operation, product, route))
            if found is None:
                session.add(ProductionBucket(
                    equipment=name, start=start, routing=routing, operation=operation,
                    product=product, route=route, quantity=quantity, first_quantity=first,
                ))  # fmt: skip
            else:
                found.quantity += quantity
                found.first_quantity += first
        mark.until = upto
    session.flush()


# ---------------------------------------------------------------- stops and codings


def reason_tree(plant: Plant, equipment: str) -> ReasonTree:
    """The reason tree of the machine's work centre; Invalid when it has none."""
    config = plant.equipment.get(equipment)
    if config is None:
        raise NotFound(f"There is no equipment '{equipment}' in the deployed config.")
    center = plant.work_centers.get(config.work_center or "")
    if center is None or center.downtime is None:
        raise Invalid(
            f"Stops of '{equipment}' cannot be coded: its work center declares no downtime "
            "reasons. Add a downtime: reason tree to the work center in the config."
        )
    return center.downtime


def stops(
    session: Session,
    plant: Plant,
    equipment: str,
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> list[Stop]:
    """The machine's stops overlapping ``start``–``end`` (clipped to it and to ``now``), oldest
    first."""
    tree = reason_tree(plant, equipment)
    spans = state_spans(session, equipment, start, min(end, now))
    merged: list[tuple[dt.datetime, dt.datetime, str]] = []
    for span_start, span_end, state in spans:
        if state not in STOP_STATES:
            continue
        if merged and merged[-1][1] == span_start:
            merged[-1] = (merged[-1][0], span_end, merged[-1][2])
        else:
            merged.append((span_start, span_end, state))
    painted = kpis.paint(
        [((c.start, c.end), c.reason) for c in _codings(session, [equipment], start, end)]
    )
    result = []
    for stop_start, stop_end, state in merged:
        reason = next((r for (s, e), r in painted if s <= stop_start < e), "")
        long = (stop_end - stop_start).total_seconds() > tree.code_after_s
        result.append(Stop(equipment, stop_start, stop_end, state, reason, long and not reason))
    return result


@dataclass(frozen=True, slots=True)
class TimelineBand(Jsonable):
    """A stretch of one state on a machine's timeline, with the reason coded on it."""

    start: dt.datetime
    end: dt.datetime
    state: str
    reason: str


def timeline(
    session: Session, equipment: str, *, start: dt.datetime, end: dt.datetime
) -> list[TimelineBand]:
    """The machine's states over ``start``–``end`` (``end`` not after now), each cut where the
    newest coding changes."""
    painted = kpis.paint(
        [((c.start, c.end), c.reason) for c in _codings(session, [equipment], start, end)]
    )
    bands = []
    for span_start, span_end, state in state_spans(session, equipment, start, end):
        cuts = sorted({span_start, span_end} | {
            t for (s, e), _ in painted for t in (s, e) if span_start < t < span_end
        })  # fmt: skip
        for piece_start, piece_end in itertools.pairwise(cuts):
            reason = next((r for (s, e), r in painted if s <= piece_start < e), "")
            bands.append(TimelineBand(piece_start, piece_end, state, reason))
    return bands


def code_stop(
    session: Session,
    plant: Plant,
    equipment: str,
    *,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    actor: str,
    now: dt.datetime,
    comment: str = "",
) -> Coding:
    """Give ``start``–``end`` of the machine's time the ``reason`` (a path of its tree)."""
    parts = [(start, end, reason)]
    return code_parts(
        session, plant, equipment, parts=parts, actor=actor, now=now, comment=comment
    )[0]


def code_parts(
    session: Session,
    plant: Plant,
    equipment: str,
    *,
    parts: list[tuple[dt.datetime, dt.datetime, str]],
    actor: str,
    now: dt.datetime,
    comment: str = "",
) -> list[Coding]:
    """Code several stretches at once: a supervisor splitting a stop into differently coded
    parts. Each must lie in a stop (never running or in setup) and end by ``now``."""
    require_role(session, actor, CODERS, "code a stop")
    tree = reason_tree(plant, equipment)
    if not parts:
        raise Invalid("Give at least one stretch of the stop to code.", field="parts")
    rows = [
        _coding_row(session, tree, equipment, part, actor=actor, comment=comment, now=now)
        for part in parts
    ]
    session.add_all(rows)
    session.flush()
    audit.record_many(
        session,
        [
            audit.Change(
                actor=actor,
                action="code_downtime",
                entity="equipment",
                entity_id=equipment,
                new={"start": row.start, "end": row.end, "reason": row.reason, "coding": row.id},
                reason=comment,
            )
            for row in rows
        ],
    )
    return [_coding(row) for row in rows]


def codings(
    session: Session, equipment: list[str], start: dt.datetime, end: dt.datetime
) -> list[Coding]:
    """Codings overlapping ``start``–``end`` on the machines, oldest first (the newest holds)."""
    return [_coding(row) for row in _codings(session, equipment, start, end)]


def _codings(
    session: Session, equipment: list[str], start: dt.datetime, end: dt.datetime
) -> list[DowntimeCoding]:
    query = (
        select(DowntimeCoding)
        .where(DowntimeCoding.equipment.in_(equipment))
        .where(DowntimeCoding.start < end, DowntimeCoding.end > start)
        .order_by(DowntimeCoding.id)
    )
    return list(session.scalars(query))


def _coding_row(
    session: Session,
    tree: ReasonTree,
    equipment: str,
    part: tuple[dt.datetime, dt.datetime, str],
    *,
    actor: str,
    comment: str,
    now: dt.datetime,
) -> DowntimeCoding:
    start, end, path = part
    reason = _reason(tree, path)
    if end <= start:
        raise Invalid(
            f"A coded stretch must end after it starts ({start.isoformat()} to {end.isoformat()}).",
            field="end",
        )
    if end > now:
        raise Invalid(
            f"A stop can only be coded up to now; {end.isoformat()} is in the future.", field="end"
        )
    producing = [
        state for s, e, state in state_spans(session, equipment, start, end)
        if state not in STOP_STATES and e > s
    ]  # fmt: skip
    if producing:
        raise Conflict(
            f"'{equipment}' was {producing[0]} between {start.isoformat()} and {end.isoformat()}; "
            "code only the time it stood still."
        )
    return DowntimeCoding(
        equipment=equipment,
        start=start,
        end=end,
        reason=reason.path,
        planned=reason.planning == "planned",
        comment=comment,
        coded_by=actor,
        coded_at=now,
    )


def _reason(tree: ReasonTree, path: str) -> DowntimeReason:
    reason = tree.find(path)
    if reason is None:
        known = ", ".join(r.path for r in tree.reasons)
        raise Invalid(
            f"'{path}' is not a downtime reason here; use one of: {known}.", field="reason"
        )
    return reason


def state_spans(
    session: Session, equipment: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """The machine's states over ``start``–``end`` (``end`` not after now), from its history."""
    record = session.get(EquipmentRecord, equipment)
    if record is None:
        raise NotFound(f"There is no equipment '{equipment}'.")
    before = session.scalar(
        select(EquipmentStateChange.state)
        .where(EquipmentStateChange.equipment == equipment, EquipmentStateChange.at <= start)
        .order_by(EquipmentStateChange.at.desc(), EquipmentStateChange.id.desc())
        .limit(1)
    )
    changes = session.execute(
        select(EquipmentStateChange.at, EquipmentStateChange.state)
        .where(EquipmentStateChange.equipment == equipment)
        .where(EquipmentStateChange.at > start, EquipmentStateChange.at < end)
        .order_by(EquipmentStateChange.at, EquipmentStateChange.id)
    ).all()
    spans: list[tuple[dt.datetime, dt.datetime, str]] = []
    at, state = start, before or "idle"
    for changed_at, new in changes:
        spans.append((at, changed_at, state))
        at, state = changed_at, new
    spans.append((at, end, state))
    return [(s, e, state) for s, e, state in spans if e > s]


def _coding(row: DowntimeCoding) -> Coding:
    return Coding(
        row.id, row.equipment, row.start, row.end, row.reason, row.planned, row.coded_by,
        row.coded_at,
    )  # fmt: skip
