"""AQL lot inspection (ANSI/ASQ Z1.4, docs/sampling.md): start the inspection of a received lot
with the plan its stream's switching state gives, record the samples one by one, and decide as
soon as the plan allows (rejected at Re nonconforming, accepted once all n are in with at most
Ac). A rejected received lot is put on hold, or stays in quarantine with the reason; an accepted
one leaves quarantine when the part's ``sample: {release: true}`` says so. Quality reinstates a
discontinued stream, signed. Every change writes its audit row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dsl.model import AqlSampling, Plant
from engine.access.people import require_role
from engine.access.signatures import Signer
from engine.commands.bulk_hold import BULK_MAX, hold_items
from engine.commands.materials import AVAILABLE, ON_HOLD, QUARANTINE, change_lot, lot_row
from engine.errors import Conflict, Forbidden, Invalid, NotFound, undeclared
from engine.floor import aql
from engine.floor.aql import AqlError, SkipLot
from engine.floor.aql_streams import (
    InspectionInfo,
    Stream,
    StreamState,
    inspection_info,
    plan_of,
    stream_state,
    switching,
)
from engine.infra import audit
from engine.infra.db import CONCURRENT_CHANGE
from engine.records.inspection import (
    InspectionDecision,
    InspectionReinstatement,
    InspectionSample,
    LotInspection,
)
from engine.records.production import Item, WorkOrder
from engine.records.tables import Lot

INSPECTOR_ROLES = ("quality",)
ENTITY = "lot_inspection"


def receiving_sampling(plant: Plant, part: str) -> AqlSampling:
    """The AQL sampling of a part's receiving inspection; Invalid when it has none."""
    if part not in plant.parts:
        raise undeclared("part", part, plant.parts, field="part")
    sample = plant.parts[part].sample
    if sample is None:
        raise Invalid(
            f"Part '{part}' has no AQL receiving inspection; add sample: {{aql: 1.0, level: II}} "
            "to it in materials.yaml.",
            field="part",
        )
    return sample


def check_start(session: Session, plant: Plant, *, part: str, lot: str, actor: str) -> Lot:
    """Everything :func:`start_receiving` checks before it writes; returns the lot."""
    require_role(session, actor, INSPECTOR_ROLES, "inspect a lot")
    receiving_sampling(plant, part)
    row = lot_row(session, part, lot)
    _not_started(session, part, "", lot)
    if row.received_quantity != int(row.received_quantity):
        raise Invalid(
            f"AQL sampling counts units, and lot '{lot}' holds {row.received_quantity:g} "
            f"{row.unit}; it cannot be sampled by Z1.4.",
            field="lot",
        )
    return row


@dataclass(frozen=True, slots=True)
class _Lot:
    """What is inspected: a lot of ``size`` units of a stream (``work_order`` on the floor)."""

    stream: Stream
    number: str
    size: int
    work_order: str = ""


def start_receiving(
    session: Session,
    plant: Plant,
    *,
    part: str,
    lot: str,
    actor: str,
    now: dt.datetime,
    steady: bool = True,
) -> InspectionInfo:
    """Put received lot ``lot`` of ``part`` to AQL inspection: the plan comes from the lot's
    size and the switching state of its stream (part and supplier). Under skip-lot a lot may
    pass uninspected (recorded, accepted, not counted for switching). Conflict while the
    stream's inspection is discontinued. ``steady``: production runs at a steady rate."""
    received = check_start(session, plant, part=part, lot=lot, actor=actor)
    target = _Lot(Stream(part, received.supplier), lot, int(received.received_quantity))
    sample = receiving_sampling(plant, part)
    return _start(session, target, sample=sample, actor=actor, now=now, steady=steady)


