"""The dispatch facade: plan and close work orders, the work-centre queues operators pick their
next unit or lot from, and the finite-capacity schedule of the open work.

Work orders are created, released and cancelled through :class:`engine.facade.production.Ferrule`
(creation takes a :class:`~engine.commands.workorders.WorkOrderPlan`); this facade adds what
dispatching needs on top. Each method opens its own transaction or session; commands take an
idempotency key like every other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dsl.model import Plant
from engine.commands import versions, workorders
from engine.commands.workorders import WorkOrderInfo, WorkOrderPlan
from engine.infra.db import Database
from engine.infra.idempotency import run_once_in
from engine.infra.jsonable import Jsonable
from engine.infra.limits import check_names, check_texts
from engine.queries import queues
from engine.queries import schedule as planning
from engine.queries.queues import WorkCenterQueue
from engine.queries.schedule import Schedule
from engine.records.base import utcnow

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class WorkCenterLoad(Jsonable):
    """A work centre of the active plant and how many items wait there."""

    name: str
    description: str
    waiting: int


class Dispatch:
    """Dispatching over one database."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or utcnow

    # ------------------------------------------------------------ work orders

    def plan_work_order(
        self,
        *,
        actor: str,
        number: str,
        plan: WorkOrderPlan,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> WorkOrderInfo:
        """See :func:`engine.commands.workorders.plan_work_order`."""
        check_names(actor=actor, number=number, erp_reference=plan.erp_reference)
        check_texts(reason=reason)
        request = {"actor": actor, "number": number, "plan": plan.to_json(), "reason": reason}
        return run_once_in(
            self.db,
            idempotency_key,
            "plan_work_order",
            request,
            lambda s: workorders.plan_work_order(
                s, number=number, plan=plan, actor=actor, reason=reason
            ),
            load=WorkOrderInfo.from_json,
        )

    def close_work_order(
        self, *, actor: str, number: str, reason: str = "", idempotency_key: str | None = None
    ) -> WorkOrderInfo:
        """See :func:`engine.commands.workorders.close_work_order`."""
        check_names(actor=actor, number=number)
        check_texts(reason=reason)
        now = self.clock()
        return run_once_in(
            self.db,
            idempotency_key,
            "close_work_order",
            {"actor": actor, "number": number, "reason": reason},
            lambda s: workorders.close_work_order(
                s, number=number, actor=actor, reason=reason, now=now
            ),
            load=WorkOrderInfo.from_json,
        )

    # ------------------------------------------------------------ queues

    @staticmethod
    def _plants(session: Session) -> tuple[Plant, dict[int, Plant]]:
        """The active plant, and the plant of every version with released work."""
        _, active = versions.active_plant(session)
        plants = {v: versions.plant_for_version(session, v) for v in queues.open_versions(session)}
        return active, plants

    def queue(self, work_center: str, *, limit: int = 50, offset: int = 0) -> WorkCenterQueue:
        """See :func:`engine.queries.queues.queue`."""
        check_names(work_center=work_center)
        with self.db.session() as session:
            active, plants = self._plants(session)
            where = queues.stations(work_center, plants, active)
            return queues.queue(session, where, limit=limit, offset=offset)

    def work_centers(self) -> list[WorkCenterLoad]:
        """Every work centre of the active plant, by name, with its queue's length."""
        with self.db.session() as session:
            active, plants = self._plants(session)
            where = [queues.stations(name, plants, active) for name in sorted(active.work_centers)]
            return [
                WorkCenterLoad(s.work_center, s.description, queues.waiting(session, s))
                for s in where
            ]

    # ------------------------------------------------------------ schedule

    def schedule(self) -> Schedule:
        """The open work planned from now (see :mod:`engine.queries.schedule`)."""
        now = self.clock()
        with self.db.session() as session:
            demand = planning.open_demand(session)
            versions_used = {d.config_version_id for d in demand}
            plants = {v: versions.plant_for_version(session, v) for v in versions_used}
            down = planning.down_equipment(session)
        return planning.schedule(demand, plants, now=now, down=down)
