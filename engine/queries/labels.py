"""What a label or a traveller says: the content of a received lot's label, of a unit's or a
made lot's label, and of a work order's traveller (move ticket), each with the GS1 element
string its barcode carries (:mod:`engine.floor.gs1`). Rendering them (PDF, SVG, ZPL) is the web
layer's job; the words and the barcode data are decided here, once.

The part is named by AI 01 when the part or product declares a ``gtin:``, else by AI 240 (an
additional product id: the part's name); a serialized unit or component carries its serial as
AI 21, a lot its number as AI 10 and its expiry as AI 17.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.model import LabelBarcode, Plant, Product
from engine.errors import NotFound
from engine.floor import gs1
from engine.floor.gs1 import Element
from engine.floor.items import find_item
from engine.infra.jsonable import Jsonable
from engine.records.production import Item, WorkOrder
from engine.records.tables import Lot

PlantOf = Callable[[int], Plant]  # a config version's plant


@dataclass(frozen=True, slots=True)
class LabelElement(Jsonable):
    """One GS1 application identifier of a label and its data."""

    ai: str
    value: str


@dataclass(frozen=True, slots=True)
class Label(Jsonable):
    """A lot or serial label: what it reads and what its barcode carries.

    ``barcode`` is the GS1 element string with FNC1 written as the group separator (without the
    leading FNC1 every GS1 barcode starts with); ``printed`` is the same data as people read it;
    ``elements`` are its AIs and their data in barcode order, for an encoder that takes them
    one by one (a GS1 DataMatrix); ``symbol`` is the barcode the site prints by default
    (``inventory.label_barcode``: gs1-128 or datamatrix).
    """

    kind: str  # lot (received material), unit (a serial being made), batch (a lot being made)
    part: str
    description: str
    number: str
    quantity: float
    unit: str
    expires_on: dt.date | None
    gtin: str
    barcode: str
    printed: str
    elements: tuple[LabelElement, ...]
    symbol: LabelBarcode


@dataclass(frozen=True, slots=True)
class TravellerStep(Jsonable):
    """One operation as the traveller lists it, with what is recorded and signed there."""

    operation: str
    title: str
    work_center: str
    equipment: str
    records: tuple[str, ...]
    signed_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Traveller(Jsonable):
    """A work order's move ticket: its operations in order and a label per unit or lot."""

    work_order: str
    product: str
    description: str
    quantity: float
    unit: str
    status: str
    routing: str
    config_version_id: int
    steps: tuple[TravellerStep, ...]
    labels: tuple[Label, ...]


def _symbol(plant: Plant) -> LabelBarcode:
    """The barcode the site prints labels with by default."""
    inventory = plant.site.inventory
    return inventory.label_barcode if inventory is not None else "gs1-128"


def _label(
    kind: str,
    *,
    symbol: LabelBarcode,
    part: str,
    description: str,
    gtin: str,
    number: str,
    serial: bool,
    quantity: float,
    unit: str,
    expires_on: dt.date | None,
) -> Label:
    elements = [Element(gs1.GTIN, gs1.gtin14(gtin)) if gtin else Element(gs1.PRODUCT_ID, part)]
    elements.append(Element(gs1.SERIAL if serial else gs1.LOT, number))
    if expires_on is not None:
        elements.append(Element(gs1.EXPIRY, gs1.yymmdd(expires_on)))
    return Label(
        kind=kind,
        part=part,
        description=description,
        number=number,
        quantity=quantity,
        unit=unit,
        expires_on=expires_on,
        gtin=gtin,
        barcode=gs1.encode(elements),
        printed=gs1.human_readable(elements),
        elements=tuple(LabelElement(e.ai, e.value) for e in gs1.ordered(elements)),
        symbol=symbol,
    )


def lot_label(session: Session, plant: Plant, lot_id: int) -> Label:
    """The label of a received lot (``plant``: the active one, which declares its part)."""
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"There is no lot {lot_id}; find the lot in the inventory and print again.")
    part = plant.parts.get(lot.part)
    return _label(
        "lot",
        symbol=_symbol(plant),
        part=lot.part,
        description=part.description if part else "",
        gtin=part.gtin if part else "",
        number=lot.number,
        serial=part is not None and part.tracking == "serial",
        quantity=lot.quantity,
        unit=lot.unit,
        expires_on=lot.expires_on,
    )


