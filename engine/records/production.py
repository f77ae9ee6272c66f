"""Tables of production: work orders, the items being made, and the execution records.

``work_orders`` and ``items`` hold current state (every change writes an audit row; the
``revision`` column guards every change: an update names the revision it read, so two people
completing the same step at once cannot both win; the ORM does the same through
``version_id_col``, so no read-modify-write can forget it). Everything else
is an append-only record of what happened, each pointing at the config version that governed it:
a record that belongs to an operation run (measurements, tag captures, gate results) inherits the
run's version.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, CURRENT_STATE, Base, sealed
from engine.records.tables import NAME

WORK_ORDER_STATUSES = ("created", "released", "cancelled", "completed", "closed")
DEFAULT_PRIORITY = 5  # 1 is the most urgent, 9 the least
ITEM_STATUSES = ("queued", "in_progress", "on_hold", "nonconforming", "completed", "scrapped")
DISPOSITIONS = ("use_as_is", "rework", "repair", "scrap", "return_to_vendor")
NC_SUBJECT = (
    "(CASE WHEN item_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN lot_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN equipment IS NULL THEN 0 ELSE 1 END) = 1"
)
"""A nonconformance is about exactly one item, lot or machine."""
ITEM_SUBJECT = {"lot_id": None, "equipment": None, "quantity": None}
"""The columns of a nonconformance found on an item by the engine (a gate, an SPC signal)."""


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _version() -> Mapped[int]:
    return mapped_column(ForeignKey("config_versions.id"))


class WorkOrder(Base):
    """A quantity of a product on one routing version (bound at release)."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(NAME), unique=True)
    product: Mapped[str] = mapped_column(String(NAME))
    routing: Mapped[str] = mapped_column(String(NAME))
    quantity: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    config_version_id: Mapped[int] = _version()
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(NAME))
    released_at: Mapped[dt.datetime | None]
    revision: Mapped[int] = mapped_column(Integer, default=1)
    due_date: Mapped[dt.date | None]
    priority: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_PRIORITY, server_default=str(DEFAULT_PRIORITY)
    )
    erp_reference: Mapped[str] = mapped_column(String(NAME), default="", server_default="")
    status_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (
        CheckConstraint(_in("status", WORK_ORDER_STATUSES), name="status"),
        CheckConstraint("priority BETWEEN 1 AND 9", name="priority"),
        # open work by status, and the config versions it runs under (engine.queries.queues)
        Index("ix_work_orders_status", "status", "config_version_id"),
        sealed(CURRENT_STATE),
    )
    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class Item(Base):
    """A serialized unit or a lot being made; ``current_operation`` is where it waits or works.

    ``ordinal`` is the item's place in its run, which sampling counts: a unit's position in its
    work order, a lot's position among all lots of its product (a work order makes one lot)."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(NAME), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    ordinal: Mapped[int] = mapped_column(Integer)
    product: Mapped[str] = mapped_column(String(NAME))
    kind: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    current_operation: Mapped[str | None] = mapped_column(String(NAME))
    operation_started: Mapped[bool] = mapped_column(Boolean, default=False)
    start_attempt_id: Mapped[int | None] = mapped_column(Integer)
    rework_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    config_version_id: Mapped[int] = _version()
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (
        CheckConstraint(_in("status", ITEM_STATUSES), name="status"),
        CheckConstraint("kind IN ('unit', 'lot')", name="kind"),
        Index("ix_items_work_order", "work_order_id", "ordinal"),
        # WIP counts and the work-centre queues (engine.queries.queues) read only this index
        Index("ix_items_wip", "status", "current_operation", "work_order_id", "ordinal"),
        sealed(CURRENT_STATE),
    )
    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class StartAttempt(Base):
    """Every try to start an operation, allowed or blocked, with each check's result."""

    __tablename__ = "start_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    operation: Mapped[str] = mapped_column(String(NAME))
    actor: Mapped[str] = mapped_column(String(NAME))
    equipment: Mapped[str | None] = mapped_column(String(NAME))
    allowed: Mapped[bool] = mapped_column(Boolean)
    checks: Mapped[list[Any]] = mapped_column(JSON)
    at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = _version()

    __table_args__ = (Index("ix_start_attempts_item", "item_id"), sealed(APPEND_ONLY))


class OperationRun(Base):
    """A completed operation: who, on what equipment, from when to when, and where it routed."""

    __tablename__ = "operation_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    operation: Mapped[str] = mapped_column(String(NAME))
    start_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("start_attempts.id"))
    operator: Mapped[str] = mapped_column(String(NAME))
    equipment: Mapped[str | None] = mapped_column(String(NAME))
    started_at: Mapped[dt.datetime]
    completed_at: Mapped[dt.datetime]
    route: Mapped[str] = mapped_column(String(20))
    route_operation: Mapped[str | None] = mapped_column(String(NAME))
    route_reason: Mapped[str] = mapped_column(Text, default="")
    config_version_id: Mapped[int] = _version()

    __table_args__ = (
        Index("ix_operation_runs_item", "item_id"),
        # What was made on a machine in a time window: a failed calibration's impact list.
        Index("ix_operation_runs_equipment_completed", "equipment", "completed_at", "item_id"),
        sealed(APPEND_ONLY),
    )


