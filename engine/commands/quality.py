"""Holds and nonconformances: stopping an item, and the signed decision that lets it go on.

A hold (by a supervisor or quality, with a reason) stops an item where it is; releasing it (again
with a reason) lets it carry on from there. A nonconformance records a defect; quality
dispositions it — use as is, rework to an operation, scrap, or return to vendor — with an
electronic signature bound to the disposition record. The signature means one of
:data:`~engine.access.signatures.DISPOSITION_MEANINGS`; the request is checked
(:func:`check_disposition`) before the signer's password is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from dsl.diagnostics import did_you_mean
from engine.access.people import full_name, require_role
from engine.access.signatures import DISPOSITION_MEANINGS, Signed, Signer, content_hash, store
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.floor.items import ItemRow, ItemState, find_item, state_change, update_state
from engine.floor.runtime import Runtime
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, insert_rows
from engine.records.production import (
    DISPOSITIONS,
    Disposition,
    HoldEvent,
    Item,
    Nonconformance,
    table,
)

HOLD_ROLES = ("supervisor", "quality")
DISPOSITION_ROLES = ("quality",)

_holds = table(HoldEvent)
_ncs = table(Nonconformance)
_dispositions = table(Disposition)
_items = table(Item)
_INSERT_NC = insert_rows(_ncs, returning=_ncs.c.id)
_INSERT_DISPOSITION = insert_rows(_dispositions, returning=_dispositions.c.id)
_INSERT_HOLD = insert_rows(_holds)


@dataclass(frozen=True, slots=True)
class NonconformanceInfo(Jsonable):
    """A nonconformance and, once decided, its disposition."""

    id: int
    item: str
    operation: str | None
    gate: str | None
    defect_code: str
    description: str
    opened_by: str
    opened_at: dt.datetime
    decision: str | None = None
    target_operation: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None

    json_properties = ("open",)

    @property
    def open(self) -> bool:
        return self.decision is None


def _need_reason(reason: str, doing: str) -> str:
    text = reason.strip()
    if not text:
        raise Invalid(
            f"Give a reason to {doing}; it goes into the record and the audit trail.",
            field="reason",
        )
    return text


def _hold_event(
    session: Session, item: ItemRow, action: str, *, actor: str, reason: str, now: dt.datetime
) -> None:
    Sql(session).execute(
        _INSERT_HOLD,
        {
            "item_id": item.id,
            "action": action,
            "source": "manual",
            "actor": actor,
            "reason": reason,
            "at": now,
            "config_version_id": item.config_version_id,
        },
    )


def hold_item(
    session: Session, *, item_number: str, actor: str, reason: str, now: dt.datetime
) -> ItemState:
    """Put an item on hold where it stands (a supervisor or quality, with a reason)."""
    item = find_item(session, item_number)
    require_role(session, actor, HOLD_ROLES, f"put {item.label} on hold")
    text = _need_reason(reason, f"put {item.label} on hold")
    if item.status == "on_hold":
        raise Conflict(f"{item.label} is already on hold (reason: {item.status_reason}).")
    if item.status in ("scrapped", "nonconforming"):
        shown = "has an open nonconformance" if item.status == "nonconforming" else item.status
        raise Conflict(
            f"{item.label} is {shown}; only queued, started or completed items can be put on hold."
        )
    _hold_event(session, item, "hold", actor=actor, reason=text, now=now)
    moved = update_state(session, item, {"status": "on_hold", "status_reason": text}, now)
    audit.record_many(session, [state_change(item, moved, actor=actor, action="hold", reason=text)])
    return ItemState.of(moved, f"{item.label} is on hold: {text}.")


def release_item(
    session: Session, *, item_number: str, actor: str, reason: str, now: dt.datetime
) -> ItemState:
    """Release an item's hold; it carries on where it was (a supervisor or quality)."""
    item = find_item(session, item_number)
    require_role(session, actor, HOLD_ROLES, f"release {item.label}")
    text = _need_reason(reason, f"release {item.label}")
    if item.status != "on_hold":
        raise Conflict(f"{item.label} is not on hold (it is {item.status.replace('_', ' ')}).")
    if item.current_operation is None:
        status = "completed"
    else:
        status = "in_progress" if item.operation_started else "queued"
    _hold_event(session, item, "release", actor=actor, reason=text, now=now)
    moved = update_state(session, item, {"status": status, "status_reason": ""}, now)
    audit.record_many(
        session, [state_change(item, moved, actor=actor, action="release", reason=text)]
    )
    where = f"waits at '{moved.current_operation}'" if moved.current_operation else "is completed"
    return ItemState.of(moved, f"{item.label} was released and {where}.")


