"""Work orders: create, plan (due date, priority, ERP reference), release (which makes the units
or lot), cancel, complete and close.

A work order binds to the config version active when it is released; its items keep that version
to the end, whatever is deployed later. A serialized product gets one unit per piece, numbered
from the product's ``number_pattern``; a lot-tracked product gets one lot of the whole quantity.
An item's ``ordinal`` is what sampling counts: a unit's position in its work order, a lot's
position among every lot of its product (``every 5`` checks the 1st, 6th, 11th… batch).

A work order ends one of three ways: *cancelled* before any work started (its items scrapped),
*completed* when every item was finished or scrapped in production, or *closed* short by a
supervisor: the items not yet started are scrapped with the reason given, which needs no item to
be in progress, on hold or waiting for a disposition (each of those is decided one by one first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dsl.diagnostics import did_you_mean
from dsl.model import Plant
from engine.access.people import require_role
from engine.commands.versions import require_active_version_id
from engine.errors import Conflict, Invalid, NotFound
from engine.floor.environment import site_today
from engine.floor.runtime import Runtime
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.infra.limits import check_quantity
from engine.infra.numbering import PatternError, bind
from engine.records.production import (
    DEFAULT_PRIORITY,
    Item,
    NumberSequence,
    OperationRun,
    StartAttempt,
    WorkOrder,
    table,
)

WORK_ORDER_ROLES = ("supervisor", "admin")
MAX_UNITS = 100_000
HIGHEST_PRIORITY, LOWEST_PRIORITY = 1, 9
BUSY_ITEM_STATUSES = ("in_progress", "on_hold", "nonconforming")

_orders = table(WorkOrder)
_items = table(Item)
_sequences = table(NumberSequence)
_runs = table(OperationRun)
_attempts = table(StartAttempt)


@dataclass(frozen=True, slots=True)
class WorkOrderPlan(Jsonable):
    """When a work order is due, how urgent it is (1 most, 9 least) and the customer or ERP
    order it serves."""

    due_date: dt.date | None = None
    priority: int = DEFAULT_PRIORITY
    erp_reference: str = ""


UNPLANNED = WorkOrderPlan()
"""No due date, the default priority, no ERP reference."""


@dataclass(frozen=True, slots=True)
class WorkOrderInfo(Jsonable):
    """A work order and the numbers of its items; ``status_reason`` says why it was cancelled
    or closed."""

    number: str
    product: str
    routing: str
    quantity: float
    status: str
    config_version_id: int
    created_by: str
    created_at: dt.datetime
    released_at: dt.datetime | None
    items: tuple[str, ...]
    due_date: dt.date | None
    priority: int
    erp_reference: str
    status_reason: str


def _product(plant: Plant, product: str) -> str:
    if product in plant.products:
        return plant.products[product].routing
    hint = did_you_mean(product, plant.products)
    raise NotFound(
        f"The plant makes no product '{product}'; "
        + (hint if hint else "it makes " + ", ".join(sorted(plant.products)))
    )


def _next_sequence(session: Session, scope: str, count: int) -> int:
    """Reserve ``count`` numbers in ``scope``; returns the first."""
    last = session.scalar(
        select(_sequences.c.last).where(_sequences.c.scope == scope).with_for_update()
    )
    if last is None:
        try:
            with session.begin_nested():
                session.execute(insert(_sequences).values(scope=scope, last=count))
        except IntegrityError:
            raise Conflict(
                "Another work order is being numbered at the same moment; try again."
            ) from None
        return 1
    session.execute(update(_sequences).where(_sequences.c.scope == scope).values(last=last + count))
    return int(last) + 1


def create_work_order(
    session: Session,
    runtime: Runtime,
    *,
    product: str,
    quantity: float,
    actor: str,
    now: dt.datetime,
    number: str | None = None,
    plan: WorkOrderPlan = UNPLANNED,
) -> WorkOrderInfo:
    """A new work order for ``quantity`` of ``product`` (numbered WO00001… when not given)."""
    require_role(session, actor, WORK_ORDER_ROLES, "create work orders")
    plan = _checked_plan(plan)
    version = require_active_version_id(session)
    plant = runtime.plants(session, version)
    routing = _product(plant, product)
    _check_quantity(plant, product, quantity)
    if number is None:
        number = f"WO{_next_sequence(session, 'work-order', 1):05d}"
    number = number.strip()
    if not number:
        raise Invalid("Give the work order a number, or leave it out.", field="number")
    if session.scalar(select(_orders.c.id).where(_orders.c.number == number)) is not None:
        raise Conflict(f"Work order {number} already exists; choose another number.")
    session.execute(
        insert(_orders).values(
            number=number,
            product=product,
            routing=routing,
            quantity=quantity,
            status="created",
            config_version_id=version,
            created_at=now,
            created_by=actor,
            released_at=None,
            revision=1,
            **_plan_values(plan),
        )
    )
    new = {
        "product": product,
        "quantity": quantity,
        "status": "created",
        "version": version,
        **_plan_values(plan),
    }
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="work_order",
        entity_id=number,
        new=new,
    )
    return work_order(session, number)


def _checked_plan(plan: WorkOrderPlan) -> WorkOrderPlan:
    """The plan with its reference trimmed; Invalid for a priority out of range."""
    if isinstance(plan.priority, bool) or not HIGHEST_PRIORITY <= plan.priority <= LOWEST_PRIORITY:
        raise Invalid(
            f"The priority must be a whole number from {HIGHEST_PRIORITY} (most urgent) to "
            f"{LOWEST_PRIORITY} (least urgent), not {plan.priority!r}.",
            field="priority",
        )
    return WorkOrderPlan(plan.due_date, plan.priority, plan.erp_reference.strip())


def _plan_values(plan: WorkOrderPlan) -> dict[str, Any]:
    return {
        "due_date": plan.due_date,
        "priority": plan.priority,
        "erp_reference": plan.erp_reference,
    }


def plan_work_order(
    session: Session, *, number: str, plan: WorkOrderPlan, actor: str, reason: str
) -> WorkOrderInfo:
    """Change an open work order's due date, priority or ERP reference (the queues and the
    schedule follow at once); ``reason`` is recorded with the change."""
    require_role(session, actor, WORK_ORDER_ROLES, "plan work orders")
    plan = _checked_plan(plan)
    row = _order_row(session, number)
    if row.status not in ("created", "released"):
        raise Conflict(f"Work order {number} is {row.status}; only an open one can be re-planned.")
    old = WorkOrderPlan(row.due_date, row.priority, row.erp_reference)
    if old == plan:
        return work_order(session, number)
    _set_status(session, row, row.status, **_plan_values(plan))
    audit.record(
        session,
        actor=actor,
        action="plan",
        entity="work_order",
        entity_id=number,
        old=_plan_values(old),
        new=_plan_values(plan),
        reason=reason.strip(),
    )
    return work_order(session, number)


def _check_quantity(plant: Plant, product: str, quantity: float) -> None:
    check_quantity(quantity, "The quantity")
    if plant.products[product].tracking == "serial":
        if not float(quantity).is_integer():
            raise Invalid(
                f"{product} is made in units; give a whole number of units, not {quantity:g}.",
                field="quantity",
            )
        if quantity > MAX_UNITS:
            raise Invalid(
                f"A work order may release at most {MAX_UNITS:,} units; split the order.",
                field="quantity",
            )


def _order_row(session: Session, number: str) -> Any:
    row = session.execute(select(_orders).where(_orders.c.number == number)).one_or_none()
    if row is None:
        raise NotFound(f"There is no work order '{number}'; check the number.")
    return row


def _set_status(session: Session, row: Any, status: str, **values: Any) -> None:
    result = session.execute(
        update(_orders)
        .where(_orders.c.id == row.id, _orders.c.revision == row.revision)
        .values(status=status, revision=row.revision + 1, **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"Work order {row.number} was changed by someone else a moment ago; reload and try "
            "again."
        )


def release_work_order(
    session: Session, runtime: Runtime, *, number: str, actor: str, now: dt.datetime
) -> WorkOrderInfo:
    """Bind the work order to the active config version and make its units or lot."""
    require_role(session, actor, WORK_ORDER_ROLES, "release work orders")
    row = _order_row(session, number)
    if row.status != "created":
        raise Conflict(f"Work order {number} is {row.status}; only a created one can be released.")
    version = require_active_version_id(session)
    plant = runtime.plants(session, version)
    _product(plant, row.product)
    product = plant.products[row.product]
    routing = plant.routing_for(row.product)
    serial = product.tracking == "serial"
    count = int(row.quantity) if serial else 1
    try:
        pattern = bind(product.number_pattern, day=site_today(plant, now), work_order=number)
    except PatternError as error:
        raise Invalid(str(error), field="number_pattern") from None
    first = _next_sequence(session, f"{row.product}|{pattern.scope}", count)
    numbers = [pattern.render(first + index) for index in range(count)]
    # a pattern's scope always holds "{seq}", so this scope is never a pattern's
    ordinal = 1 if serial else _next_sequence(session, f"{row.product}|lots", 1)
    taken = session.scalar(select(func.count()).where(_items.c.number.in_(numbers[:1000])))
    if taken:
        raise Conflict(
            f"Releasing {number} would reuse existing numbers (e.g. {numbers[0]}); check the "
            f"product's number_pattern '{product.number_pattern}'."
        )
    session.execute(
        insert(_items),
        [
            {
                "number": item_number,
                "work_order_id": row.id,
                "ordinal": ordinal + index,
                "product": row.product,
                "kind": "unit" if serial else "lot",
                "quantity": 1.0 if serial else float(row.quantity),
                "status": "queued",
                "status_reason": "",
                "current_operation": routing.operations[0].id,
                "operation_started": False,
                "start_attempt_id": None,
                "rework_counts": {},
                "revision": 1,
                "config_version_id": version,
                "created_at": now,
                "updated_at": now,
            }
            for index, item_number in enumerate(numbers)
        ],
    )
    _set_status(session, row, "released", released_at=now, config_version_id=version)
    changes = [
        audit.Change(
            actor,
            "release",
            "work_order",
            number,
            {"status": row.status},
            {"status": "released", "version": version, "items": len(numbers)},
        ),
        *(audit.Change(actor, "create", "item", n, None, {"work_order": number}) for n in numbers),
    ]
    audit.record_many(session, changes)
    return work_order(session, number)


def cancel_work_order(
    session: Session, *, number: str, actor: str, reason: str, now: dt.datetime
) -> WorkOrderInfo:
    """Cancel a work order on which no work was started; its items are scrapped."""
    require_role(session, actor, WORK_ORDER_ROLES, "cancel work orders")
    if not reason.strip():
        raise Invalid("Give a reason to cancel the work order.", field="reason")
    row = _order_row(session, number)
    if row.status not in ("created", "released"):
        raise Conflict(f"Work order {number} is {row.status}; it cannot be cancelled.")
    item_ids = select(_items.c.id).where(_items.c.work_order_id == row.id)
    # lock the items first (PostgreSQL): a start recorded after this waits, then finds them changed
    session.execute(item_ids.with_for_update()).all()
    started = session.scalar(
        select(func.count())
        .select_from(_attempts)
        .where(_attempts.c.item_id.in_(item_ids), _attempts.c.allowed.is_(True))
    )
    if started:
        raise Conflict(
            f"Work has started on work order {number}; hold or scrap its units one by one "
            "instead of cancelling it."
        )
    session.execute(
        update(_items)
        .where(_items.c.work_order_id == row.id)
        .values(
            status="scrapped",
            current_operation=None,
            status_reason=f"work order cancelled: {reason.strip()}",
            revision=_items.c.revision + 1,
            updated_at=now,
        )
    )
    _set_status(session, row, "cancelled", status_reason=reason.strip())
    audit.record(
        session,
        actor=actor,
        action="cancel",
        entity="work_order",
        entity_id=number,
        old={"status": row.status},
        new={"status": "cancelled"},
        reason=reason.strip(),
    )
    return work_order(session, number)


def complete_work_order(
    session: Session, *, number: str, actor: str, now: dt.datetime
) -> WorkOrderInfo:
    """Close a released work order whose items are all completed or scrapped."""
    require_role(session, actor, WORK_ORDER_ROLES, "complete work orders")
    row = _order_row(session, number)
    if row.status != "released":
        raise Conflict(f"Work order {number} is {row.status}; only a released one can complete.")
    open_items = session.scalars(
        select(_items.c.number)
        .where(
            _items.c.work_order_id == row.id,
            _items.c.status.not_in(("completed", "scrapped")),
        )
        .order_by(_items.c.ordinal)
    ).all()
    if open_items:
        raise Conflict(
            f"Work order {number} still has {len(open_items)} unfinished item"
            f"{'s' if len(open_items) != 1 else ''} ({_shown(open_items)}); complete or scrap "
            "them first."
        )
    _set_status(session, row, "completed")
    audit.record(
        session,
        actor=actor,
        action="complete",
        entity="work_order",
        entity_id=number,
        old={"status": row.status},
        new={"status": "completed"},
    )
    return work_order(session, number)


def close_work_order(
    session: Session, *, number: str, actor: str, reason: str, now: dt.datetime
) -> WorkOrderInfo:
    """No more work on a released work order: it completes when every item is finished or
    scrapped; otherwise its queued items (not started at their operation) are scrapped with
    ``reason`` and it is closed short. Refused while an item is in progress, on hold or
    nonconforming: each of those needs its own decision first."""
    require_role(session, actor, WORK_ORDER_ROLES, "close work orders")
    row = _order_row(session, number)
    if row.status != "released":
        raise Conflict(f"Work order {number} is {row.status}; only a released one can be closed.")
    # lock the items (PostgreSQL): a start recorded meanwhile waits, then finds its item changed
    open_items = session.execute(
        select(_items.c.number, _items.c.status)
        .where(_items.c.work_order_id == row.id, _items.c.status.not_in(("completed", "scrapped")))
        .order_by(_items.c.ordinal)
        .with_for_update()
    ).all()
    busy = [n for n, status in open_items if status in BUSY_ITEM_STATUSES]
    if busy:
        raise Conflict(
            f"Work order {number} has {_count(busy)} in progress, on hold or nonconforming "
            f"({_shown(busy)}); finish, release or disposition them before closing it."
        )
    if not open_items:
        return complete_work_order(session, number=number, actor=actor, now=now)
    if not reason.strip():
        raise Invalid(
            f"Give a reason to close work order {number}: its {_count(open_items)} not yet "
            "started will be scrapped.",
            field="reason",
        )
    queued = [n for n, _ in open_items]
    session.execute(
        update(_items)
        .where(_items.c.work_order_id == row.id, _items.c.status == "queued")
        .values(
            status="scrapped",
            current_operation=None,
            status_reason=f"work order closed: {reason.strip()}",
            revision=_items.c.revision + 1,
            updated_at=now,
        )
    )
    _set_status(session, row, "closed", status_reason=reason.strip())
    changes = [
        audit.Change(
            actor,
            "close",
            "work_order",
            number,
            {"status": row.status},
            {"status": "closed", "scrapped": len(queued)},
            reason.strip(),
        ),
        *(
            audit.Change(
                actor, "scrap", "item", n, {"status": "queued"}, {"status": "scrapped"},
                f"work order closed: {reason.strip()}",
            )
            for n in queued
        ),
    ]  # fmt: skip
    audit.record_many(session, changes)
    return work_order(session, number)


def _count(items: Sequence[object]) -> str:
    return f"{len(items)} item{'s' if len(items) != 1 else ''}"


def _shown(numbers: Sequence[str]) -> str:
    return ", ".join(numbers[:3]) + (", …" if len(numbers) > 3 else "")


def work_order(session: Session, number: str) -> WorkOrderInfo:
    """One work order with its item numbers."""
    row = _order_row(session, number)
    items = session.scalars(
        select(_items.c.number).where(_items.c.work_order_id == row.id).order_by(_items.c.ordinal)
    ).all()
    return WorkOrderInfo(
        number=row.number,
        product=row.product,
        routing=row.routing,
        quantity=row.quantity,
        status=row.status,
        config_version_id=row.config_version_id,
        created_by=row.created_by,
        created_at=row.created_at,
        released_at=row.released_at,
        items=tuple(items),
        due_date=row.due_date,
        priority=row.priority,
        erp_reference=row.erp_reference,
        status_reason=row.status_reason,
    )


def work_orders(session: Session, *, status: str | None = None) -> list[WorkOrderInfo]:
    """Every work order (newest first), or those with ``status``."""
    query = select(_orders.c.number).order_by(_orders.c.id.desc())
    if status is not None:
        query = query.where(_orders.c.status == status)
    return [work_order(session, n) for n in session.scalars(query).all()]
