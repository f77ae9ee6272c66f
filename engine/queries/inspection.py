"""Reading AQL lot inspections: the history of a part's lots (of one supplier or all), and
the inspections of a lot. A stream's switching state is
:func:`engine.floor.aql_streams.stream_state`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.floor.aql_streams import InspectionInfo, inspection_info
from engine.records.inspection import LotInspection

HISTORY_LIMIT = 100


def history(
    session: Session,
    part: str,
    *,
    supplier: str | None = None,
    operation: str = "",
    limit: int = HISTORY_LIMIT,
) -> list[InspectionInfo]:
    """The inspections of ``part`` (from ``supplier`` when given; at ``operation`` on the
    floor), newest first, at most ``limit``."""
    query = select(LotInspection).where(
        LotInspection.part == part, LotInspection.operation == operation
    )
    if supplier is not None:
        query = query.where(LotInspection.supplier == supplier)
    rows = session.scalars(query.order_by(LotInspection.id.desc()).limit(limit)).all()
    return [inspection_info(session, row) for row in rows]


def of_lot(session: Session, part: str, lot: str) -> list[InspectionInfo]:
    """The receiving inspections of a lot (at most one)."""
    rows = session.scalars(
        select(LotInspection).where(
            LotInspection.part == part, LotInspection.operation == "", LotInspection.lot == lot
        )
    ).all()
    return [inspection_info(session, row) for row in rows]
