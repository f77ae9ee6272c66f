"""What the ERP gets back, read from the records: a work order's ``ProductionResponse`` and a
lot's ``MaterialLot`` (rendered by :mod:`engine.floor.b2mml`).

A work order's response has one ``SegmentResponse`` per operation that ran (its first start and
last completion, and the lots consumed there, summed per lot), and one output segment named after
the routing: each completed unit or lot as a ``MaterialProducedActual`` with the quantity key
``Good``, each item scrapped after work started on it with the key ``Scrap``. Materials carry
their ERP material id when the plant maps one, else the plant's name. The caller passes the
plant of the work order's config version.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.model import Plant
from engine.errors import Invalid, NotFound
from engine.floor.b2mml import (
    LotProperty,
    MaterialActual,
    MaterialLot,
    ProductionResponse,
    SegmentResponse,
)
from engine.records.production import Consumption, Item, OperationRun, WorkOrder, table
from engine.records.tables import Lot

RESPONSE_STATES = {
    "created": "Waiting",
    "released": "Running",
    "completed": "Completed",
    "closed": "Completed",
    "cancelled": "Aborted",
}
"""Work order status → B2MML ResponseState."""

_orders = table(WorkOrder)
_items = table(Item)
_runs = table(OperationRun)
_consumptions = table(Consumption)
_lots = table(Lot)


def erp_material(plant: Plant, name: str) -> str:
    """The ERP's id for a part or product of ``plant`` (its own name when it has none)."""
    found = plant.products.get(name) or plant.parts.get(name)
    return found.erp_material if found is not None and found.erp_material else name


def _unit(plant: Plant, name: str) -> str:
    found = plant.products.get(name) or plant.parts.get(name)
    return found.unit if found is not None else "pcs"