def operation_sampling(plant: Plant, work_order: WorkOrder, operation: str) -> AqlSampling:
    """The lot gate of ``operation`` in the work order's routing; Invalid when it has none."""
    routing = plant.routings.get(work_order.routing)
    found = routing and next((op for op in routing.operations if op.id == operation), None)
    if not found:
        raise Invalid(
            f"Work order '{work_order.number}' has no operation '{operation}'; use one of "
            f"{', '.join(op.id for op in routing.operations) if routing else 'its routing'}.",
            field="operation",
        )
    if found.sample is None:
        raise Invalid(
            f"Operation '{operation}' of routing '{work_order.routing}' has no AQL lot gate; add "
            "sample: {aql: 1.0, level: II} to it.",
            field="operation",
        )
    return found.sample


def check_operation_start(
    session: Session, plant: Plant, *, work_order: str, operation: str, actor: str
) -> tuple[WorkOrder, AqlSampling]:
    """Everything :func:`start_operation` checks before it writes."""
    require_role(session, actor, INSPECTOR_ROLES, "inspect a lot")
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == work_order))
    if order is None:
        raise NotFound(f"There is no work order '{work_order}'; check the number.")
    sample = operation_sampling(plant, order, operation)
    _not_started(session, order.product, operation, work_order)
    if order.quantity != int(order.quantity):
        raise Invalid(
            f"AQL sampling counts units, and work order '{work_order}' makes "
            f"{order.quantity:g}; it cannot be sampled by Z1.4.",
            field="work_order",
        )
    return order, sample


def start_operation(
    session: Session,
    plant: Plant,
    *,
    work_order: str,
    operation: str,
    actor: str,
    now: dt.datetime,
    steady: bool = True,
) -> InspectionInfo:
    """Put a work order's lot to AQL inspection at an operation's lot gate: the plan comes from
    the order's quantity and the switching state of the product at that operation."""
    order, sample = check_operation_start(
        session, plant, work_order=work_order, operation=operation, actor=actor
    )
    target = _Lot(Stream(order.product, "", operation), work_order, int(order.quantity), work_order)
    return _start(session, target, sample=sample, actor=actor, now=now, steady=steady)


def _not_started(session: Session, part: str, operation: str, lot: str) -> None:
    """Conflict when the lot was already put to inspection (at that operation)."""
    started = session.scalar(
        select(LotInspection.id).where(
            LotInspection.part == part,
            LotInspection.operation == operation,
            LotInspection.lot == lot,
        )
    )
    if started is not None:
        what = f"Work order '{lot}'" if operation else f"Lot '{lot}' of part '{part}'"
        raise Conflict(f"{what} was already put to inspection {started}; record its samples there.")


