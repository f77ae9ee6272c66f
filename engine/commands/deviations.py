"""Planned deviations: quality's signed, time-boxed permission to accept a gate outside its limit.

A deviation names a gate of a product's operation, the value it concerns (a collected number or
a tag the gate's check reads), the range accepted instead (within what the field accepts at
entry), the work orders it covers and the period. While it is in force, a completion of an item
of one of those work orders whose gate fails, but whose value lies within the deviation's range,
records the gate as ``deviation`` (accepted under DEV-0007) instead of failing it; a value outside
the range still fails. Quality withdraws a deviation early with a reason. Both are signed
(meaning :data:`DEVIATION_MEANING`) and kept; the station shows the deviations in force for the
work order at hand, and the record lists each one that was applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl import env as keys
from dsl.diagnostics import did_you_mean
from dsl.model import Gate, Operation, Plant
from dsl.units import to_si
from engine.access.people import require_role
from engine.access.signatures import Signed, Signer, content_hash, store
from engine.commands.versions import require_active_version_id
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.deviations import Deviation, DeviationWithdrawal
from engine.records.production import WorkOrder

DEVIATION_ROLES = ("quality",)
DEVIATION_MEANING = "Deviation approved"
LONGEST = dt.timedelta(days=90)
"""The longest a deviation may run: a lasting change belongs in the config, under change
control."""


@dataclass(frozen=True, slots=True)
class DeviationInput:
    """What quality asks for: the gate, the value, its range and unit, the work orders, the
    period and why."""

    product: str
    operation: str
    gate: str
    subject: str
    low: float
    high: float
    work_orders: tuple[str, ...]
    valid_from: dt.datetime
    valid_until: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class DeviationInfo(Jsonable):
    """A deviation as people see it; ``withdrawn_at`` once it was ended early."""

    id: int
    number: str
    product: str
    operation: str
    gate: str
    subject: str
    low: float
    high: float
    unit: str
    work_orders: tuple[str, ...]
    valid_from: dt.datetime
    valid_until: dt.datetime
    reason: str
    created_by: str
    created_at: dt.datetime
    withdrawn_at: dt.datetime | None = None
    withdrawn_by: str | None = None
    withdrawal_reason: str = ""

    def in_force(self, now: dt.datetime) -> bool:
        """Whether it applies at ``now``."""
        return self.withdrawn_at is None and self.valid_from <= now < self.valid_until

    def summary(self) -> str:
        """One line for the station and the record."""
        return (
            f"{self.number}: gate '{self.gate}' of '{self.operation}' accepts {self.subject} "
            f"from {self.low:g} to {self.high:g} {self.unit}".rstrip()
            + f" until {self.valid_until:%Y-%m-%d %H:%M} UTC ({self.reason})"
        )


def _gate(plant: Plant, given: DeviationInput) -> tuple[Operation, Gate]:
    if given.product not in plant.products:
        hint = did_you_mean(given.product, plant.products)
        raise NotFound(
            f"Site '{plant.site.name}' makes no product '{given.product}'"
            + (f"; {hint}" if hint else "")
        )
    routing = plant.routing_for(given.product)
    names = [op.id for op in routing.operations]
    if given.operation not in names:
        hint = did_you_mean(given.operation, names)
        raise Invalid(
            f"Routing '{routing.name}' has no operation '{given.operation}'; "
            + (hint if hint else "choose one of " + ", ".join(names)),
            field="operation",
        )
    operation = routing.operation(given.operation)
    gates = {g.name: g for g in operation.gates}
    if given.gate not in gates:
        listed = ", ".join(gates) or "none"
        raise Invalid(
            f"Operation '{operation.id}' has no gate '{given.gate}'; its gates: {listed}.",
            field="gate",
        )
    return operation, gates[given.gate]


def _subject(plant: Plant, operation: Operation, gate: Gate, subject: str) -> tuple[str, str]:
    """The environment key and unit of the value the deviation is about; Invalid unless the
    gate's check reads it and it is a number."""
    entry = operation.field(subject)
    if entry is not None:
        key, unit = keys.field_key(operation.id, subject), entry.unit or ""
    else:
        key = keys.tag_key(subject)
        try:
            unit = plant.tag(subject).unit or ""
        except KeyError:
            unit = ""
    if key not in gate.check.keys:
        raise Invalid(
            f"Gate '{gate.name}' does not read '{subject}'; a deviation widens a value the gate "
            "checks.",
            field="subject",
        )
    return key, unit