class Measurement(Base):
    """A value entered at a run, in the field's unit."""

    __tablename__ = "measurements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("operation_runs.id"))
    field: Mapped[str] = mapped_column(String(NAME))
    value_num: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_measurements_run", "run_id"), sealed(APPEND_ONLY))


class TagCapture(Base):
    """A tag's value snapshotted at a run's completion, in the tag's unit."""

    __tablename__ = "tag_captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("operation_runs.id"))
    tag: Mapped[str] = mapped_column(String(NAME))
    value_num: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(40))
    quality: Mapped[str] = mapped_column(String(10))
    source_time: Mapped[dt.datetime | None]

    __table_args__ = (Index("ix_tag_captures_run", "run_id"), sealed(APPEND_ONLY))


class Consumption(Base):
    """A genealogy link: ``item`` consumed ``quantity`` of a part lot, or a made component item."""

    __tablename__ = "consumptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("operation_runs.id"))
    part: Mapped[str] = mapped_column(String(NAME))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    component_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), unique=True)
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    config_version_id: Mapped[int] = _version()

    __table_args__ = (
        CheckConstraint("(lot_id IS NULL) <> (component_item_id IS NULL)", name="source"),
        Index("ix_consumptions_item", "item_id"),
        # A recall (engine.queries.genealogy.forward) reads only these two indexes: a lot's
        # items, then up through sub-assemblies to the items built from them.
        Index("ix_consumptions_lot", "lot_id", "item_id"),
        Index("ix_consumptions_component", "component_item_id", "item_id"),
        sealed(APPEND_ONLY),
    )


class GateResult(Base):
    """A gate's verdict at a run: pass, fail or skipped (not sampled), with the recorded draw."""

    __tablename__ = "gate_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("operation_runs.id"))
    gate: Mapped[str] = mapped_column(String(NAME))
    outcome: Mapped[str] = mapped_column(String(10))
    sampled: Mapped[bool] = mapped_column(Boolean)
    draw: Mapped[float | None] = mapped_column(Float)
    checks: Mapped[list[Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_gate_results_run", "run_id"), sealed(APPEND_ONLY))


class HoldEvent(Base):
    """An item put on hold or released: by whom, why, and whether a gate or a person did it."""

    __tablename__ = "hold_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    action: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = _version()

    __table_args__ = (
        CheckConstraint("action IN ('hold', 'release')", name="action"),
        Index("ix_hold_events_item", "item_id"),
        sealed(APPEND_ONLY),
    )


class Nonconformance(Base):
    """A defect found on an item, a lot (a received supplier lot too) or a machine, with the
    quantity affected; open until a disposition takes effect."""

    __tablename__ = "nonconformances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), index=True)
    equipment: Mapped[str | None] = mapped_column(String(NAME))
    quantity: Mapped[float | None] = mapped_column(Float)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("operation_runs.id"))
    operation: Mapped[str | None] = mapped_column(String(NAME))
    gate: Mapped[str | None] = mapped_column(String(NAME))
    defect_code: Mapped[str] = mapped_column(String(NAME))
    description: Mapped[str] = mapped_column(Text)
    continue_at: Mapped[str | None] = mapped_column(String(NAME))
    opened_by: Mapped[str] = mapped_column(String(NAME))
    opened_at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = _version()

    __table_args__ = (
        Index("ix_nonconformances_item", "item_id"),
        CheckConstraint(NC_SUBJECT, name="subject"),
        CheckConstraint("quantity IS NULL OR quantity > 0", name="quantity"),
        sealed(APPEND_ONLY),
    )


class Disposition(Base):
    """A decision proposed on a nonconformance. It takes effect once every role in
    ``required_roles`` (the site's review board for the decision) has signed it, each by a
    different person; one signature that rejects it voids it."""

    __tablename__ = "dispositions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonconformance_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))
    required_roles: Mapped[list[str]] = mapped_column(JSON)
    quantity: Mapped[float | None] = mapped_column(Float)
    target_operation: Mapped[str | None] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = _version()

    __table_args__ = (
        CheckConstraint(_in("decision", DISPOSITIONS), name="decision"),
        sealed(APPEND_ONLY),
    )


class Signature(Base):
    """An electronic signature (21 CFR 11.50/11.70): the signer's name, when, the meaning, and the
    hash of the signed record's content, bound to that record."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(NAME))
    full_name: Mapped[str] = mapped_column(String(NAME))
    role: Mapped[str] = mapped_column(String(NAME))
    meaning: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    config_version_id: Mapped[int] = _version()

    __table_args__ = (
        Index("ix_signatures_record", "record_type", "record_id"),
        sealed(APPEND_ONLY),
    )


class NumberSequence(Base):
    """The last sequence number handed out per product and pattern scope."""

    __tablename__ = "number_sequences"

    scope: Mapped[str] = mapped_column(String(400), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


def table(model: type[Base]) -> Table:
    """A model's Core table, for the hot path's Core statements."""
    return Base.metadata.tables[model.__tablename__]