def _start(
    session: Session,
    target: _Lot,
    *,
    sample: AqlSampling,
    actor: str,
    now: dt.datetime,
    steady: bool,
) -> InspectionInfo:
    """Record the start of an inspection with the plan of the stream's state."""
    stream = target.stream
    state = switching(session, stream).state
    skip = (
        None
        if sample.skip_after is None or sample.skip_every is None
        else SkipLot(sample.skip_after, sample.skip_every)
    )
    try:
        inspect = aql.must_inspect(state, skip)
        used = aql.plan(target.size, sample.level, sample.aql, state.severity)
    except AqlError as refused:
        raise Conflict(f"{stream.describe()}: {refused}") from None
    row = LotInspection(
        part=stream.part, supplier=stream.supplier, operation=stream.operation,
        work_order=target.work_order, lot=target.number, lot_size=used.lot_size, aql=used.aql,
        level=used.level, severity=used.severity.value, code_letter=used.code_letter,
        letter=used.letter, sample_size=used.sample_size, ac=used.ac, re=used.re,
        full=used.full, skipped=not inspect, steady=steady,
        reduced_allowed=sample.reduced_allowed, started_by=actor, started_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(
        session, actor=actor, action="start_inspection", entity=ENTITY, entity_id=row.id,
        new={"part": stream.part, "supplier": stream.supplier, "operation": stream.operation,
             "lot": target.number, "plan": used.describe(), "skipped": not inspect},
    )  # fmt: skip
    if not inspect:
        _decide(session, row, sample, accepted=True, inspected=0, defects=0, actor=actor, now=now)
    return inspection_info(session, row)


def check_sample(session: Session, *, inspection_id: int, actor: str) -> LotInspection:
    """Everything :func:`record_sample` checks before it writes; returns the inspection."""
    require_role(session, actor, INSPECTOR_ROLES, "record an inspection sample")
    row = inspection_row(session, inspection_id)
    decided = session.scalar(
        select(InspectionDecision.accepted).where(InspectionDecision.inspection_id == row.id)
    )
    if decided is not None:
        raise Conflict(
            f"Inspection {row.id} of lot '{row.lot}' is already decided: the lot was "
            f"{'accepted' if decided else 'rejected'}; no more samples are taken."
        )
    return row


def record_sample(
    session: Session,
    plant: Plant,
    *,
    inspection_id: int,
    conforming: bool,
    actor: str,
    now: dt.datetime,
    defect_code: str = "",
    note: str = "",
) -> InspectionInfo:
    """Record the next sample of an open inspection, conforming or not (a defect code only for
    a nonconforming one), and decide the lot as soon as the plan allows."""
    row = check_sample(session, inspection_id=inspection_id, actor=actor)
    if conforming and defect_code.strip():
        raise Invalid(
            "A conforming sample has no defect code; leave it empty or record the sample as "
            "nonconforming.",
            field="defect_code",
        )
    taken = session.scalar(
        select(func.count())
        .select_from(InspectionSample)
        .where(InspectionSample.inspection_id == row.id)
    )
    defects = session.scalar(
        select(func.count())
        .select_from(InspectionSample)
        .where(InspectionSample.inspection_id == row.id, InspectionSample.conforming.is_(False))
    )
    number = int(taken or 0) + 1
    defects = int(defects or 0) + (0 if conforming else 1)
    sample = InspectionSample(
        inspection_id=row.id, number=number, conforming=conforming,
        defect_code=defect_code.strip(), note=note, recorded_by=actor, recorded_at=now,
    )  # fmt: skip
    session.add(sample)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            f"Sample {number} of inspection {row.id} was recorded by someone else a moment ago; "
            "reload and record the next one.",
            code=CONCURRENT_CHANGE,
        ) from None
    audit.record(
        session, actor=actor, action="inspection_sample", entity=ENTITY, entity_id=row.id,
        new={"sample": number, "conforming": conforming, "defect_code": sample.defect_code},
    )  # fmt: skip
    decision = aql.decide(plan_of(row), inspected=number, defects=defects)
    if decision.accepted is not None:
        _decide(
            session, row, _sampling_of(plant, row), accepted=decision.accepted,
            inspected=number, defects=defects, actor=actor, now=now,
        )  # fmt: skip
    return inspection_info(session, row)


def _sampling_of(plant: Plant, row: LotInspection) -> AqlSampling | None:
    """The sampling the deployed config declares for the inspection's part (None: none now);
    only a received lot's ``release`` is read from it."""
    part = plant.parts.get(row.part)
    return None if part is None or row.operation else part.sample


def _decide(
    session: Session,
    row: LotInspection,
    sample: AqlSampling | None,
    *,
    accepted: bool,
    inspected: int,
    defects: int,
    actor: str,
    now: dt.datetime,
) -> None:
    """Record the lot's decision with its audit row, then hold (rejected) or release
    (accepted, when the config says so) the received lot."""
    decision = InspectionDecision(
        inspection_id=row.id, part=row.part, supplier=row.supplier, operation=row.operation,
        accepted=accepted, inspected=inspected, defects=defects, decided_by=actor, decided_at=now,
    )  # fmt: skip
    session.add(decision)
    session.flush()
    verdict = "accepted" if accepted else "rejected"
    reason = (
        f"AQL inspection {row.id} {verdict} the lot: {defects} nonconforming in {inspected} "
        f"samples (Ac {row.ac}, Re {row.re})"
    )
    audit.record(
        session, actor=actor, action="decide_inspection", entity=ENTITY, entity_id=row.id,
        new={"accepted": accepted, "inspected": inspected, "defects": defects}, reason=reason,
    )  # fmt: skip
    if row.operation:
        if not accepted:
            _hold_work_order(session, row, actor=actor, reason=reason, now=now)
        return
    lot = lot_row(session, row.part, row.lot)
    if not accepted and lot.status in (AVAILABLE, QUARANTINE):
        action = "hold" if lot.status == AVAILABLE else "keep_in_quarantine"
        status = ON_HOLD if lot.status == AVAILABLE else QUARANTINE
        change_lot(
            session, lot, actor=actor, action=action, status=status, reason=reason,
            hold_reason=reason,
        )  # fmt: skip
    elif accepted and sample is not None and sample.release and _releasable(lot, now):
        change_lot(
            session, lot, actor=actor, action="release", status=AVAILABLE, reason=reason,
            hold_reason="",
        )  # fmt: skip


