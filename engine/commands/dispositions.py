"""Dispositions of nonconformances, decided by the site's material review board.

The site's ``quality: review_board`` names, per decision, the roles that must each sign it
(``use_as_is: [quality, engineer]``); a decision it does not name needs quality alone. Someone
holding one of those roles *proposes* a disposition and signs it; every other role signs it in
turn, each a different person (:func:`sign`). The disposition takes effect with its last
signature: only then does the item, lot or machine move on. A board member may instead sign a
rejection (meaning :data:`~engine.commands.nonconformances.REJECTION_MEANING`, with a reason):
the proposal is void, and a new one can be made. Every signature states a meaning, is bound to
the disposition's content, and is kept.

Decisions: use as is, rework (at an operation of the item's routing), repair (the item goes on
where it stopped; the repair is in the record), scrap, return to vendor. A lot's disposition acts
on the quantity affected: scrap and return take it out of the lot; use as is and repair release
the lot's hold. A machine can only be used as is or repaired.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dsl.diagnostics import did_you_mean
from dsl.model import DEFAULT_BOARD
from engine.access.people import require_role, roles_of
from engine.access.signatures import DISPOSITION_MEANINGS, Signed, Signer, content_hash, store
from engine.commands import materials
from engine.commands.nonconformances import (
    DispositionInfo,
    NonconformanceInfo,
    need_text,
    nonconformance,
)
from engine.errors import Conflict, Forbidden, Invalid
from engine.floor.items import ItemRow, find_item, state_change, update_state
from engine.floor.review_board import REJECTION_MEANING
from engine.floor.runtime import Runtime
from engine.infra import audit
from engine.infra.statements import Sql, insert_rows
from engine.records.production import DISPOSITIONS, Disposition, table
from engine.records.tables import Lot

_dispositions = table(Disposition)
_INSERT = insert_rows(_dispositions, returning=_dispositions.c.id)
LOT_DECISIONS = ("use_as_is", "repair", "scrap", "return_to_vendor")
EQUIPMENT_DECISIONS = ("use_as_is", "repair")
SIGN_MEANINGS = (*DISPOSITION_MEANINGS, REJECTION_MEANING)


@dataclass(frozen=True, slots=True)
class _Proposal:
    """A disposition request found valid (its signer's password aside)."""

    nc: NonconformanceInfo
    reason: str
    roles: tuple[str, ...]
    role: str
    target: str | None
    quantity: float | None


def _board(
    session: Session, runtime: Runtime, nc: NonconformanceInfo, decision: str
) -> tuple[str, ...]:
    policy = runtime.plants(session, nc.config_version_id or 0).site.quality
    return policy.signers_of(decision) if policy is not None else DEFAULT_BOARD


def _signer_is_actor(nc: NonconformanceInfo, actor: str, signer: str) -> None:
    if signer != actor:
        raise Forbidden(
            f"The disposition of nonconformance #{nc.id} must be signed by '{actor}' who makes "
            f"it, not by '{signer}'; sign with your own username and password.",
            code="signature_not_actor",
        )


def _meaning(meaning: str, allowed: tuple[str, ...], what: str) -> None:
    if meaning in allowed:
        return
    said = (
        f"'{meaning}' is not a meaning {what} can state"
        if meaning
        else "State the meaning of your signature"
    )
    raise Invalid(f"{said}; choose {' or '.join(repr(m) for m in allowed)}.", field="meaning")


def _proposal(
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
    quantity: float | None,
) -> _Proposal:
    """Check a proposed disposition as things are now. Reads only."""
    nc = nonconformance(session, nonconformance_id)
    if decision not in DISPOSITIONS:
        hint = did_you_mean(decision, DISPOSITIONS)
        raise Invalid(
            f"'{decision}' is not a disposition; use "
            + (hint if hint else "one of " + ", ".join(DISPOSITIONS)),
            field="decision",
        )
    roles = _board(session, runtime, nc, decision)
    require_role(session, actor, roles, f"disposition nonconformance #{nc.id}")
    _signer_is_actor(nc, actor, signer)
    _meaning(meaning, DISPOSITION_MEANINGS, "a disposition's signature")
    text = need_text(reason, f"disposition nonconformance #{nc.id}")
    if not nc.open:
        raise Conflict(
            f"Nonconformance #{nc.id} was already dispositioned ({nc.decision} by "
            f"{nc.decided_by}); reload to see it."
        )
    if nc.pending is not None:
        raise Conflict(
            f"Nonconformance #{nc.id} already has a {nc.pending.decision} disposition waiting "
            f"for the signature of {', '.join(nc.pending.missing_roles)}; sign or reject it first."
        )
    held = roles_of(session, actor)
    role = next(r for r in roles if r in held)
    target = _target(session, runtime, nc, decision, target_operation)
    return _Proposal(nc, text, roles, role, target, _quantity(session, nc, decision, quantity))


def _target(
    session: Session,
    runtime: Runtime,
    nc: NonconformanceInfo,
    decision: str,
    target_operation: str | None,
) -> str | None:
    """The operation to rework at (None for other decisions); Invalid for a decision the
    nonconformance's subject cannot take."""
    if nc.item is None:
        allowed = LOT_DECISIONS if nc.lot is not None else EQUIPMENT_DECISIONS
        if decision not in allowed:
            raise Invalid(
                f"A {'lot' if nc.lot else 'machine'} cannot be dispositioned "
                f"{decision.replace('_', ' ')}; choose one of {', '.join(allowed)}.",
                field="decision",
            )
        return None
    if decision != "rework":
        return None
    item = find_item(session, nc.item)
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
    return target_operation


def _quantity(
    session: Session, nc: NonconformanceInfo, decision: str, quantity: float | None
) -> float | None:
    """For a lot scrapped or returned: how much (default: the quantity affected, else all)."""
    if nc.lot is None or decision not in ("scrap", "return_to_vendor"):
        if quantity is not None:
            raise Invalid(
                "Only a lot's scrap or return takes a quantity; send none.", field="quantity"
            )
        return None
    amount = quantity if quantity is not None else nc.quantity
    if amount is not None and not amount > 0:
        raise Invalid("The quantity to take out of the lot must be more than 0.", field="quantity")
    return amount


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
    quantity: float | None = None,
) -> None:
    """Everything :func:`disposition` checks before its signer's password is, writing nothing."""
    _proposal(
        session,
        runtime,
        nonconformance_id=nonconformance_id,
        actor=actor,
        decision=decision,
        reason=reason,
        signer=signer,
        meaning=meaning.strip(),
        target_operation=target_operation,
        quantity=quantity,
    )


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
    quantity: float | None = None,
) -> NonconformanceInfo:
    """Propose a disposition and sign it (``signer``, already re-authenticated, is the actor);
    it takes effect at once when the board needs no other signature."""
    proposal = _proposal(
        session,
        runtime,
        nonconformance_id=nonconformance_id,
        actor=actor,
        decision=decision,
        reason=reason,
        signer=signer.username,
        meaning=signer.meaning,
        target_operation=target_operation,
        quantity=quantity,
    )
    nc = proposal.nc
    disposition_id: int = Sql(session).scalar(
        _INSERT,
        {
            "nonconformance_id": nc.id,
            "decision": decision,
            "target_operation": proposal.target,
            "required_roles": list(proposal.roles),
            "quantity": proposal.quantity,
            "reason": proposal.reason,
            "actor": actor,
            "at": now,
            "config_version_id": nc.config_version_id,
        },
    )
    content = _content(
        nc, decision=decision, target=proposal.target, quantity=proposal.quantity,
        reason=proposal.reason, roles=proposal.roles,
    )  # fmt: skip
    new = {
        "decision": decision,
        "target_operation": proposal.target,
        "required": list(proposal.roles),
    }
    changes = [
        audit.Change(
            actor, "propose_disposition", "nonconformance", nc.id, None, new, proposal.reason
        ),
        *store(
            session,
            [Signed(signer, proposal.role)],
            record_type="disposition",
            record_id=disposition_id,
            digest=content_hash(content),
            now=now,
            version_id=nc.config_version_id or 0,
        ),
    ]
    audit.record_many(session, changes)
    return _settle(session, nonconformance(session, nc.id), actor=actor, now=now)


