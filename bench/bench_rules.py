"""How fast compiled rules evaluate, against hand-written lambdas, zen-engine and rule-engine.

Six realistic interlocks and gates are evaluated over 100,000 generated inputs. Ferrule's
``rule.evaluate(env)`` and the equivalent hand-written Python lambdas run over the same dicts;
zen-engine (compiled expressions) and rule-engine get the same values under identifier keys.
Each figure is the best of a few repeats. The last line is
``dsl_eval_vs_lambda: <Ferrule time / lambda time>`` (target <= 1.5).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any

import rule_engine
import zen

from dsl import env as keys
from dsl.diagnostics import Span
from dsl.expressions import CONDITION, compile_expression
from dsl.rules import CompiledRule
from dsl.scope import Scope, Symbol

INPUTS = 100_000
SLOW_INPUTS = 10_000  # rule-engine and zen run on the first inputs only, to bound the run
REPEATS = 3

SCOPE = Scope(
    tags=MappingProxyType(
        {
            "press1.pressure": Symbol("tag:press1.pressure", "number", "bar"),
            "press1.fault": Symbol("tag:press1.fault", "bool"),
            "tester.resistance": Symbol("tag:tester.resistance", "number", "mohm"),
            "tester.insulation": Symbol("tag:tester.insulation", "number", "Mohm"),
        }
    ),
    fields=MappingProxyType(
        {
            "pull_force": Symbol("field:crimp.pull_force", "number", "N"),
            "crimp_height": Symbol("field:crimp.crimp_height", "number", "mm"),
            "visual": Symbol("field:crimp.visual", "string"),
            "cut.length": Symbol("field:cut.length", "number", "mm"),
        }
    ),
    operator=True,
    equipment=True,
    item="unit",
    qualifications=frozenset({"crimping", "cutting"}),
)

# (Ferrule expression, hand-written lambda over the same env, rule-engine / zen expression)
RULES: list[tuple[str, Callable[[dict[str, Any]], bool], str, str]] = [
    (
        "press1.pressure between 60 bar and 80 bar and not press1.fault",
        lambda v: 6e6 <= v["tag:press1.pressure"] <= 8e6 and not v["tag:press1.fault"],
        "pressure >= 6e6 and pressure <= 8e6 and not fault",
        "pressure >= 6000000 and pressure <= 8000000 and not fault",
    ),
    (
        'pull_force >= 60 N and crimp_height between 1.45 mm and 1.65 mm and visual == "ok"',
        lambda v: (
            v["field:crimp.pull_force"] >= 60.0
            and 0.00145 <= v["field:crimp.crimp_height"] <= 0.00165
            and v["field:crimp.visual"] == "ok"
        ),
        "pull_force >= 60 and crimp_height >= 0.00145 and crimp_height <= 0.00165 "
        'and visual == "ok"',
        "pull_force >= 60 and crimp_height >= 0.00145 and crimp_height <= 0.00165 "
        'and visual == "ok"',
    ),
    (
        "tester.resistance < 5 mohm and tester.insulation >= 100 Mohm",
        lambda v: v["tag:tester.resistance"] < 0.005 and v["tag:tester.insulation"] >= 1e8,
        "resistance < 0.005 and insulation >= 1e8",
        "resistance < 0.005 and insulation >= 100000000",
    ),
    (
        'equipment.calibration_due >= today and equipment.state != "down" '
        'and operator.qualified("crimping")',
        lambda v: (
            v["equipment.calibration_due"] >= v["today"]
            and v["equipment.state"] != "down"
            and "crimping" in v["operator.qualifications"]
        ),
        'calibration_due >= today and state != "down" and "crimping" in qualifications',
        'calibration_due >= today and state != "down" and "crimping" in qualifications',
    ),
    (
        "cut.length between 499.5 mm and 500.5 mm or unit.rework_count < 2",
        lambda v: 0.4995 <= v["field:cut.length"] <= 0.5005 or v["item.rework_count"] < 2,
        "(length >= 0.4995 and length <= 0.5005) or rework_count < 2",
        "(length >= 0.4995 and length <= 0.5005) or rework_count < 2",
    ),
    (
        'visual in ["ok", "burr"] and press1.pressure.age < 5 s',
        lambda v: v["field:crimp.visual"] in ("ok", "burr") and v["tag:press1.pressure.age"] < 5.0,
        'visual in ["ok", "burr"] and age < 5',
        'visual in ["ok", "burr"] and age < 5',
    ),
]

# Ferrule key -> identifier key for rule-engine and zen.
FLAT_KEYS = {
    "tag:press1.pressure": "pressure",
    "tag:press1.fault": "fault",
    "tag:press1.pressure.age": "age",
    "tag:tester.resistance": "resistance",
    "tag:tester.insulation": "insulation",
    "field:crimp.pull_force": "pull_force",
    "field:crimp.crimp_height": "crimp_height",
    "field:crimp.visual": "visual",
    "field:cut.length": "length",
    "equipment.calibration_due": "calibration_due",
    "equipment.state": "state",
    "operator.qualifications": "qualifications",
    "item.rework_count": "rework_count",
    "today": "today",
}


def generate(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Plausible rule environments (values in SI), some in and some out of their limits."""
    rng = random.Random(seed)
    today = keys.date_value(dt.date(2026, 5, 4))
    states = ("running", "idle", "down", "setup")
    qualification_sets: tuple[frozenset[str], ...] = (
        frozenset({"crimping"}),
        frozenset({"cutting"}),
        frozenset(),
    )
    return [
        {
            "tag:press1.pressure": rng.uniform(55e5, 85e5),
            "tag:press1.fault": rng.random() < 0.05,
            "tag:press1.pressure.age": rng.uniform(0.0, 6.0),
            "tag:tester.resistance": rng.uniform(0.001, 0.006),
            "tag:tester.insulation": rng.uniform(8e7, 6e8),
            "field:crimp.pull_force": rng.uniform(40.0, 120.0),
            "field:crimp.crimp_height": rng.uniform(0.0014, 0.0017),
            "field:crimp.visual": rng.choice(("ok", "ok", "ok", "burr", "bellmouth missing")),
            "field:cut.length": rng.uniform(0.499, 0.501),
            "equipment.calibration_due": today + 86400.0 * rng.randint(-30, 300),
            "equipment.state": rng.choice(states),
            "operator.qualifications": rng.choice(qualification_sets),
            "item.rework_count": float(rng.randint(0, 3)),
            "today": today,
        }
        for _ in range(count)
    ]


