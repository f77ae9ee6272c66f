"""ERP production orders into work orders: one document, one transaction, all or nothing.

Each :class:`~engine.floor.b2mml.OrderRequest` names an ERP material id, which a product of the
active plant maps to (``erp: {material: …}`` in materials.yaml), and an ERP order id, which
becomes the work order's ``erp_reference``. Every problem of the document (unreadable parts,
unknown materials, wrong units, the same order twice, an order already imported with another
quantity) is collected first; any problem refuses the document whole. An order already imported
(same ERP order id, same product and quantity) returns its existing work order, so sending a
document again changes nothing. New orders are created and released through
:mod:`engine.commands.workorders`; a request whose ``RequestState`` is ``Forecast`` or
``Waiting`` is only created, for a supervisor to release.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dsl.diagnostics import did_you_mean
from dsl.model import Plant
from engine.access.people import require_role
from engine.commands import versions, workorders
from engine.commands.workorders import WORK_ORDER_ROLES, WorkOrderPlan
from engine.errors import DomainError
from engine.floor.b2mml import DocumentRefused, OrderDocument, OrderRequest, plant_unit
from engine.floor.runtime import Runtime
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.production import DEFAULT_PRIORITY, WorkOrder, table

NOT_RELEASED_STATES = frozenset({"forecast", "waiting"})
"""RequestStates that create a work order without releasing it."""
IMPORT_LOCK_KEY = 0x45525049  # "ERPI": serialises imports on PostgreSQL (SQLite: BEGIN IMMEDIATE)

_orders = table(WorkOrder)


@dataclass(frozen=True, slots=True)
class ImportedOrder(Jsonable):
    """An ERP order and its work order; ``created`` is false when it was imported before."""

    erp_order: str
    work_order: str
    product: str
    quantity: float
    status: str
    created: bool


@dataclass(frozen=True, slots=True)
class ImportResult(Jsonable):
    """What a document became, in its order."""

    document_id: str
    orders: tuple[ImportedOrder, ...]

    @property
    def created(self) -> int:
        """How many work orders this import made."""
        return sum(order.created for order in self.orders)


def _product_of(plant: Plant, order: OrderRequest, problems: list[str]) -> str | None:
    """The product ``order``'s material maps to; None (and a problem) when there is none."""
    made = {p.erp_material: p.name for p in plant.products.values() if p.erp_material}
    bought = {p.erp_material: p.name for p in plant.parts.values() if p.erp_material}
    name = f"{order.where}: ERP order {order.order_id}"
    product = made.get(order.material)
    if product is None:
        if order.material in bought:
            why = f"that is part {bought[order.material]}, which the plant receives, not makes"
        else:
            hint = did_you_mean(order.material, made)
            why = (
                "no product of the plant maps to it; add erp: {material: "
                f'"{order.material}"}} to the product in materials.yaml'
                + (f" ({hint})" if hint else "")
            )
        problems.append(f"{name} asks for material '{order.material}': {why}.")
        return None
    unit = plant.products[product].unit
    if not plant_unit(order.unit, unit):
        problems.append(
            f"{name} counts {product} in '{order.unit}', but the plant counts it in {unit}; "
            "send the quantity in the product's unit."
        )
        return None
    return product


def _existing(session: Session, order: OrderRequest, product: str, problems: list[str]) -> str:
    """The work order already made for ``order`` ("" for none); a problem when it differs."""
    row = session.execute(
        select(_orders.c.number, _orders.c.product, _orders.c.quantity)
        .where(_orders.c.erp_reference == order.order_id)
        .order_by(_orders.c.id)
        .limit(1)
    ).one_or_none()
    if row is None:
        return ""
    if (row.product, row.quantity) != (product, order.quantity):
        problems.append(
            f"{order.where}: ERP order {order.order_id} was imported before as work order "
            f"{row.number} for {row.quantity:g} of {row.product}; this one asks for "
            f"{order.quantity:g} of {product}. Re-plan or cancel {row.number} in Ferrule "
            "instead of importing the order again."
        )
    return str(row.number)


def _make(
    session: Session,
    runtime: Runtime,
    order: OrderRequest,
    product: str,
    *,
    actor: str,
    now: dt.datetime,
) -> ImportedOrder:
    """Create (and, unless it is only a forecast, release) the work order for ``order``."""
    plan = WorkOrderPlan(order.due_date, order.priority or DEFAULT_PRIORITY, order.order_id)
    info = workorders.create_work_order(
        session, runtime, product=product, quantity=order.quantity, actor=actor, now=now,
        plan=plan,
    )  # fmt: skip
    if order.state.lower() not in NOT_RELEASED_STATES:
        info = workorders.release_work_order(
            session, runtime, number=info.number, actor=actor, now=now
        )
    return ImportedOrder(order.order_id, info.number, product, info.quantity, info.status, True)


def import_orders(
    session: Session,
    runtime: Runtime,
    document: OrderDocument,
    *,
    actor: str,
    source: str,
    now: dt.datetime,
) -> ImportResult:
    """Make the work orders of ``document``, or refuse it whole (DocumentRefused)."""
    require_role(session, actor, WORK_ORDER_ROLES, "import ERP orders")
    if session.get_bind().dialect.name == "postgresql":
        # two imports of one ERP order at once: the second waits, then finds the first's order
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
    _, plant = versions.active_plant(session)
    problems = list(document.problems)
    seen: dict[str, str] = {}
    planned: list[tuple[OrderRequest, str, str]] = []
    for order in document.orders:
        if order.order_id in seen:
            problems.append(
                f"{order.where}: ERP order {order.order_id} is in the document twice (first at "
                f"{seen[order.order_id]}); send each order once."
            )
            continue
        seen[order.order_id] = order.where
        product = _product_of(plant, order, problems)
        if product is not None:
            planned.append((order, product, _existing(session, order, product, problems)))
    results: list[ImportedOrder] = []
    for order, product, existing in planned if not problems else ():
        if existing:
            info = workorders.work_order(session, existing)
            results.append(
                ImportedOrder(order.order_id, existing, product, info.quantity, info.status, False)
            )
            continue
        try:
            with session.begin_nested():
                results.append(_make(session, runtime, order, product, actor=actor, now=now))
        except DomainError as error:
            problems.append(f"{order.where}: ERP order {order.order_id}: {error.message}")
    if problems:
        raise DocumentRefused(_named(document, source), problems)
    result = ImportResult(document.document_id, tuple(results))
    audit.record(
        session,
        actor=actor,
        action="import",
        entity="erp_document",
        entity_id=document.document_id or source,
        new={"source": source, "orders": [o.to_json() for o in results]},
    )
    return result


def _named(document: OrderDocument, source: str) -> str:
    label = f"Document {document.document_id}" if document.document_id else "The document"
    return f"{label} ({source})" if source else label