def _check_range(operation: Operation, given: DeviationInput, unit: str) -> None:
    if not given.low < given.high:
        raise Invalid("The accepted range must run from a lower to a higher value.", field="low")
    entry = operation.field(given.subject)
    if entry is None:
        return
    below = entry.low is not None and given.low < entry.low
    above = entry.high is not None and given.high > entry.high
    if below or above:
        raise Invalid(
            f"'{given.subject}' accepts {entry.low:g} to {entry.high:g} {unit} at entry; a "
            "deviation cannot go beyond what can be entered.",
            field="low" if below else "high",
        )


def _check_period(given: DeviationInput, now: dt.datetime) -> None:
    if given.valid_until <= given.valid_from:
        raise Invalid("The deviation must end after it starts.", field="valid_until")
    if given.valid_until <= now:
        raise Invalid(
            "The deviation would already be over; give an end in the future.", field="valid_until"
        )
    if given.valid_until - given.valid_from > LONGEST:
        raise Invalid(
            f"A deviation runs {LONGEST.days} days at most; change the config for anything "
            "lasting longer.",
            field="valid_until",
        )


def _check_orders(session: Session, product: str, numbers: Sequence[str]) -> None:
    if not numbers:
        raise Invalid("Name the work orders the deviation covers.", field="work_orders")
    found = dict(
        session.execute(
            select(WorkOrder.number, WorkOrder.product).where(WorkOrder.number.in_(numbers))
        ).all()
    )
    for number in numbers:
        if number not in found:
            raise NotFound(f"There is no work order '{number}'.")
        if found[number] != product:
            raise Invalid(
                f"Work order '{number}' makes {found[number]}, not {product}.", field="work_orders"
            )


def check_deviation(
    session: Session, plant: Plant, *, actor: str, signer: str, meaning: str,
    given: DeviationInput, now: dt.datetime,
) -> str:  # fmt: skip
    """Everything :func:`create` checks before the signer's password is; the value's unit."""
    require_role(session, actor, DEVIATION_ROLES, "approve a deviation")
    if signer != actor:
        raise Forbidden(
            f"A deviation must be signed by '{actor}' who approves it, not by '{signer}'.",
            code="signature_not_actor",
        )
    if meaning != DEVIATION_MEANING:
        raise Invalid(f"A deviation's signature states '{DEVIATION_MEANING}'.", field="meaning")
    if not given.reason.strip():
        raise Invalid("Say why the deviation is needed; it goes into the record.", field="reason")
    operation, gate = _gate(plant, given)
    _, unit = _subject(plant, operation, gate, given.subject)
    _check_range(operation, given, unit)
    _check_period(given, now)
    _check_orders(session, given.product, given.work_orders)
    return unit


def create(
    session: Session, plant: Plant, *, actor: str, signer: Signer, given: DeviationInput,
    now: dt.datetime,
) -> DeviationInfo:  # fmt: skip
    """Record a deviation, signed by quality."""
    unit = check_deviation(
        session, plant, actor=actor, signer=signer.username, meaning=signer.meaning,
        given=given, now=now,
    )  # fmt: skip
    row = Deviation(
        product=given.product, operation=given.operation, gate=given.gate, subject=given.subject,
        low=given.low, high=given.high, unit=unit, work_orders=list(given.work_orders),
        valid_from=given.valid_from, valid_until=given.valid_until, reason=given.reason.strip(),
        created_by=actor, created_at=now, config_version_id=require_active_version_id(session),
    )  # fmt: skip
    session.add(row)
    session.flush()
    info = _info(row, None)
    changes = [
        audit.Change(actor, "approve", "deviation", row.id, None, _shown(info), info.reason),
        *store(
            session, [Signed(signer, DEVIATION_ROLES[0])], record_type="deviation",
            record_id=row.id, digest=content_hash(_shown(info)), now=now,
            version_id=row.config_version_id,
        ),
    ]  # fmt: skip
    audit.record_many(session, changes)
    return info