def _content(
    nc: NonconformanceInfo,
    *,
    decision: str,
    target: str | None,
    quantity: float | None,
    reason: str,
    roles: tuple[str, ...],
) -> dict[str, Any]:
    """What each board signature is bound to."""
    return {
        "nonconformance": nc.id,
        "subject": nc.subject,
        "defect_code": nc.defect_code,
        "description": nc.description,
        "decision": decision,
        "target_operation": target,
        "quantity": quantity,
        "reason": reason,
        "required_roles": list(roles),
    }


# ---------------------------------------------------------------- the board's other signatures


@dataclass(frozen=True, slots=True)
class _Countersign:
    nc: NonconformanceInfo
    pending: DispositionInfo
    role: str
    reason: str


def _countersign(
    session: Session,
    *,
    nonconformance_id: int,
    actor: str,
    signer: str,
    meaning: str,
    reason: str,
) -> _Countersign:
    """Check a board member's signature on the pending disposition. Reads only."""
    nc = nonconformance(session, nonconformance_id)
    pending = nc.pending
    if pending is None:
        state = f"was dispositioned {nc.decision}" if nc.decision else "has no disposition to sign"
        raise Conflict(f"Nonconformance #{nc.id} {state}; reload to see it.")
    require_role(
        session, actor, pending.missing_roles, f"sign the disposition of nonconformance #{nc.id}"
    )
    _signer_is_actor(nc, actor, signer)
    _meaning(meaning, SIGN_MEANINGS, "a review board signature")
    earlier = next((s for s in pending.signatures if s.username == actor), None)
    if earlier is not None:
        raise Conflict(
            f"You signed this disposition already, as {earlier.role}; the signature of "
            f"{', '.join(pending.missing_roles)} must come from someone else."
        )
    text = reason.strip()
    if meaning == REJECTION_MEANING:
        text = need_text(reason, f"reject the disposition of nonconformance #{nc.id}")
    held = roles_of(session, actor)
    role = next(r for r in pending.missing_roles if r in held)
    return _Countersign(nc, pending, role, text)