def open_nonconformance(
    session: Session,
    *,
    item_number: str,
    actor: str,
    defect_code: str,
    description: str,
    now: dt.datetime,
) -> NonconformanceInfo:
    """Record a defect found on an item; it stops until quality dispositions it."""
    item = find_item(session, item_number)
    full_name(session, actor)
    code = defect_code.strip()
    if not code:
        raise Invalid("Give a defect code for the nonconformance.", field="defect_code")
    text = _need_reason(description, "open a nonconformance")
    if item.status == "nonconforming":
        raise Conflict(
            f"{item.label} already has an open nonconformance ({item.status_reason}); add to it "
            "or disposition it first."
        )
    if item.status == "scrapped":
        raise Conflict(f"{item.label} was scrapped; there is nothing left to disposition.")
    continue_at = item.current_operation
    nc_id: int = Sql(session).scalar(
        _INSERT_NC,
        {
            "item_id": item.id,
            "run_id": None,
            "operation": item.current_operation,
            "gate": None,
            "defect_code": code,
            "description": text,
            "continue_at": continue_at,
            "opened_by": actor,
            "opened_at": now,
            "config_version_id": item.config_version_id,
        },
    )
    changes = {"status": "nonconforming", "status_reason": f"{code}: {text}"}
    moved = update_state(session, item, changes, now)
    audit.record_many(
        session,
        [
            audit.Change(actor, "open", "nonconformance", nc_id, None, {"item": item.number}, text),
            state_change(item, moved, actor=actor, action="nonconformance", reason=text),
        ],
    )
    return nonconformance(session, nc_id)


@dataclass(frozen=True, slots=True)
class _Decided:
    """A disposition request found valid (its signer's password aside)."""

    nc: NonconformanceInfo
    item: ItemRow
    reason: str
    changes: dict[str, Any]
    target: str | None


def _decided(
    session: Session,
    runtime: Runtime,
    *,
    nonconformance_id: int,
    actor: str,
    decision: str,
    reason: str,
    signer: str,
    meaning: str,
    target_operation: str | None,
) -> _Decided:
    """Check a disposition as things are now: the nonconformance, the actor's role, that the
    actor signs (``signer``) with a meaning of :data:`DISPOSITION_MEANINGS`, the reason, the
    decision and its target. Reads only."""
    nc = nonconformance(session, nonconformance_id)
    item = find_item(session, nc.item)
    require_role(session, actor, DISPOSITION_ROLES, f"disposition nonconformance #{nc.id}")
    if signer != actor:
        raise Forbidden(
            f"The disposition of nonconformance #{nc.id} must be signed by '{actor}' who makes "
            f"it, not by '{signer}'; sign with your own username and password.",
            code="signature_not_actor",
        )
    if meaning not in DISPOSITION_MEANINGS:
        said = (
            f"'{meaning}' is not a meaning a disposition's signature can state"
            if meaning
            else "State the meaning of your signature"
        )
        allowed = " or ".join(f"'{m}'" for m in DISPOSITION_MEANINGS)
        raise Invalid(f"{said}; choose {allowed}.", field="meaning")
    text = _need_reason(reason, f"disposition nonconformance #{nc.id}")
    if not nc.open:
        raise Conflict(
            f"Nonconformance #{nc.id} was already dispositioned ({nc.decision} by "
            f"{nc.decided_by}); reload to see it."
        )
    if decision not in DISPOSITIONS:
        hint = did_you_mean(decision, DISPOSITIONS)
        raise Invalid(
            f"'{decision}' is not a disposition; use "
            + (hint if hint else "one of " + ", ".join(DISPOSITIONS)),
            field="decision",
        )
    changes, target = _after_disposition(
        session, runtime, item, decision=decision, target_operation=target_operation, reason=text
    )
    return _Decided(nc, item, text, changes, target)


def check_disposition(
    session: Session,
    runtime: Runtime,
    *,
    nonconformance_id: int,
    actor: str,
    decision: str,
    reason: str,
    signer: str,
    meaning: str,
    target_operation: str | None = None,
) -> None:
    """Everything :func:`disposition` checks before its signature is verified (``signer`` and
    ``meaning`` as given), writing nothing: the error a disposition would raise, before the
    signer's password is checked."""
    _decided(
        session, runtime, nonconformance_id=nonconformance_id, actor=actor, decision=decision,
        reason=reason, signer=signer, meaning=meaning.strip(), target_operation=target_operation,
    )  # fmt: skip