def withdraw(
    session: Session, *, deviation_id: int, actor: str, reason: str, now: dt.datetime
) -> DeviationInfo:
    """End a deviation before its time (quality, with a reason)."""
    require_role(session, actor, DEVIATION_ROLES, "withdraw a deviation")
    found = deviation(session, deviation_id)
    if not reason.strip():
        raise Invalid("Say why the deviation is withdrawn.", field="reason")
    if found.withdrawn_at is not None or found.valid_until <= now:
        raise Conflict(f"{found.number} is no longer in force; there is nothing to withdraw.")
    session.add(
        DeviationWithdrawal(deviation_id=deviation_id, actor=actor, at=now, reason=reason.strip())
    )
    session.flush()
    audit.record(
        session, actor=actor, action="withdraw", entity="deviation", entity_id=deviation_id,
        old={"valid_until": found.valid_until}, new={"withdrawn_at": now}, reason=reason.strip(),
    )  # fmt: skip
    return deviation(session, deviation_id)


def _shown(info: DeviationInfo) -> dict[str, Any]:
    return {k: v for k, v in info.to_json().items() if not k.startswith("withdraw")}


def _info(row: Deviation, withdrawal: DeviationWithdrawal | None) -> DeviationInfo:
    return DeviationInfo(
        id=row.id, number=f"DEV-{row.id:04d}", product=row.product, operation=row.operation,
        gate=row.gate, subject=row.subject, low=row.low, high=row.high, unit=row.unit,
        work_orders=tuple(row.work_orders), valid_from=row.valid_from,
        valid_until=row.valid_until, reason=row.reason, created_by=row.created_by,
        created_at=row.created_at,
        withdrawn_at=withdrawal.at if withdrawal else None,
        withdrawn_by=withdrawal.actor if withdrawal else None,
        withdrawal_reason=withdrawal.reason if withdrawal else "",
    )  # fmt: skip


def deviation(session: Session, deviation_id: int) -> DeviationInfo:
    """One deviation; NotFound when there is none."""
    found = deviations(session, ids=[deviation_id])
    if not found:
        raise NotFound(f"There is no deviation DEV-{deviation_id:04d}.")
    return found[0]


def deviations(
    session: Session,
    *,
    ids: Sequence[int] | None = None,
    product: str | None = None,
    operation: str | None = None,
) -> list[DeviationInfo]:
    """Deviations, newest first (of one product's operation, or the ids given)."""
    query = (
        select(Deviation, DeviationWithdrawal)
        .outerjoin(DeviationWithdrawal, DeviationWithdrawal.deviation_id == Deviation.id)
        .order_by(Deviation.id.desc())
    )
    if ids is not None:
        query = query.where(Deviation.id.in_(ids))
    if product is not None:
        query = query.where(Deviation.product == product)
    if operation is not None:
        query = query.where(Deviation.operation == operation)
    return [_info(row, withdrawal) for row, withdrawal in session.execute(query)]


def in_force(
    session: Session, *, product: str, operation: str, work_order_id: int, now: dt.datetime
) -> list[DeviationInfo]:
    """The deviations that apply to an item of work order ``work_order_id`` at ``operation``
    now."""
    work_order = session.scalar(select(WorkOrder.number).where(WorkOrder.id == work_order_id))
    return [
        d
        for d in deviations(session, product=product, operation=operation)
        if work_order in d.work_orders and d.in_force(now)
    ]


def accepted_by(
    found: Sequence[DeviationInfo], gate: str, env: dict[str, Any]
) -> DeviationInfo | None:
    """The deviation among ``found`` under which gate ``gate`` is accepted with the values in
    ``env`` (rules' SI values), if any."""
    for d in found:
        if d.gate != gate:
            continue
        key = (
            keys.tag_key(d.subject) if "." in d.subject else keys.field_key(d.operation, d.subject)
        )
        value = env.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, high = to_si(d.low, d.unit or None), to_si(d.high, d.unit or None)
            if low <= value <= high:
                return d
    return None