def check_sign(
    session: Session, *, nonconformance_id: int, actor: str, signer: str, meaning: str, reason: str
) -> None:
    """Everything :func:`sign` checks before the signer's password is, writing nothing."""
    _countersign(
        session,
        nonconformance_id=nonconformance_id,
        actor=actor,
        signer=signer,
        meaning=meaning.strip(),
        reason=reason,
    )


def sign(
    session: Session,
    *,
    nonconformance_id: int,
    actor: str,
    signer: Signer,
    reason: str,
    now: dt.datetime,
) -> NonconformanceInfo:
    """A board member signs the pending disposition (approving it, or rejecting it with a
    reason); the disposition takes effect with the last required signature."""
    checked = _countersign(
        session,
        nonconformance_id=nonconformance_id,
        actor=actor,
        signer=signer.username,
        meaning=signer.meaning,
        reason=reason,
    )
    nc, pending = checked.nc, checked.pending
    content = _content(
        nc,
        decision=pending.decision,
        target=pending.target_operation,
        quantity=pending.quantity,
        reason=pending.reason,
        roles=pending.required_roles,
    )
    changes = store(
        session,
        [Signed(signer, checked.role)],
        record_type="disposition",
        record_id=pending.id,
        digest=content_hash(content),
        now=now,
        version_id=nc.config_version_id or 0,
    )
    if signer.meaning == REJECTION_MEANING:
        changes.append(
            audit.Change(
                actor,
                "reject_disposition",
                "nonconformance",
                nc.id,
                {"decision": pending.decision},
                None,
                checked.reason,
            )
        )
    audit.record_many(session, changes)
    return _settle(session, nonconformance(session, nc.id), actor=actor, now=now)


