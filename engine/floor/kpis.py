"""KPIs of ISO 22400-2 from a time model and quantities: pure arithmetic, no database.

Times are seconds within the period asked for, summed over the equipment in scope (ISO 22400-2
names in brackets):

- planned busy time (PBT): shift time without breaks and without planned downtime (PDOT: the
  calendar's dated planned downtime, and stops coded with a planned reason);
- actual production time (APT): time ``running`` in the planned busy time;
- actual unit setup time (AUST): time in ``setup`` in the planned busy time;
- actual unit delay time (ADET): the rest of the planned busy time (``down``, ``idle`` and
  ``unknown``: a machine Ferrule could not see is not counted as available);

and quantities are the units completed on that equipment in the period: produced (PQ), good (GQ,
routed on or finished), scrap (SQ), rework (RQ), and the ideal time for them (PRI × PQ: the
operation's ``cycle_time`` times the unit's quantity, summed).

The six big losses split the planned busy time by what it was lost to (:func:`six_big_losses`):

- breakdowns: unplanned stops (ADET) longer than the work centre's ``code_after`` — the stops
  that need a reason, whatever reason they got;
- setup and adjustments: time in ``setup`` (AUST);
- small stops: unplanned stops no longer than ``code_after`` (too short to need a reason);
- reduced speed: production time beyond the ideal time of what was produced (APT − PRI × PQ);
- startup rejects: the ideal time of rejected units (not routed on or finished) at the first run
  of their work order's operation on the machine, after its changeover;
- production rejects: the ideal time of the other rejected units;

and what is left is fully productive time, the ideal time of the good units. The six and it add up
to the planned busy time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from engine.infra.jsonable import Jsonable

BUCKET = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class TimeModel(Jsonable):
    """ISO 22400-2 times of a period, in seconds."""

    planned_busy_s: float  # PBT
    planned_downtime_s: float  # PDOT inside shifts (dated planned downtime, coded planned stops)
    production_s: float  # APT
    setup_s: float  # AUST
    delay_s: float  # ADET
    unknown_s: float  # part of ADET: Ferrule could not see the machine


@dataclass(frozen=True, slots=True)
class Quantities(Jsonable):
    """Units completed in the period, and the ideal time for them."""

    produced: float  # PQ
    good: float  # GQ
    scrap: float  # SQ
    rework: float  # RQ
    first_runs: float  # units run at an operation for the first time
    first_pass_good: float  # of those, good the first time
    ideal_s: float  # PRI × PQ, over the units with a cycle time


@dataclass(frozen=True, slots=True)
class Kpis(Jsonable):
    """ISO 22400-2 KPIs; None where the denominator is zero (nothing to measure)."""

    availability: float | None  # APT / PBT
    effectiveness: float | None  # PRI × PQ / APT (performance)
    quality_ratio: float | None  # GQ / PQ
    oee_index: float | None  # availability × effectiveness × quality ratio
    first_pass_yield: float | None  # good first time / first runs
    scrap_ratio: float | None  # SQ / PQ
    rework_ratio: float | None  # RQ / PQ
    throughput_per_h: float | None  # PQ per hour of planned busy time
    actual_unit_processing_s: float  # AUPT = APT + AUST


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def kpis(times: TimeModel, quantities: Quantities) -> Kpis:
    """The KPIs of a period from its time model and quantities."""
    availability = _ratio(times.production_s, times.planned_busy_s)
    effectiveness = _ratio(quantities.ideal_s, times.production_s)
    quality = _ratio(quantities.good, quantities.produced)
    oee = None
    if availability is not None and effectiveness is not None and quality is not None:
        oee = availability * effectiveness * quality
    return Kpis(
        availability=availability,
        effectiveness=effectiveness,
        quality_ratio=quality,
        oee_index=oee,
        first_pass_yield=_ratio(quantities.first_pass_good, quantities.first_runs),
        scrap_ratio=_ratio(quantities.scrap, quantities.produced),
        rework_ratio=_ratio(quantities.rework, quantities.produced),
        throughput_per_h=_ratio(quantities.produced * 3600, times.planned_busy_s),
        actual_unit_processing_s=times.production_s + times.setup_s,
    )


@dataclass(frozen=True, slots=True)
class SixBigLosses(Jsonable):
    """The six big losses of a period, in seconds of planned busy time; rejects also in units."""

    breakdowns_s: float
    setup_s: float
    small_stops_s: float
    reduced_speed_s: float
    startup_rejects_s: float
    production_rejects_s: float
    startup_rejects: float
    production_rejects: float
    fully_productive_s: float


@dataclass(frozen=True, slots=True)
class Rejects:
    """Rejected units and their ideal time."""

    quantity: float = 0.0
    ideal_s: float = 0.0


def six_big_losses(
    times: TimeModel,
    *,
    ideal_s: float,
    small_stops_s: float,
    startup: Rejects,
    production: Rejects,
) -> SixBigLosses:
    """The six big losses from the time model, the ideal time of all units produced (PRI × PQ),
    the unplanned stop time in short stops, and the rejects (see the module docstring)."""
    return SixBigLosses(
        breakdowns_s=times.delay_s - small_stops_s,
        setup_s=times.setup_s,
        small_stops_s=small_stops_s,
        reduced_speed_s=times.production_s - ideal_s,
        startup_rejects_s=startup.ideal_s,
        production_rejects_s=production.ideal_s,
        startup_rejects=startup.quantity,
        production_rejects=production.quantity,
        fully_productive_s=ideal_s - startup.ideal_s - production.ideal_s,
    )


# ---------------------------------------------------------------- intervals


def short_stops(
    spans: Sequence[tuple[dt.datetime, dt.datetime, str]], stopped: frozenset[str], most_s: float
) -> list[Span]:
    """The stops (runs of touching spans in a ``stopped`` state) no longer than ``most_s``."""
    stops: list[Span] = []
    for start, end, state in spans:
        if state not in stopped:
            continue
        if stops and stops[-1][1] == start:
            stops[-1] = (stops[-1][0], end)
        else:
            stops.append((start, end))
    return [(s, e) for s, e in stops if (e - s).total_seconds() <= most_s]


Span = tuple[dt.datetime, dt.datetime]


def bucket_start(at: dt.datetime) -> dt.datetime:
    """The start of the quarter-hour ``at`` lies in (UTC)."""
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def on_grid(at: dt.datetime) -> bool:
    return bucket_start(at) == at


def quarter_hours(start: dt.datetime, end: dt.datetime) -> Iterator[tuple[dt.datetime, float]]:
    """``start``–``end`` cut at quarter-hours: each piece's bucket and seconds."""
    at = start
    while at < end:
        bucket = bucket_start(at)
        upto = min(bucket + BUCKET, end)
        yield bucket, (upto - at).total_seconds()
        at = upto