def item_label(session: Session, plant_of: PlantOf, number: str) -> Label:
    """The label of a unit or a lot being made, by the product of its own config version."""
    item = find_item(session, number)
    plant = plant_of(item.config_version_id)
    product = plant.products.get(item.product)
    return _item_label(item.number, item.product, item.kind, item.quantity, product, plant=plant)


def _item_label(
    number: str,
    product_name: str,
    kind: str,
    quantity: float,
    product: Product | None,
    *,
    plant: Plant,
) -> Label:
    return _label(
        "unit" if kind == "unit" else "batch",
        symbol=_symbol(plant),
        part=product_name,
        description=product.description if product else "",
        gtin=product.gtin if product else "",
        number=number,
        serial=kind == "unit",
        quantity=quantity,
        unit=product.unit if product else "pcs",
        expires_on=None,
    )


def traveller(session: Session, plant_of: PlantOf, number: str) -> Traveller:
    """A work order's traveller: its routing's operations and a label per item, in run order."""
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    if order is None:
        raise NotFound(f"There is no work order '{number}'; check the number on the dispatch list.")
    plant = plant_of(order.config_version_id)
    product = plant.products.get(order.product)
    routing = plant.routings.get(order.routing)
    steps = tuple(
        TravellerStep(
            operation=op.id,
            title=op.title,
            work_center=op.work_center or "",
            equipment=op.equipment or "",
            records=tuple(f.name for f in op.fields),
            signed_by=tuple(s.role for s in op.signatures),
        )
        for op in (routing.operations if routing else ())
    )
    items = session.execute(
        select(Item.number, Item.kind, Item.quantity)
        .where(Item.work_order_id == order.id)
        .order_by(Item.ordinal)
    ).all()
    return Traveller(
        work_order=order.number,
        product=order.product,
        description=product.description if product else "",
        quantity=order.quantity,
        unit=product.unit if product else "pcs",
        status=order.status,
        routing=order.routing,
        config_version_id=order.config_version_id,
        steps=steps,
        labels=tuple(
            _item_label(n, order.product, kind, qty, product, plant=plant) for n, kind, qty in items
        ),
    )


# ---------------------------------------------------------------- a supplier's label at goods-in


@dataclass(frozen=True, slots=True)
class ScannedDelivery(Jsonable):
    """What a supplier's GS1 label tells goods-in: the part (by GTIN, or by AI 240 or 241 when
    it names one of the site's parts; "" when it names none), the supplier's lot, the quantity
    with its unit ("": the part's), the dates, and the GTIN as scanned."""

    part: str
    supplier_lot: str
    quantity: float | None
    unit: str
    expires_on: dt.date | None
    manufactured_on: dt.date | None
    gtin: str


def part_named(plant: Plant, data: gs1.Gs1) -> str:
    """The part or product a GS1 label names: by its GTIN, else by AI 240 or 241 (the label's
    AI 240 as it is when it matches nothing, "" when the label names no part)."""
    if data.gtin:
        gtins = [(p.name, p.gtin) for p in plant.parts.values()]
        gtins += [(p.name, p.gtin) for p in plant.products.values()]
        return next((name for name, g in gtins if g and gs1.gtin14(g) == data.gtin), "")
    named = data.get(gs1.CUSTOMER_PART)
    if named is not None and named in plant.parts:
        return named
    return data.product_id or ""


def delivery(plant: Plant, data: gs1.Gs1) -> ScannedDelivery:
    """The goods-in fields a supplier's label fills."""
    quantity = data.quantity
    return ScannedDelivery(
        part=part_named(plant, data),
        supplier_lot=data.lot or "",
        quantity=quantity[0] if quantity else None,
        unit=quantity[1] if quantity else "",
        expires_on=data.expiry,
        manufactured_on=data.produced,
        gtin=data.gtin or "",
    )
