"""The supervisor board facade: WIP per operation in routing order, each open work order's
progress with its late flags, and the change marker a live board polls (see
:mod:`engine.queries.board`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from engine.commands import versions
from engine.facade.dispatch import Dispatch
from engine.infra.db import Database
from engine.queries import board
from engine.queries.board import Board
from engine.records.base import utcnow

Clock = Callable[[], dt.datetime]


class SupervisorBoard:
    """The board over one database."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or utcnow
        self.dispatch = Dispatch(db, self.clock)

    def marker(self) -> int:
        """The newest audit sequence number: when it moves, the board may have changed."""
        with self.db.session() as session:
            return board.marker(session)

    def board(self) -> Board:
        """The board now. Its marker is read before its figures, so a change made while they
        are read moves the marker past the board's and the next poll redraws."""
        with self.db.session() as session:
            marker = board.marker(session)
            _, plant = versions.active_plant(session)
            operations = board.wip_by_operation(session, plant)
            orders = board.open_orders(session)
        planned = {o.work_order: o for o in self.dispatch.schedule().orders}
        today = self.clock().astimezone(ZoneInfo(plant.site.timezone)).date()
        progress = tuple(
            board.progress(
                order,
                today=today,
                planned_finish=planned[order.number].finish if order.number in planned else None,
                late=order.number in planned and planned[order.number].late,
            )
            for order in orders
        )
        return Board(marker, operations, progress)
