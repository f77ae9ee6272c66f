"""The plant-performance facade: stops and their reasons, OEE and the ISO 22400-2 KPIs, the six
big losses and each work order's allocation ratio.

The work is done in :mod:`engine.commands.downtime` (stops, coding, state buckets),
:mod:`engine.queries.oee` (KPIs over a period) and :mod:`engine.queries.losses` (rejects and
allocation from the runs); :mod:`engine.floor.kpis` holds the definitions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dsl.calendars import DEFAULT_CODE_AFTER_S
from dsl.model import Plant
from engine.commands import downtime, versions
from engine.commands.downtime import STOP_STATES, Coding, Stop, TimelineBand
from engine.facade.production import Ferrule
from engine.floor import kpis
from engine.floor.kpis import SixBigLosses
from engine.infra.jsonable import Jsonable
from engine.infra.limits import check_names, check_texts
from engine.queries import losses, oee
from engine.queries.losses import OrderAllocation
from engine.queries.oee import OeeReport


@dataclass(frozen=True, slots=True)
class ShiftKpis(Jsonable):
    """One shift's KPIs: ``shift`` on local ``day``."""

    shift: str
    day: dt.date
    report: OeeReport


@dataclass(frozen=True, slots=True)
class StopPart(Jsonable):
    """Part of a stop and the reason it gets (a supervisor splitting a stop)."""

    start: dt.datetime
    end: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class LossReport(Jsonable):
    """The six big losses of ``equipment`` from ``start`` to ``end``, and the allocation ratio of
    each work order run on it then."""

    scope: str
    equipment: tuple[str, ...]
    start: dt.datetime
    end: dt.datetime
    losses: SixBigLosses
    orders: tuple[OrderAllocation, ...]


def code_after_s(plant: Plant, equipment: str) -> float:
    """How long a stop of the machine may last before it needs a reason."""
    config = plant.equipment[equipment]
    center = plant.work_centers.get(config.work_center or "")
    tree = center.downtime if center is not None else None
    return tree.code_after_s if tree is not None else DEFAULT_CODE_AFTER_S


