"""The tag historian facade: what the historian process (``ferrule historian``) runs, and what
the web app asks of the recorded values (trends, exports).

:class:`Recorder` samples the historised tags of the deployed plant from a tag source (the web
layer wires in the adapter process's shared cache), keeps what the deadband compression stores
(:mod:`engine.floor.historian`) and writes it in one batch per flush; :meth:`Recorder.run` is the
process's loop, with an injectable clock and sleep so that tests drive the real thing.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from dsl.model import HistoryPolicy, Plant
from engine.commands import historian as writing
from engine.commands.historian import Retention
from engine.commands.versions import active_plant, active_version_id
from engine.errors import Invalid, NotFound
from engine.floor.historian import (
    DAY_MS,
    MS,
    Compressor,
    HistorySpec,
    Sample,
    Schedule,
    compressors,
    history_specs,
    sample_of,
)
from engine.floor.tagsource import TagSource
from engine.infra.db import Database
from engine.infra.limits import check_names
from engine.queries import trends
from engine.queries.trends import Trend, TrendPoint
from engine.records.base import utcnow

FLUSH_MS = 1000
"""Stored points are written once a second, in one batch."""
MAINTAIN_MS = 3600 * MS
"""Partitions ahead and the retention policy: once an hour (and at start)."""
CONFIG_CHECK_MS = 30 * MS
"""How often the process looks for a newly deployed config."""
MAX_BUFFER = 1_000_000
"""Stored points kept in memory while the database cannot be written; the oldest go first."""
MAX_PERIOD = dt.timedelta(days=400)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _hold_ms(spec: HistorySpec) -> int:
    """How long a stored value of ``spec``'s tag holds: a heartbeat and a sampling period (the
    historian stores something by then unless it was not running)."""
    return spec.heartbeat_ms + spec.every_ms


@dataclass(frozen=True, slots=True)
class FlushResult:
    """One flush: points written, and why none could be (the database's error), else ""."""

    written: int
    problem: str = ""


class Recorder:
    """One site's historian over ``db``, reading ``source``: the tags ``specs`` under ``policy``,
    or (without ``specs``) those of the deployed plant (:meth:`load_config`)."""

    def __init__(
        self,
        db: Database,
        source: TagSource,
        *,
        clock_ms: Callable[[], int] = _now_ms,
        specs: tuple[HistorySpec, ...] | None = None,
        policy: HistoryPolicy | None = None,
    ) -> None:
        self.db = db
        self.source = source
        self.clock_ms = clock_ms
        self.specs: tuple[HistorySpec, ...] = ()
        self.policy = policy or HistoryPolicy()
        self.version_id: int | None = None
        self._ids: dict[str, int] = {}
        self._compressors: dict[str, Compressor] = {}
        self._schedule = Schedule((), 0)
        self._buffer: list[tuple[int, Sample]] = []
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one flush or retention pass at a time
        self._days: set[int] = set()
        self.problem = ""
        self.follows_deployments = specs is None
        """Without given ``specs`` it records what the deployed plant declares, and follows
        each new deployment."""
        if specs is not None:
            self._use(specs)

    def load_config(self) -> bool:
        """Record what the deployed plant declares; False when it is unchanged (or none is
        deployed yet: nothing is recorded then)."""
        with self.db.session() as session:
            version = active_version_id(session)
            if version is None or version == self.version_id:
                return False
            _id, plant = active_plant(session)
        self.version_id = version
        self.policy = plant.site.history or HistoryPolicy()
        self._use(history_specs(plant))
        return True

    def _use(self, specs: tuple[HistorySpec, ...]) -> None:
        self.flush()
        with self.db.transaction() as session:
            self._ids = writing.tag_ids(session, specs)
            last = writing.last_points(session, self._ids)
        self.specs = specs
        self._compressors = compressors(specs, last)
        self._schedule = Schedule(specs, self.clock_ms())

    def sample(self, now_ms: int | None = None) -> int:
        """Sample the tags that are due; how many samples were kept for storing."""
        now = self.clock_ms() if now_ms is None else now_ms
        due = self._schedule.due(now)
        if not due:
            return 0
        readings = self.source.read(due)
        kept = [
            (self._ids[key], sample)
            for key in due
            if self._compressors[key].offer(sample := sample_of(readings.get(key), now))
        ]
        with self._buffer_lock:
            self._buffer += kept
            if len(self._buffer) > MAX_BUFFER:
                del self._buffer[: len(self._buffer) - MAX_BUFFER]
        return len(kept)

    def flush(self) -> FlushResult:
        """Write the kept samples in one transaction (creating day partitions as needed); on a
        database error they wait for the next flush."""
        with self._write_lock:
            with self._buffer_lock:
                rows, self._buffer = self._buffer, []
            if not rows:
                return FlushResult(0)
            days = {sample.at_ms // DAY_MS for _, sample in rows} - self._days
            try:
                with self.db.transaction() as session:
                    writing.create_partitions(session, (writing.day_of(d * DAY_MS) for d in days))
                    written = writing.store(session, rows)
            except SQLAlchemyError as exc:
                with self._buffer_lock:
                    self._buffer[:0] = rows
                self.problem = (
                    f"the historian cannot write to the database: {exc.__class__.__name__}"
                )
                return FlushResult(0, self.problem)
            self._days |= days
            self.problem = ""
            return FlushResult(written)

    def maintain(self, now_ms: int | None = None) -> Retention:
        """Create today's and tomorrow's partitions, then apply the retention policy."""
        now = self.clock_ms() if now_ms is None else now_ms
        holds = {self._ids[spec.key]: _hold_ms(spec) for spec in self.specs}
        with self._write_lock:
            with self.db.transaction() as session:
                today = now // DAY_MS
                writing.create_partitions(
                    session, (writing.day_of(d * DAY_MS) for d in (today, today + 1))
                )
                done = writing.apply_retention(session, self.policy, now, holds)
            oldest = (now - round(self.policy.keep_s * MS)) // DAY_MS
            self._days = {d for d in self._days if d >= oldest}
        return done

    def run(
        self,
        stop: threading.Event,
        *,
        sleep: Callable[[float], object] | None = None,
        on_flush: Callable[[FlushResult], object] = lambda _result: None,
    ) -> None:
        """Sample on schedule, maintain every :data:`MAINTAIN_MS` and pick up a new deployed
        config every :data:`CONFIG_CHECK_MS` until ``stop`` is set; a writer thread flushes every
        :data:`FLUSH_MS` meanwhile (so a slow write never delays sampling); then flush the rest."""
        wait = sleep or stop.wait
        writer = threading.Thread(
            target=self._flush_until, args=(stop, on_flush), name="historian-writer", daemon=True
        )
        writer.start()
        now = self.clock_ms()
        next_maintain, next_config = now, now + CONFIG_CHECK_MS
        try:
            while not stop.is_set():
                now = self.clock_ms()
                if now >= next_config and self.follows_deployments:
                    self.load_config()
                    next_config = now + CONFIG_CHECK_MS
                self.sample(now)
                if now >= next_maintain:
                    self.maintain(now)
                    next_maintain = now + MAINTAIN_MS
                due = self._schedule.next_ms()
                until = due if due is not None else now + FLUSH_MS
                wait(max(0.0, (until - self.clock_ms()) / MS))
        finally:
            stop.set()
            writer.join()
            on_flush(self.flush())

    def _flush_until(
        self, stop: threading.Event, on_flush: Callable[[FlushResult], object]
    ) -> None:
        while not stop.wait(FLUSH_MS / MS):
            on_flush(self.flush())


_DEFAULT_HOLD_S = (600 + 1) * 1.0


class Historian:
    """The recorded values of one database, for the deployed plant."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or utcnow

    def recorded(self, plant: Plant | None = None) -> tuple[HistorySpec, ...]:
        """The tags the deployed plant (or ``plant``) records."""
        if plant is None:
            try:
                _id, plant = active_plant(self.db)
            except NotFound:
                return ()
        return history_specs(plant)

    def recorded_for_equipment(self, name: str) -> tuple[str, ...]:
        """The recorded tags of the device equipment ``name`` is bound to (none when it has no
        device, or the deployed plant does not know it)."""
        try:
            _id, plant = active_plant(self.db)
        except NotFound:
            return ()
        machine = plant.equipment.get(name)
        if machine is None or machine.device is None:
            return ()
        return tuple(
            spec.key for spec in history_specs(plant) if spec.key.startswith(f"{machine.device}.")
        )

    def period(
        self, start: dt.datetime | None, end: dt.datetime | None
    ) -> tuple[dt.datetime, dt.datetime]:
        """``start`` to ``end`` checked: aware, in order, not longer than 400 days; an open end
        is now, an open start a day before the end."""
        until = end or self.clock()
        since = start or until - dt.timedelta(days=1)
        if since.tzinfo is None or until.tzinfo is None:
            raise Invalid(
                "Give times with their time zone, like 2026-11-30T08:00:00Z.", field="from"
            )
        if since >= until:
            raise Invalid("The period's start must be before its end.", field="from")
        if until - since > MAX_PERIOD:
            raise Invalid("A period is at most 400 days long.", field="from")
        return since, until

    def trend(
        self, key: str, start: dt.datetime | None = None, end: dt.datetime | None = None
    ) -> Trend:
        """Tag ``key``'s trend over the period (default: the last 24 h); NotFound when the
        historian never recorded it."""
        check_names(tag=key)
        since, until = self.period(start, end)
        hold = {spec.key: _hold_ms(spec) / MS for spec in self.recorded()}
        with self.db.session() as session:
            return trends.trend(session, key, since, until, hold_s=hold.get(key, _DEFAULT_HOLD_S))

    def export(
        self, key: str, start: dt.datetime | None = None, end: dt.datetime | None = None
    ) -> Iterator[TrendPoint]:
        """Every stored point of ``key`` in the period, streamed. NotFound (raised at once, not
        when the first point is read) when the historian never recorded it."""
        check_names(tag=key)
        since, until = self.period(start, end)
        with self.db.session() as session:
            trends.tag_row(session, key)
        return self._stream(key, since, until)

    def _stream(self, key: str, since: dt.datetime, until: dt.datetime) -> Iterator[TrendPoint]:
        with self.db.session() as session:
            yield from trends.stored_points(session, key, since, until)