# ---------------------------------------------------------------- taking effect


def _settle(
    session: Session, nc: NonconformanceInfo, *, actor: str, now: dt.datetime
) -> NonconformanceInfo:
    """Apply the disposition that has just collected its last signature (if one has)."""
    newest = nc.dispositions[-1]
    if newest.status != "effective":
        return nc
    if nc.item is not None:
        _on_item(session, nc, newest, actor=actor, now=now)
    elif nc.lot is not None:
        _on_lot(session, nc, newest, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="disposition",
        entity="nonconformance",
        entity_id=nc.id,
        old=None,
        new={"decision": newest.decision, "target_operation": newest.target_operation},
        reason=newest.reason,
    )
    return nc


def _on_item(
    session: Session,
    nc: NonconformanceInfo,
    decided: DispositionInfo,
    *,
    actor: str,
    now: dt.datetime,
) -> None:
    item = find_item(session, nc.item or "")
    changes = _item_changes(item, decided)
    moved = update_state(session, item, changes, now)
    audit.record_many(
        session,
        [state_change(item, moved, actor=actor, action="disposition", reason=decided.reason)],
    )


def _item_changes(item: ItemRow, decided: DispositionInfo) -> dict[str, Any]:
    """The item's new columns after ``decided``."""
    if decided.decision in ("scrap", "return_to_vendor"):
        return {"status": "scrapped", "current_operation": None, "status_reason": decided.reason}
    base = {"operation_started": False, "start_attempt_id": None, "status_reason": ""}
    if decided.decision in ("use_as_is", "repair"):
        continue_at = item.current_operation
        status = "queued" if continue_at else "completed"
        return {**base, "status": status, "current_operation": continue_at}
    target = decided.target_operation or ""
    counts = dict(item.rework_counts)
    counts[target] = counts.get(target, 0) + 1
    return {**base, "status": "queued", "current_operation": target, "rework_counts": counts}


def _on_lot(
    session: Session, nc: NonconformanceInfo, decided: DispositionInfo, *, actor: str
) -> None:
    part, _, number = (nc.lot or "").partition("/")
    lot = materials.lot_row(session, part, number)
    reason = f"NC-{nc.id:04d} {decided.decision.replace('_', ' ')}: {decided.reason}"
    held = lot.status == materials.ON_HOLD and lot.hold_reason.startswith(f"NC-{nc.id:04d} ")
    if decided.decision in ("scrap", "return_to_vendor"):
        _take_out(session, lot, decided, actor=actor, reason=reason, release=held)
    elif held:
        status = materials.AVAILABLE if lot.quantity > 0 else materials.CONSUMED
        materials.change_lot(
            session,
            lot,
            actor=actor,
            action="release",
            status=status,
            reason=reason,
            hold_reason="",
        )


def _take_out(
    session: Session, lot: Lot, decided: DispositionInfo, *, actor: str, reason: str, release: bool
) -> None:
    """Scrap or return the quantity decided (all that is left when none); the rest of a lot held
    for this nonconformance is released."""
    action = "scrap" if decided.decision == "scrap" else "return_to_vendor"
    if decided.quantity is not None and decided.quantity > lot.quantity + materials.EPSILON:
        raise Conflict(
            f"{materials.lot_name(lot)} has only {lot.quantity:g} {lot.unit} left; it cannot lose "
            f"{decided.quantity:g} {lot.unit}."
        )
    left = lot.quantity - (decided.quantity if decided.quantity is not None else lot.quantity)
    if left <= materials.EPSILON:
        materials.change_lot(
            session, lot, actor=actor, action=action, status=materials.SCRAPPED, reason=reason
        )
        return
    status = materials.AVAILABLE if release else lot.status
    materials.change_lot(
        session,
        lot,
        actor=actor,
        action=action,
        status=status,
        reason=reason,
        quantity=round(left, 9),
        hold_reason="" if release else None,
    )