def flat(environment: dict[str, Any]) -> dict[str, Any]:
    """The same values under identifier keys; sets as lists (what zen and rule-engine take)."""
    return {
        FLAT_KEYS[k]: (sorted(v) if isinstance(v, frozenset) else v) for k, v in environment.items()
    }


def compile_all() -> list[CompiledRule]:
    rules = []
    for source, *_ in RULES:
        result = compile_expression(source, Span.point("bench.yaml", 1, 1), SCOPE, CONDITION)
        if isinstance(result, list):
            raise SystemExit("\n".join(d.render() for d in result))
        rules.append(result)
    return rules


def best_time(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def run_all(
    functions: Sequence[Callable[[Any], object]], inputs: Sequence[Any]
) -> Callable[[], None]:
    def run() -> None:
        for function in functions:
            for item in inputs:
                function(item)

    return run


def main() -> None:
    envs = generate(INPUTS)
    flats = [flat(e) for e in envs[:SLOW_INPUTS]]
    rules = compile_all()
    lambdas = [entry[1] for entry in RULES]
    engine_rules = [rule_engine.Rule(entry[2]) for entry in RULES]
    zen_rules = [zen.compile_expression(entry[3]) for entry in RULES]

    for rule, function, engine_rule, zen_rule in zip(
        rules, lambdas, engine_rules, zen_rules, strict=True
    ):
        for e, f in zip(envs[:200], flats[:200], strict=True):
            expected = function(e)
            assert (rule.evaluate(e).value == "pass") == expected, rule.source
            assert engine_rule.matches(f) == expected, rule.source
            assert bool(zen_rule.evaluate(f)) == expected, rule.source

    evaluations = len(RULES) * INPUTS
    slow_evaluations = len(RULES) * SLOW_INPUTS
    ferrule = best_time(run_all([r.evaluate for r in rules], envs)) / evaluations
    lambda_time = best_time(run_all(lambdas, envs)) / evaluations
    zen_time = best_time(run_all([z.evaluate for z in zen_rules], flats)) / slow_evaluations
    engine_time = best_time(run_all([r.matches for r in engine_rules], flats)) / slow_evaluations

    sizes = f"{INPUTS} inputs (zen, rule-engine: {SLOW_INPUTS})"
    print(f"{len(RULES)} rules x {sizes}, best of {REPEATS}")
    for name, seconds in (
        ("ferrule compiled", ferrule),
        ("hand-written lambda", lambda_time),
        ("zen-engine compiled", zen_time),
        ("rule-engine", engine_time),
    ):
        print(f"  {name:<22} {1 / seconds:>14,.0f} evaluations/s  {seconds * 1e9:>9.0f} ns each")
    print(f"zen-engine / ferrule: {zen_time / ferrule:.1f}x")
    print(f"rule-engine / ferrule: {engine_time / ferrule:.1f}x")
    print(f"dsl_eval_vs_lambda: {ferrule / lambda_time:.2f}")


if __name__ == "__main__":
    main()
