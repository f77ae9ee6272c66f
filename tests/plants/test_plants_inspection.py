"""The demo plants' AQL sampling (docs/sampling.md): acme-harness inspects every received lot of
TERM-22 at AQL 1.0, level II, and releases an accepted one; northfield-machining accepts each
HM-4420 work order's lot at final inspection at AQL 0.65, level II. The plans their usual lots
get are those of the Z1.4 tables."""

from __future__ import annotations

from pathlib import Path

import dsl
from dsl.model import AqlSampling, Plant
from engine.floor import aql
from engine.floor.aql import Severity

PLANTS = Path(__file__).resolve().parents[2] / "plants"


def _loaded(name: str) -> Plant:
    result = dsl.load(PLANTS / name)
    assert result.plant is not None, result.render()
    return result.plant


def _plan(sample: AqlSampling, lot_size: int, severity: Severity = Severity.NORMAL) -> str:
    return aql.plan(lot_size, sample.level, sample.aql, severity).describe()


def test_acme_inspects_each_received_lot_of_terminals() -> None:
    plant = _loaded("acme-harness")
    sampled = {name: part.sample for name, part in plant.parts.items() if part.sample}
    assert list(sampled) == ["TERM-22"]
    terminals = sampled["TERM-22"]
    assert (terminals.aql, terminals.level, terminals.release) == ("1.0", "II", True)
    assert plant.parts["TERM-22"].quarantine  # the decision is what releases a lot
    # a reel of 5,000 terminals: code L, n = 200
    assert _plan(terminals, 5000) == "normal, level II, AQL 1.0, code L: n = 200, Ac 5, Re 6"
    assert _plan(terminals, 5000, Severity.TIGHTENED) == (
        "tightened, level II, AQL 1.0, code L: n = 200, Ac 3, Re 4"
    )


def test_northfield_accepts_each_work_order_lot_at_final_inspection() -> None:
    plant = _loaded("northfield-machining")
    gates = {
        op.id: op.sample
        for routing in plant.routings.values()
        for op in routing.operations
        if op.sample is not None
    }
    assert list(gates) == ["final"]
    final = gates["final"]
    assert (final.aql, final.level, final.reduced_allowed) == ("0.65", "II", False)
    assert _plan(final, 30) == "normal, level II, AQL 0.65, code D → F: n = 20, Ac 0, Re 1"
    assert _plan(final, 300) == "normal, level II, AQL 0.65, code H → J: n = 80, Ac 1, Re 2"