def work_order_version(session: Session, number: str) -> tuple[int, int]:
    """A work order's id and config version id; NotFound for an unknown number."""
    row = session.execute(
        select(_orders.c.id, _orders.c.config_version_id).where(_orders.c.number == number)
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no work order '{number}'; check the number.")
    return int(row.id), int(row.config_version_id)


def _consumed(session: Session, plant: Plant, run_ids: list[int]) -> tuple[MaterialActual, ...]:
    """What the runs consumed, summed per part and lot (or made component)."""
    component = _items.alias("component")
    rows = session.execute(
        select(_consumptions.c.part, _lots.c.number, component.c.number, _consumptions.c.quantity,
               _consumptions.c.unit)
        .outerjoin(_lots, _lots.c.id == _consumptions.c.lot_id)
        .outerjoin(component, component.c.id == _consumptions.c.component_item_id)
        .where(_consumptions.c.run_id.in_(run_ids))
        .order_by(_consumptions.c.id)
    ).all()  # fmt: skip
    totals: dict[tuple[str, str, str, str], float] = defaultdict(float)
    for part, lot, made, quantity, unit in rows:
        totals[(part, lot or "", made or "", unit)] += quantity
    return tuple(
        MaterialActual(erp_material(plant, part), total, unit, lot=lot, sublot=made)
        for (part, lot, made, unit), total in totals.items()
    )


def production_response(session: Session, plant: Plant, number: str) -> ProductionResponse:
    """The ``ProductionResponse`` of work order ``number``, made under ``plant``."""
    order = session.execute(select(_orders).where(_orders.c.number == number)).one_or_none()
    if order is None:
        raise NotFound(f"There is no work order '{number}'; check the number.")
    items = session.execute(
        select(_items.c.id, _items.c.number, _items.c.kind, _items.c.quantity, _items.c.status)
        .where(_items.c.work_order_id == order.id)
        .order_by(_items.c.ordinal)
    ).all()
    runs = session.execute(
        select(_runs.c.id, _runs.c.item_id, _runs.c.operation, _runs.c.started_at,
               _runs.c.completed_at)
        .where(_runs.c.item_id.in_([i.id for i in items]))
        .order_by(_runs.c.id)
    ).all()  # fmt: skip
    by_operation: dict[str, list[Any]] = defaultdict(list)
    for run in runs:
        by_operation[run.operation].append(run)
    routing = plant.routings.get(order.routing)
    order_of = {op.id: index for index, op in enumerate(routing.operations if routing else ())}
    segments = [
        SegmentResponse(
            id=f"{number}-{operation}",
            process_segment=operation,
            start=min(r.started_at for r in done),
            end=max(r.completed_at for r in done),
            consumed=_consumed(session, plant, [r.id for r in done]),
        )
        for operation, done in sorted(by_operation.items(), key=lambda e: order_of.get(e[0], 999))
    ]
    worked = {run.item_id for run in runs}
    material, unit = erp_material(plant, order.product), _unit(plant, order.product)
    produced = tuple(
        MaterialActual(
            material, item.quantity, unit,
            lot=item.number if item.kind == "lot" else "",
            sublot=item.number if item.kind == "unit" else "",
            key="Good" if item.status == "completed" else "Scrap",
        )
        for item in items
        if item.status == "completed" or (item.status == "scrapped" and item.id in worked)
    )  # fmt: skip
    start = min((r.started_at for r in runs), default=None)
    end = max((r.completed_at for r in runs), default=None)
    if produced:
        segments.append(
            SegmentResponse(f"{number}-output", order.routing, start, end, produced=produced)
        )
    return ProductionResponse(
        id=number,
        request_id=order.erp_reference,
        state=RESPONSE_STATES.get(order.status, order.status),
        start=start,
        end=end,
        segments=tuple(segments),
    )


def material_lot(session: Session, plant: Plant, number: str, part: str | None) -> MaterialLot:
    """A received lot (of ``part``, when several parts have a lot ``number``), else a lot made
    here; NotFound when there is neither."""
    query = select(_lots).where(_lots.c.number == number)
    if part:
        query = query.where(_lots.c.part == part)
    received = session.execute(query.order_by(_lots.c.id)).all()
    if len(received) > 1:
        parts = ", ".join(sorted(r.part for r in received))
        raise Invalid(
            f"Lot {number} was received for several parts ({parts}); say which with ?part=.",
            field="part",
        )
    if received:
        lot = received[0]
        known = plant.parts.get(lot.part)
        properties = [
            LotProperty("ReceivedQuantity", f"{lot.received_quantity:g}", "decimal"),
            LotProperty("ReceivedAt", lot.received_at.isoformat(), "dateTime"),
        ]
        if lot.expires_on is not None:
            properties.append(LotProperty("ExpiryDate", lot.expires_on.isoformat(), "date"))
        if lot.supplier:
            properties.append(LotProperty("Supplier", lot.supplier))
        if lot.supplier_lot:
            properties.append(LotProperty("SupplierLot", lot.supplier_lot))
        return MaterialLot(
            id=lot.number,
            material=erp_material(plant, lot.part),
            description=known.description if known else "",
            status=lot.status,
            quantity=lot.quantity,
            unit=lot.unit,
            location=lot.location,
            properties=tuple(properties),
        )
    made = session.execute(
        select(_items.c.number, _items.c.product, _items.c.quantity, _items.c.status,
               _orders.c.number.label("work_order"))
        .join(_orders, _orders.c.id == _items.c.work_order_id)
        .where(_items.c.number == number, _items.c.kind == "lot")
    ).one_or_none()  # fmt: skip
    if made is None or (part and part != made.product):
        raise NotFound(f"There is no lot '{number}'" + (f" of {part}" if part else "") + ".")
    product = plant.products.get(made.product)
    return MaterialLot(
        id=made.number,
        material=erp_material(plant, made.product),
        description=product.description if product else "",
        status=made.status,
        quantity=made.quantity,
        unit=_unit(plant, made.product),
        properties=(LotProperty("WorkOrder", made.work_order),),
    )
