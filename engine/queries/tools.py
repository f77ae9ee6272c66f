"""Questions about tools: which tool each operation run used, and which units and lots were made
with a tool ("which harnesses were crimped with applicator A-17"), for a recall or a bulk hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.infra.jsonable import Jsonable
from engine.records.production import Item
from engine.records.tools import ToolUse

PAGE = 500
"""Units listed at most per question (the total says how many there are)."""


@dataclass(frozen=True, slots=True)
class ToolUnit(Jsonable):
    """A unit or lot an operation run made with the tool."""

    number: str
    product: str
    status: str
    operation: str
    at: dt.datetime
    run: int


@dataclass(frozen=True, slots=True)
class ToolUnits(Jsonable):
    """The units and lots made with ``tool``, oldest first (at most ``PAGE``), and how many
    runs used it in all."""

    tool: str
    units: tuple[ToolUnit, ...]
    total: int


def tools_by_run(session: Session, run_ids: Sequence[int]) -> dict[int, str]:
    """The tool each of ``run_ids`` used, by run id (runs without a tool left out)."""
    if not run_ids:
        return {}
    rows = session.execute(select(ToolUse.run_id, ToolUse.tool).where(ToolUse.run_id.in_(run_ids)))
    return {row.run_id: row.tool for row in rows}


def units_made_with(session: Session, tool: str, limit: int | None = PAGE) -> ToolUnits:
    """The units and lots operation runs made with ``tool``, at most ``limit`` (None: all; see
    :class:`ToolUnits`)."""
    rows = session.execute(
        select(
            Item.number, Item.product, Item.status, ToolUse.operation, ToolUse.at, ToolUse.run_id
        )
        .join(Item, Item.id == ToolUse.item_id)
        .where(ToolUse.tool == tool)
        .order_by(ToolUse.id)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).where(ToolUse.tool == tool)) or 0
    units = tuple(
        ToolUnit(r.number, r.product, r.status, r.operation, r.at, r.run_id) for r in rows
    )
    return ToolUnits(tool, units, int(total))