def disposition(
    session: Session,
    runtime: Runtime,
    *,
    nonconformance_id: int,
    actor: str,
    decision: str,
    reason: str,
    signer: Signer,
    now: dt.datetime,
    target_operation: str | None = None,
) -> NonconformanceInfo:
    """Quality's signed decision on an open nonconformance, and the item's next state.

    ``signer`` (already re-authenticated) must be the actor, stating one of
    :data:`DISPOSITION_MEANINGS`."""
    decided = _decided(
        session, runtime, nonconformance_id=nonconformance_id, actor=actor, decision=decision,
        reason=reason, signer=signer.username, meaning=signer.meaning,
        target_operation=target_operation,
    )  # fmt: skip
    nc, item, text, target = decided.nc, decided.item, decided.reason, decided.target
    disposition_id: int = Sql(session).scalar(
        _INSERT_DISPOSITION,
        {
            "nonconformance_id": nc.id,
            "decision": decision,
            "target_operation": target,
            "reason": text,
            "actor": actor,
            "at": now,
            "config_version_id": item.config_version_id,
        },
    )
    content = {
        "nonconformance": nc.id,
        "item": item.number,
        "defect_code": nc.defect_code,
        "description": nc.description,
        "decision": decision,
        "target_operation": target,
        "reason": text,
    }
    moved = update_state(session, item, decided.changes, now)
    signed_changes = store(
        session,
        [Signed(signer, DISPOSITION_ROLES[0])],
        record_type="disposition",
        record_id=disposition_id,
        digest=content_hash(content),
        now=now,
        version_id=item.config_version_id,
    )
    new = {"decision": decision, "target_operation": target}
    audit.record_many(
        session,
        [
            audit.Change(actor, "disposition", "nonconformance", nc.id, None, new, text),
            state_change(item, moved, actor=actor, action="disposition", reason=text),
            *signed_changes,
        ],
    )
    return nonconformance(session, nc.id)


def _after_disposition(
    session: Session,
    runtime: Runtime,
    item: ItemRow,
    *,
    decision: str,
    target_operation: str | None,
    reason: str,
) -> tuple[dict[str, Any], str | None]:
    """The item's new columns and the rework target (for rework)."""
    if decision in ("scrap", "return_to_vendor"):
        return {"status": "scrapped", "current_operation": None, "status_reason": reason}, None
    base = {"operation_started": False, "start_attempt_id": None, "status_reason": ""}
    if decision == "use_as_is":
        continue_at = item.current_operation
        status = "queued" if continue_at else "completed"
        return {**base, "status": status, "current_operation": continue_at}, None
    routing = runtime.plants(session, item.config_version_id).routing_for(item.product)
    names = [op.id for op in routing.operations]
    if not target_operation:
        raise Invalid(
            "A rework disposition needs the operation to rework at; choose one of "
            + ", ".join(names)
            + ".",
            field="target_operation",
        )
    if target_operation not in names:
        hint = did_you_mean(target_operation, names)
        raise Invalid(
            f"Routing '{routing.name}' has no operation '{target_operation}'; "
            + (hint if hint else "choose one of " + ", ".join(names)),
            field="target_operation",
        )
    counts = dict(item.rework_counts)
    counts[target_operation] = counts.get(target_operation, 0) + 1
    changes = {
        **base,
        "status": "queued",
        "current_operation": target_operation,
        "rework_counts": counts,
    }
    return changes, target_operation


def _nonconformance_rows() -> Select[Any]:
    """Nonconformances with their item number and disposition (if any)."""
    return select(
        _ncs,
        _items.c.number.label("item_number"),
        _dispositions.c.decision,
        _dispositions.c.target_operation,
        _dispositions.c.actor.label("decided_by"),
        _dispositions.c.at.label("decided_at"),
    ).select_from(
        _ncs.join(_items, _items.c.id == _ncs.c.item_id).outerjoin(
            _dispositions, _dispositions.c.nonconformance_id == _ncs.c.id
        )
    )


def nonconformance(session: Session, nonconformance_id: int) -> NonconformanceInfo:
    """One nonconformance with its disposition, if any."""
    row = session.execute(
        _nonconformance_rows().where(_ncs.c.id == nonconformance_id)
    ).one_or_none()
    if row is None:
        raise NotFound(
            f"There is no nonconformance #{nonconformance_id}; check the number in the list of "
            "open nonconformances."
        )
    return _info(row)


def nonconformances(
    session: Session, *, open_only: bool = False, item_number: str | None = None
) -> list[NonconformanceInfo]:
    """Nonconformances, newest first; only the open ones, or one item's, when asked."""
    query = _nonconformance_rows().order_by(_ncs.c.id.desc())
    if open_only:
        query = query.where(_dispositions.c.id.is_(None))
    if item_number is not None:
        query = query.where(_items.c.number == item_number)
    return [_info(row) for row in session.execute(query)]


def _info(row: Any) -> NonconformanceInfo:
    return NonconformanceInfo(
        id=row.id,
        item=row.item_number,
        operation=row.operation,
        gate=row.gate,
        defect_code=row.defect_code,
        description=row.description,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        decision=row.decision,
        target_operation=row.target_operation,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )
