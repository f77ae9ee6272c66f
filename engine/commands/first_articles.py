"""First-article inspection: at an operation that declares ``first_article: true``, the first unit
of each work order is made alone and inspected; quality signs its approval, and only then may the
rest of the order start there.

The first article is the unit that started the operation first. While it waits for approval,
every other unit of the order is refused at start, with the reason, like a blocked interlock
(the check is implicit in the operation). A signed rejection ends that first article: the next
unit to start becomes the new first article. Approvals and rejections are append-only records,
each with its e-signature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.model import Operation
from engine.access.people import require_role
from engine.access.signatures import Signed, Signer, content_hash, store
from engine.errors import Conflict, Forbidden, Invalid
from engine.floor.items import ItemRow, find_item
from engine.floor.runtime import Runtime, operation_of
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.first_articles import FirstArticleApproval
from engine.records.production import Item, OperationRun, WorkOrder

ROLES = ("quality",)
APPROVED, REJECTED = "First article approved", "First article rejected"


@dataclass(frozen=True, slots=True)
class FirstArticleInfo(Jsonable):
    """Quality's decision on a first article."""

    id: int
    work_order: str
    operation: str
    item: str
    approved: bool
    note: str
    actor: str
    at: dt.datetime


def _decisions(session: Session, work_order_id: int, operation: str) -> list[FirstArticleApproval]:
    return list(
        session.scalars(
            select(FirstArticleApproval)
            .where(
                FirstArticleApproval.work_order_id == work_order_id,
                FirstArticleApproval.operation == operation,
            )
            .order_by(FirstArticleApproval.id)
        )
    )


def first_article(session: Session, item: ItemRow, operation: str) -> str | None:
    """The unit of ``item``'s work order that is the first article at ``operation`` and still
    waits for approval (None once one was approved, or before any unit started there)."""
    decided = _decisions(session, item.work_order_id, operation)
    if any(d.approved for d in decided):
        return None
    rejected = {d.item_id for d in decided}
    ran = select(OperationRun.item_id).where(OperationRun.operation == operation)
    started = (Item.current_operation == operation) & Item.operation_started.is_(True)
    query = select(Item.number).where(
        Item.work_order_id == item.work_order_id, Item.id.in_(ran) | started
    )
    if rejected:
        query = query.where(Item.id.not_in(rejected))
    number: str | None = session.scalar(query.order_by(Item.id).limit(1))
    return number


def start_checks(session: Session, item: ItemRow, operation: Operation) -> list[dict[str, Any]]:
    """The implicit check a start at a first-article operation must pass."""
    waiting = first_article(session, item, operation.id)
    passed = waiting is None or waiting == item.number
    order = session.scalar(select(WorkOrder.number).where(WorkOrder.id == item.work_order_id))
    because = (
        f"Waiting for the first-article approval of '{operation.id}' on work order {order}: "
        f"{waiting} is the first article; quality approves it before the rest may start"
    )
    outcome = "pass" if passed else "fail"
    text = f"first article = {waiting or 'none yet'}"
    return [
        {
            "name": "first article approved",
            "because": "" if passed else because,
            "implicit": True,
            "outcome": outcome,
            "checks": [{"text": text, "outcome": outcome, "readings": []}],
        }
    ]


def check_decision(
    session: Session, runtime: Runtime, *, item_number: str, operation_id: str, actor: str,
    signer: str, meaning: str, note: str,
) -> tuple[ItemRow, bool]:  # fmt: skip
    """Everything :func:`decide` checks before the signer's password is; the item and whether
    it is an approval."""
    item = find_item(session, item_number)
    _, operation = operation_of(runtime.plants(session, item.config_version_id), item, operation_id)
    require_role(session, actor, ROLES, f"approve the first article of '{operation.id}'")
    if signer != actor:
        raise Forbidden(
            f"A first-article decision must be signed by '{actor}' who makes it.",
            code="signature_not_actor",
        )
    if meaning not in (APPROVED, REJECTED):
        raise Invalid(f"State '{APPROVED}' or '{REJECTED}'.", field="meaning")
    if meaning == REJECTED and not note.strip():
        raise Invalid("Say why the first article is rejected.", field="note")
    if not operation.first_article:
        raise Conflict(f"Operation '{operation.id}' asks for no first-article inspection.")
    if first_article(session, item, operation.id) != item.number:
        raise Conflict(f"{item.label} is not the first article waiting at '{operation.id}'.")
    done = session.scalar(
        select(OperationRun.id).where(
            OperationRun.item_id == item.id, OperationRun.operation == operation.id
        )
    )
    if done is None:
        raise Conflict(f"{item.label} has not completed '{operation.id}' yet; inspect it after.")
    return item, meaning == APPROVED


def decide(
    session: Session,
    runtime: Runtime,
    *,
    item_number: str,
    operation_id: str,
    actor: str,
    signer: Signer,
    note: str,
    now: dt.datetime,
) -> FirstArticleInfo:
    """Record quality's signed approval or rejection of the first article."""
    item, approved = check_decision(
        session, runtime, item_number=item_number, operation_id=operation_id, actor=actor,
        signer=signer.username, meaning=signer.meaning, note=note,
    )  # fmt: skip
    row = FirstArticleApproval(
        work_order_id=item.work_order_id, operation=operation_id, item_id=item.id,
        approved=approved, note=note.strip(), actor=actor, at=now,
        config_version_id=item.config_version_id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    order = session.scalar(select(WorkOrder.number).where(WorkOrder.id == item.work_order_id))
    info = FirstArticleInfo(
        row.id, order or "", operation_id, item.number, approved, row.note, actor, now
    )
    content = {k: v for k, v in info.to_json().items() if k not in ("id", "at")}
    changes = [
        audit.Change(
            actor, "approve" if approved else "reject", "first_article", row.id, None, content,
            row.note,
        ),
        *store(
            session, [Signed(signer, ROLES[0])], record_type="first_article", record_id=row.id,
            digest=content_hash(content), now=now, version_id=item.config_version_id,
        ),
    ]  # fmt: skip
    audit.record_many(session, changes)
    return info