def overlap_s(spans: Sequence[Span], others: Sequence[Span]) -> float:
    """Seconds two sets of disjoint spans share."""
    total = 0.0
    for a_start, a_end in spans:
        for b_start, b_end in others:
            shared = (min(a_end, b_end) - max(a_start, b_start)).total_seconds()
            total += max(shared, 0.0)
    return total


def subtract(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """``spans`` without ``holes`` (both disjoint, any order)."""
    result = list(spans)
    for hole_start, hole_end in holes:
        cut: list[Span] = []
        for start, end in result:
            if hole_end <= start or hole_start >= end:
                cut.append((start, end))
                continue
            if start < hole_start:
                cut.append((start, hole_start))
            if hole_end < end:
                cut.append((hole_end, end))
        result = cut
    return sorted(result)


def merge(spans: Sequence[Span]) -> list[Span]:
    """``spans`` as disjoint spans in time order, overlapping or touching ones joined."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def paint(layers: Sequence[tuple[Span, str]]) -> list[tuple[Span, str]]:
    """Disjoint labelled spans from overlapping ones where a later layer covers an earlier one
    (a re-coding covers the coding it corrects)."""
    painted: list[tuple[Span, str]] = []
    for (start, end), label in layers:
        kept = [
            (piece, old) for (span, old) in painted for piece in subtract([span], [(start, end)])
        ]
        painted = [*kept, ((start, end), label)]
    return sorted(painted)
