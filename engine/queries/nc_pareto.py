"""A Pareto of nonconformances over a period: counted by defect code, operation, equipment or
supplier, largest first, with each bar's cumulative share.

Where a nonconformance does not name what is counted it is found as a quality engineer would:
its equipment is the machine it was opened on, else the machine of the operation run that found
it (a failed gate); its supplier is the received lot's supplier, else the suppliers of the lots
consumed into the unit (a unit built from two suppliers' lots counts once for each). One that
names none counts under "(none)".
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.diagnostics import did_you_mean
from engine.errors import Invalid
from engine.infra.jsonable import Jsonable
from engine.records.production import Consumption, Nonconformance, OperationRun
from engine.records.tables import Lot

DIMENSIONS = ("defect_code", "operation", "equipment", "supplier")
NONE = "(none)"


@dataclass(frozen=True, slots=True)
class ParetoBar(Jsonable):
    """One category: how many nonconformances, and the share of all up to and including it."""

    name: str
    count: int
    cumulative_percent: float


@dataclass(frozen=True, slots=True)
class Pareto(Jsonable):
    """Nonconformances opened in [since, until), counted ``by`` one dimension."""

    by: str
    since: dt.datetime
    until: dt.datetime
    total: int
    bars: tuple[ParetoBar, ...]


def pareto(session: Session, *, by: str, since: dt.datetime, until: dt.datetime) -> Pareto:
    """Count the nonconformances opened in [since, until) ``by`` a dimension of
    :data:`DIMENSIONS`, largest first (ties by name)."""
    if by not in DIMENSIONS:
        hint = did_you_mean(by, DIMENSIONS)
        raise Invalid(
            f"A Pareto cannot be drawn by '{by}'; "
            + (hint if hint else "use one of " + ", ".join(DIMENSIONS)),
            field="by",
        )
    if until <= since:
        raise Invalid("The period must end after it starts.", field="until")
    ncs = session.execute(
        select(
            Nonconformance.id, Nonconformance.defect_code, Nonconformance.operation,
            Nonconformance.equipment, Nonconformance.item_id, Nonconformance.lot_id,
            Nonconformance.run_id,
        ).where(Nonconformance.opened_at >= since, Nonconformance.opened_at < until)
    ).all()  # fmt: skip
    counts: Counter[str] = Counter()
    if by in ("defect_code", "operation"):
        counts.update(getattr(nc, by) or NONE for nc in ncs)
    elif by == "equipment":
        run_ids = [nc.run_id for nc in ncs if nc.run_id is not None]
        machines = {
            run_id: machine
            for run_id, machine in session.execute(
                select(OperationRun.id, OperationRun.equipment).where(OperationRun.id.in_(run_ids))
            )
        }
        counts.update(nc.equipment or machines.get(nc.run_id) or NONE for nc in ncs)
    else:
        counts.update(_suppliers(session, ncs))
    return _bars(by, since, until, counts, len(ncs))


def _suppliers(session: Session, ncs: Sequence[Any]) -> list[str]:
    """One supplier name per nonconformance and supplier it involves."""
    lot_ids = {nc.lot_id for nc in ncs if nc.lot_id is not None}
    item_ids = {nc.item_id for nc in ncs if nc.item_id is not None}
    by_lot = {
        lot_id: supplier
        for lot_id, supplier in session.execute(
            select(Lot.id, Lot.supplier).where(Lot.id.in_(lot_ids))
        )
    }
    by_item: dict[int, set[str]] = {}
    for item_id, supplier in session.execute(
        select(Consumption.item_id, Lot.supplier)
        .join(Lot, Lot.id == Consumption.lot_id)
        .where(Consumption.item_id.in_(item_ids))
    ):
        if supplier:
            by_item.setdefault(item_id, set()).add(supplier)
    found: list[str] = []
    for nc in ncs:
        if nc.lot_id is not None:
            found.append(by_lot.get(nc.lot_id) or NONE)
        else:
            found.extend(sorted(by_item.get(nc.item_id, ())) or [NONE])
    return found


def _bars(
    by: str, since: dt.datetime, until: dt.datetime, counts: Counter[str], total: int
) -> Pareto:
    ordered = sorted(counts.items(), key=lambda entry: (-entry[1], entry[0]))
    counted = sum(counts.values())
    bars: list[ParetoBar] = []
    running = 0
    for name, count in ordered:
        running += count
        bars.append(ParetoBar(name, count, round(100 * running / counted, 1)))
    return Pareto(by, since, until, total, tuple(bars))