class Performance(Ferrule):
    """Downtime coding and KPIs, over the production facade's plumbing."""

    def losses(
        self,
        *,
        start: dt.datetime,
        end: dt.datetime,
        equipment: str | None = None,
        work_center: str | None = None,
    ) -> LossReport:
        """The six big losses (see :mod:`engine.floor.kpis`) and the work orders' allocation
        ratios (see :mod:`engine.queries.losses`) of one machine or a work centre's machines."""
        check_names(equipment=equipment, work_center=work_center)
        now = self.clock()
        plant = self._summarized(now)
        names = oee.scope_equipment(plant, equipment=equipment, work_center=work_center)
        scope = equipment or f"work center {work_center}"
        upto = min(end, max(now, start))
        with self.db.session() as session:
            report = oee.oee(
                session, plant, scope=scope, equipment=names, start=start, end=end, now=now
            )
            busy = oee.planned_busy(plant, start, upto)
            small_s = 0.0
            for name in names:
                counted = kpis.subtract(busy, oee.planned_codings(session, name, start, upto))
                spans = downtime.state_spans(session, name, start, upto)
                short = kpis.short_stops(spans, STOP_STATES, code_after_s(plant, name))
                small_s += kpis.overlap_s(short, counted)
            found = losses.runs(session, names, start, end)
        startup, production = losses.rejects(plant, found)
        six = kpis.six_big_losses(
            report.times, ideal_s=report.quantities.ideal_s, small_stops_s=small_s,
            startup=startup, production=production,
        )  # fmt: skip
        return LossReport(scope, tuple(names), start, end, six, losses.allocations(found))

    def oee(
        self,
        *,
        start: dt.datetime,
        end: dt.datetime,
        equipment: str | None = None,
        work_center: str | None = None,
        product: str | None = None,
    ) -> OeeReport:
        """KPIs of one machine or a work centre's machines (see :func:`engine.queries.oee.oee`)."""
        check_names(equipment=equipment, work_center=work_center, product=product)
        now = self.clock()
        plant = self._summarized(now)
        names = oee.scope_equipment(plant, equipment=equipment, work_center=work_center)
        with self.db.session() as session:
            return oee.oee(
                session, plant, scope=equipment or f"work center {work_center}",
                equipment=names, start=start, end=end, now=now, product=product,
            )  # fmt: skip

    def oee_of_work_centers(self, *, start: dt.datetime, end: dt.datetime) -> list[OeeReport]:
        """The KPIs of every work centre that has machines, by name."""
        now = self.clock()
        plant = self._summarized(now)
        with self.db.session() as session:
            centers = sorted({e.work_center for e in plant.equipment.values() if e.work_center})
            return [
                oee.oee(
                    session,
                    plant,
                    scope=f"work center {name}",
                    start=start,
                    end=end,
                    now=now,
                    equipment=oee.scope_equipment(plant, equipment=None, work_center=name),
                )
                for name in centers
            ]

    def oee_per_shift(
        self,
        *,
        start: dt.datetime,
        end: dt.datetime,
        equipment: str | None = None,
        work_center: str | None = None,
    ) -> list[ShiftKpis]:
        """The KPIs of every shift starting in ``start``–``end``, oldest first."""
        check_names(equipment=equipment, work_center=work_center)
        now = self.clock()
        plant = self._summarized(now)
        with self.db.session() as session:
            names = oee.scope_equipment(plant, equipment=equipment, work_center=work_center)
            scope = equipment or f"work center {work_center}"
            return [
                ShiftKpis(
                    window.shift,
                    window.day,
                    oee.oee(
                        session,
                        plant,
                        scope=scope,
                        equipment=names,
                        start=window.start,
                        end=window.end,
                        now=now,
                    ),
                )
                for window in oee.shifts(plant, start, end)
                if start <= window.start < end
            ]

    def _summarized(self, now: dt.datetime) -> Plant:
        """The active plant, once its machines' production buckets are summed up to date."""
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            late = downtime.behind(session, sorted(plant.equipment), now)
        if late:
            with self.db.transaction() as session:
                downtime.summarize_production(session, late, now)
        return plant

    def work_centers_with_equipment(self) -> list[str]:
        """The deployed plant's work centres that have machines, by name."""
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
        return sorted({e.work_center for e in plant.equipment.values() if e.work_center})

    def reasons(self, equipment: str) -> list[str]:
        """The reason paths a stop of the machine can be coded with."""
        check_names(equipment=equipment)
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
        return [r.path for r in downtime.reason_tree(plant, equipment).reasons]

    def day(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The site's local ``day`` as a UTC period (23 or 25 hours on clock-change days)."""
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
        zone = ZoneInfo(plant.site.timezone)
        start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    def timeline(
        self, *, equipment: str, start: dt.datetime, end: dt.datetime
    ) -> list[TimelineBand]:
        """A machine's states and coded reasons (see :func:`engine.commands.downtime.timeline`)."""
        check_names(equipment=equipment)
        with self.db.session() as session:
            return downtime.timeline(session, equipment, start=start, end=min(end, self.clock()))

    def stops(self, *, equipment: str, start: dt.datetime, end: dt.datetime) -> list[Stop]:
        """The machine's stops in a period (see :func:`engine.commands.downtime.stops`)."""
        check_names(equipment=equipment)
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            return downtime.stops(session, plant, equipment, start=start, end=end, now=self.clock())

    def stops_to_code(self, *, work_center: str, hours: int = 24) -> list[Stop]:
        """Stops of the work centre's machines in the last ``hours`` that still need a reason
        (none when the work centre declares no reason tree)."""
        check_names(work_center=work_center)
        now = self.clock()
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            center = plant.work_centers.get(work_center)
            if center is None or center.downtime is None:
                return []
            start = now - dt.timedelta(hours=hours)
            return [
                stop
                for name in oee.scope_equipment(plant, equipment=None, work_center=work_center)
                for stop in downtime.stops(session, plant, name, start=start, end=now, now=now)
                if stop.needs_reason
            ]

    def code_stop(
        self,
        *,
        actor: str,
        equipment: str,
        parts: list[StopPart],
        comment: str = "",
    ) -> list[Coding]:
        """Code a stop, or split one into parts coded apart (see
        :func:`engine.commands.downtime.code_parts`)."""
        check_names(actor=actor, equipment=equipment)
        check_texts(comment=comment)
        for part in parts:
            check_texts(reason=part.reason)
        with self.db.transaction() as session:
            _, plant = versions.active_plant(session)
            return downtime.code_parts(
                session, plant, equipment, actor=actor, comment=comment, now=self.clock(),
                parts=[(p.start, p.end, p.reason) for p in parts],
            )  # fmt: skip

    def rebuild_state_buckets(self, equipment: str) -> int:
        """Rebuild a machine's OEE buckets from its state history (after an upgrade)."""
        check_names(equipment=equipment)
        with self.db.transaction() as session:
            return downtime.rebuild_buckets(session, equipment)
