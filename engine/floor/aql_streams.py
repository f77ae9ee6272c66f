"""The recorded side of AQL sampling: a stream of lots (per part and supplier at receiving, per
product and operation on the floor), its switching state rebuilt by replaying its decisions
through :func:`engine.floor.aql.after_lot` (no mutable state is stored), and what a recorded
lot inspection looks like to people.

The replay reads the stream's decisions in order (one indexed range: part, supplier,
operation, id) with the plan each lot was inspected with, and its reinstatements.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from engine.floor import aql
from engine.floor.aql import Plan, Severity, Switching
from engine.infra.jsonable import Jsonable
from engine.records.inspection import (
    InspectionDecision,
    InspectionReinstatement,
    InspectionSample,
    LotInspection,
)


@dataclass(frozen=True, slots=True)
class Stream:
    """A stream of lots under one set of switching rules: ``operation`` is "" at receiving
    (``part`` and ``supplier``), set on the floor (``part`` is the product, no supplier)."""

    part: str
    supplier: str = ""
    operation: str = ""

    def describe(self) -> str:
        if self.operation:
            return f"{self.part} at operation '{self.operation}'"
        return f"{self.part} from {self.supplier or 'an unnamed supplier'}"


@dataclass(frozen=True, slots=True)
class StreamState(Jsonable):
    """Where a stream stands: its ``severity`` (normal, tightened, reduced, discontinued), the
    switching score, the outcomes of the last lots on normal inspection (True: accepted), the
    accepted streak on tightened inspection, the lots not accepted since tightened began, the
    consecutive accepted lots, and ``lots`` decided so far."""

    part: str
    supplier: str
    operation: str
    severity: str
    score: int
    recent: tuple[bool, ...]
    streak: int
    rejected_on_tightened: int
    accepted_run: int
    lots: int


@dataclass(frozen=True, slots=True)
class SampleInfo(Jsonable):
    number: int
    conforming: bool
    defect_code: str
    note: str
    recorded_by: str
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class InspectionInfo(Jsonable):
    """A lot inspection: the lot, the plan (``plan`` in words), the samples so far, and the
    decision once made (``accepted`` None while open)."""

    id: int
    part: str
    supplier: str
    operation: str
    work_order: str
    lot: str
    lot_size: int
    aql: str
    level: str
    severity: str
    code_letter: str
    letter: str
    sample_size: int
    ac: int
    re: int
    full: bool
    skipped: bool
    plan: str
    started_by: str
    started_at: dt.datetime
    samples: tuple[SampleInfo, ...]
    inspected: int
    defects: int
    accepted: bool | None
    decided_by: str
    decided_at: dt.datetime | None


def plan_of(row: LotInspection | Row[*tuple[Any, ...]]) -> Plan:
    """The plan a lot was inspected with, as recorded (an inspection, or a row of its columns)."""
    return Plan(
        lot_size=row.lot_size,
        level=row.level,
        aql=row.aql,
        severity=Severity(row.severity),
        code_letter=row.code_letter,
        letter=row.letter,
        sample_size=row.sample_size,
        ac=row.ac,
        re=row.re,
        full=row.full,
    )


_REPLAYED = (
    LotInspection.lot_size, LotInspection.level, LotInspection.aql, LotInspection.severity,
    LotInspection.code_letter, LotInspection.letter, LotInspection.sample_size, LotInspection.ac,
    LotInspection.re, LotInspection.full, LotInspection.skipped, LotInspection.steady,
    LotInspection.reduced_allowed,
)  # fmt: skip
"""The columns of an inspection a replay reads (plain rows: no ORM objects to build)."""


@dataclass(frozen=True, slots=True)
class Replay:
    """A stream's switching ``state``, its ``last_decision`` id (0 for none) and ``lots``
    decided."""

    state: Switching
    last_decision: int
    lots: int


def switching(session: Session, stream: Stream) -> Replay:
    """The stream's switching state, replayed from its decisions and reinstatements."""
    where = (
        InspectionDecision.part == stream.part,
        InspectionDecision.supplier == stream.supplier,
        InspectionDecision.operation == stream.operation,
    )
    decided = session.execute(
        select(*_REPLAYED, InspectionDecision.id, InspectionDecision.defects)
        .join(LotInspection, LotInspection.id == InspectionDecision.inspection_id)
        .where(*where)
        .order_by(InspectionDecision.id)
    ).all()
    reinstated = list(
        session.scalars(
            select(InspectionReinstatement.after_decision)
            .where(
                InspectionReinstatement.part == stream.part,
                InspectionReinstatement.supplier == stream.supplier,
                InspectionReinstatement.operation == stream.operation,
            )
            .order_by(InspectionReinstatement.id)
        )
    )
    state = Switching()
    last = 0
    for row in decided:
        state, reinstated = _reinstated(state, reinstated, last)
        if row.skipped:
            state = aql.after_skipped(state)
        else:
            state = aql.after_lot(
                state, plan_of(row), defects=row.defects, steady=row.steady,
                reduced_allowed=row.reduced_allowed,
            )  # fmt: skip
        last = row.id
    state, _ = _reinstated(state, reinstated, last)
    return Replay(state, last, len(decided))


def _reinstated(state: Switching, pending: list[int], last: int) -> tuple[Switching, list[int]]:
    """Apply the reinstatements signed after decision ``last`` (and before the next)."""
    while pending and pending[0] <= last:
        if pending[0] == last and state.severity is Severity.DISCONTINUED:
            state = aql.reinstate(state)
        pending = pending[1:]
    return state, pending


def stream_state(session: Session, stream: Stream) -> StreamState:
    """The switching state of a stream, for people."""
    replay = switching(session, stream)
    state = replay.state
    return StreamState(
        part=stream.part,
        supplier=stream.supplier,
        operation=stream.operation,
        severity=state.severity.value,
        score=state.score,
        recent=state.recent,
        streak=state.streak,
        rejected_on_tightened=state.rejected_on_tightened,
        accepted_run=state.accepted_run,
        lots=replay.lots,
    )


def inspection_info(session: Session, row: LotInspection) -> InspectionInfo:
    """A recorded lot inspection with its samples and decision."""
    samples = tuple(
        SampleInfo(
            number=sample.number,
            conforming=sample.conforming,
            defect_code=sample.defect_code,
            note=sample.note,
            recorded_by=sample.recorded_by,
            recorded_at=sample.recorded_at,
        )
        for sample in session.scalars(
            select(InspectionSample)
            .where(InspectionSample.inspection_id == row.id)
            .order_by(InspectionSample.number)
        )
    )
    decision = session.scalar(
        select(InspectionDecision).where(InspectionDecision.inspection_id == row.id)
    )
    return InspectionInfo(
        id=row.id, part=row.part, supplier=row.supplier, operation=row.operation,
        work_order=row.work_order, lot=row.lot, lot_size=row.lot_size, aql=row.aql,
        level=row.level, severity=row.severity, code_letter=row.code_letter, letter=row.letter,
        sample_size=row.sample_size, ac=row.ac, re=row.re, full=row.full, skipped=row.skipped,
        plan="skipped (skip-lot)" if row.skipped else plan_of(row).describe(),
        started_by=row.started_by, started_at=row.started_at, samples=samples,
        inspected=len(samples), defects=sum(not sample.conforming for sample in samples),
        accepted=None if decision is None else decision.accepted,
        decided_by="" if decision is None else decision.decided_by,
        decided_at=None if decision is None else decision.decided_at,
    )  # fmt: skip
