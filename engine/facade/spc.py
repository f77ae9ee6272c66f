"""The SPC facade: the control charts of the deployed plant, their signals, and a quality user's
acknowledgement of a signal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from engine.commands import spc_signals, versions
from engine.errors import NotFound
from engine.infra.db import Database
from engine.infra.limits import check_names, check_texts
from engine.queries.spc import ChartSummary, ChartView, SignalView, chart_view, declared, signals
from engine.records.base import utcnow


class Spc:
    """Statistical process control over one database, for the deployed plant."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or utcnow

    def charts(self) -> list[ChartSummary]:
        """Every chart the deployed plant declares."""
        with self.db.session() as session:
            _version, plant = versions.active_plant(session)
            return [summary for summary, _chart in declared(plant)]

    def chart(self, key: str) -> ChartView:
        """One chart with its points, limits, capability and signals (see
        :func:`engine.queries.spc.chart_view`)."""
        check_names(chart=key)
        with self.db.session() as session:
            _version, plant = versions.active_plant(session)
            return chart_view(session, plant, key)

    def open_signals(self) -> list[SignalView]:
        """Signals no quality user has acknowledged yet, newest first."""
        with self.db.session() as session:
            return signals(session, open_only=True)

    def acknowledge(self, *, actor: str, signal_id: int, comment: str) -> SignalView:
        """Acknowledge a signal (quality role) with what was found or done; a ``block`` signal
        then no longer stops the operation's next start."""
        check_names(actor=actor)
        check_texts(comment=comment)
        with self.db.transaction() as session:
            spc_signals.acknowledge(
                session, signal_id=signal_id, actor=actor, comment=comment, now=self.clock()
            )
        with self.db.session() as session:
            found = signals(session, signal_id=signal_id)
        if not found:
            raise NotFound(f"There is no SPC signal {signal_id}.")
        return found[0]