def _hold_work_order(
    session: Session, row: LotInspection, *, actor: str, reason: str, now: dt.datetime
) -> None:
    """Hold the units or lot of a work order whose lot was rejected at a lot gate."""
    numbers = session.scalars(
        select(Item.number)
        .join(WorkOrder, WorkOrder.id == Item.work_order_id)
        .where(WorkOrder.number == row.work_order)
        .order_by(Item.ordinal)
        .limit(BULK_MAX)
    ).all()
    if numbers:
        hold_items(
            session, numbers=numbers, actor=actor, reason=reason, now=now,
            source=f"inspection {row.id}",
        )  # fmt: skip


def _releasable(lot: Lot, now: dt.datetime) -> bool:
    """A lot in quarantine that has not expired."""
    return lot.status == QUARANTINE and (lot.expires_on is None or now.date() < lot.expires_on)


def inspection_row(session: Session, inspection_id: int) -> LotInspection:
    """The inspection as a row; NotFound when there is none."""
    row = session.get(LotInspection, inspection_id)
    if row is None:
        raise NotFound(f"There is no inspection {inspection_id}; check the number.")
    return row


def inspection(session: Session, inspection_id: int) -> InspectionInfo:
    """One inspection with its samples and decision."""
    return inspection_info(session, inspection_row(session, inspection_id))


def check_reinstate(session: Session, stream: Stream, *, actor: str, reason: str) -> None:
    """Everything :func:`reinstate` checks, before the signer is re-authenticated."""
    require_role(session, actor, INSPECTOR_ROLES, "reinstate inspection")
    if not reason.strip():
        raise Invalid(
            "Give the supplier's corrective action as the reason to reinstate inspection.",
            field="reason",
        )
    state = switching(session, stream).state
    if state.severity is not aql.Severity.DISCONTINUED:
        raise Conflict(
            f"Inspection of {stream.describe()} is {state.severity.value}, not discontinued; "
            "there is nothing to reinstate."
        )


def reinstate(
    session: Session, stream: Stream, *, actor: str, signer: Signer, reason: str, now: dt.datetime
) -> StreamState:
    """Quality resumes a discontinued stream on tightened inspection, signed."""
    check_reinstate(session, stream, actor=actor, reason=reason)
    if "quality" not in signer.roles:
        raise Forbidden(
            f"User '{signer.username}' signs without the quality role; only quality can "
            "reinstate inspection."
        )
    row = InspectionReinstatement(
        part=stream.part, supplier=stream.supplier, operation=stream.operation,
        after_decision=switching(session, stream).last_decision, reason=reason.strip(),
        signed_by=signer.username, meaning=signer.meaning, signed_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(
        session, actor=actor, action="reinstate_inspection", entity="inspection_stream",
        entity_id=f"{stream.part}/{stream.supplier}/{stream.operation}",
        old={"severity": "discontinued"}, new={"severity": "tightened", "signed_by":
        signer.username, "meaning": signer.meaning}, reason=reason.strip(),
    )  # fmt: skip
    return stream_state(session, stream)
