"""AQL sampling per ANSI/ASQ Z1.4-2003: the sampling plan for a lot, and the switching rules
between normal, tightened and reduced inspection, with skip-lot. Pure: no database.

The switching rules (Z1.4-2003 §8, the same as ISO 2859-1:1999 §9), kept per part and supplier
at receiving and per operation on the floor:

- normal → tightened: 2 of 5 or fewer consecutive lots not accepted on original inspection;
- tightened → normal: 5 consecutive lots accepted on original inspection;
- tightened → discontinued: the lots not accepted while on tightened inspection reach 5
  (cumulative); inspection is refused until quality reinstates it (then tightened again);
- normal → reduced: the switching score is at least 30, production is steady and the responsible
  authority approves reduced inspection (the plant's ``reduced: allowed`` flag). The score starts
  at 0 on entering normal inspection; after each lot on normal inspection, for Ac ≥ 2 it gains 3
  when the lot would also have been accepted at the AQL one step tighter, else it returns to 0;
  for Ac 0 or 1 it gains 2 when the lot is accepted, else it returns to 0;
- reduced → normal: a lot is not accepted, or production is irregular or delayed.

Skip-lot (an option, after ISO 2859-3's idea kept simple): once ``after`` consecutive lots were
accepted, only one lot in ``every`` is inspected; a skipped lot is accepted without inspection
and does not count for switching; a lot not accepted ends skipping.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from engine.floor.aql_tables import (
    AQLS,
    LEVELS,
    LOT_SIZES,
    NORMAL,
    REDUCED,
    REDUCED_SAMPLE_SIZES,
    SAMPLE_SIZES,
    TIGHTENED,
)

SWITCH_TO_REDUCED_SCORE = 30
LOTS_BACK_TO_NORMAL = 5
REJECTIONS_TO_DISCONTINUE = 5
WINDOW_TO_TIGHTENED = 5


class Severity(enum.Enum):
    """Where a stream of lots stands under the switching rules."""

    NORMAL = "normal"
    TIGHTENED = "tightened"
    REDUCED = "reduced"
    DISCONTINUED = "discontinued"


class AqlError(ValueError):
    """An AQL, level or lot size the tables do not have; the message says what they have."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The plan for one lot: ``code_letter`` from Table I, ``letter`` and ``sample_size`` of
    the plan the arrows lead to, accept with ≤ ``ac`` nonconforming, reject with ≥ ``re``.
    ``full``: the sample size reached the lot size, so every unit is inspected."""

    lot_size: int
    level: str
    aql: str
    severity: Severity
    code_letter: str
    letter: str
    sample_size: int
    ac: int
    re: int
    full: bool

    def describe(self) -> str:
        what = "100 % inspection" if self.full else f"n = {self.sample_size}"
        return (
            f"{self.severity.value}, level {self.level}, AQL {self.aql}, code {self.code_letter}"
            f"{'' if self.letter == self.code_letter else ' → ' + self.letter}: {what}, "
            f"Ac {self.ac}, Re {self.re}"
        )


def aql_column(aql: float | str) -> int:
    """The column of ``aql`` (a number or its printed form) in the master tables."""
    try:
        wanted = float(aql)
    except ValueError:
        wanted = -1.0
    for index, printed in enumerate(AQLS):
        if float(printed) == wanted:
            return index
    raise AqlError(f"AQL {aql} is not in the Z1.4 tables; use one of {', '.join(AQLS)}")


def code_letter(lot_size: int, level: str) -> str:
    """Table I: the sample size code letter of a lot of ``lot_size`` units at ``level``."""
    if level not in LEVELS:
        raise AqlError(f"inspection level {level} is not in Z1.4; use one of {', '.join(LEVELS)}")
    if lot_size < 2:
        raise AqlError(f"a lot of {lot_size} cannot be sampled; Z1.4 starts at lots of 2")
    column = LEVELS.index(level)
    for largest, letters in LOT_SIZES:
        if largest is None or lot_size <= largest:
            return letters[column]
    raise AssertionError("the last lot size range is open")  # pragma: no cover


def master(severity: Severity) -> dict[str, str]:
    """The master table of a severity (discontinued inspection has none)."""
    tables = {
        Severity.NORMAL: NORMAL,
        Severity.TIGHTENED: TIGHTENED,
        Severity.REDUCED: REDUCED,
    }
    if severity not in tables:
        raise AqlError("inspection is discontinued; quality must reinstate it first")
    return tables[severity]


def resolve(severity: Severity, letter: str, column: int) -> tuple[str, int, int]:
    """Follow the arrows from ``letter`` in ``column``: the letter of the plan, its Ac and Re."""
    table = master(severity)
    letters = list(table)
    row = letters.index(letter)
    while True:
        cell = table[letters[row]].split()[column]
        if cell == "v":
            row += 1
        elif cell == "^":
            row -= 1
        else:
            ac, re = cell.split("/")
            return letters[row], int(ac), int(re)


def plan(lot_size: int, level: str, aql: float | str, severity: Severity) -> Plan:
    """The single sampling plan for a lot (Z1.4-2003 Tables I and II-A/B/C)."""
    column = aql_column(aql)
    letter = code_letter(lot_size, level)
    used, ac, re = resolve(severity, letter, column)
    sizes = REDUCED_SAMPLE_SIZES if severity is Severity.REDUCED else SAMPLE_SIZES
    size = sizes[used]
    return Plan(
        lot_size=lot_size,
        level=level,
        aql=AQLS[column],
        severity=severity,
        code_letter=letter,
        letter=used,
        sample_size=min(size, lot_size),
        ac=ac,
        re=re,
        full=size >= lot_size,
    )


def tighter_acceptance(used: Plan) -> int | None:
    """The acceptance number of the same sample size at the AQL one step tighter (for the
    switching score when Ac ≥ 2); None when there is no tighter AQL."""
    column = AQLS.index(used.aql)
    if column == 0:
        return None
    _letter, ac, _re = resolve(Severity.NORMAL, used.letter, column - 1)
    return ac


@dataclass(frozen=True, slots=True)
class SkipLot:
    """After ``after`` consecutive accepted lots, inspect one lot in ``every``."""

    after: int
    every: int


@dataclass(frozen=True, slots=True)
class Switching:
    """The switching state of one stream of lots. ``recent``: outcomes (True = accepted) of
    the last lots on normal inspection, at most five; ``score``: the switching score;
    ``streak``: consecutive lots accepted on tightened inspection; ``rejected_on_tightened``:
    lots not accepted since tightened inspection began; ``accepted_run``: consecutive accepted
    lots (for skip-lot); ``skipped``: lots skipped since the last one inspected."""

    severity: Severity = Severity.NORMAL
    recent: tuple[bool, ...] = ()
    score: int = 0
    streak: int = 0
    rejected_on_tightened: int = 0
    accepted_run: int = 0
    skipped: int = 0

    def entering(self, severity: Severity) -> Switching:
        """The state on entering ``severity``: the counters of the rules start afresh."""
        return Switching(severity=severity, accepted_run=self.accepted_run)


def must_inspect(state: Switching, skip: SkipLot | None) -> bool:
    """Whether the next lot is inspected (False: skip-lot lets it pass uninspected)."""
    if state.severity is Severity.DISCONTINUED:
        raise AqlError("inspection is discontinued; quality must reinstate it first")
    if skip is None or state.severity is Severity.TIGHTENED or state.accepted_run < skip.after:
        return True
    return state.skipped + 1 >= skip.every


def after_skipped(state: Switching) -> Switching:
    """The state after a lot passed uninspected under skip-lot."""
    return replace(state, skipped=state.skipped + 1)


def after_lot(
    state: Switching,
    used: Plan,
    *,
    defects: int,
    steady: bool = True,
    reduced_allowed: bool = False,
) -> Switching:
    """The state after a lot inspected with plan ``used`` had ``defects`` nonconforming units
    (accepted when ≤ Ac). ``steady``: production runs at a steady rate; ``reduced_allowed``:
    the responsible authority approves reduced inspection."""
    accepted = defects <= used.ac
    run = state.accepted_run + 1 if accepted else 0
    state = replace(state, accepted_run=run, skipped=0)
    if state.severity is Severity.NORMAL:
        recent = (*state.recent, accepted)[-WINDOW_TO_TIGHTENED:]
        if recent.count(False) >= 2:
            return state.entering(Severity.TIGHTENED)
        score = _score(state.score, used, defects)
        if score >= SWITCH_TO_REDUCED_SCORE and steady and reduced_allowed:
            return state.entering(Severity.REDUCED)
        return replace(state, recent=recent, score=score)
    if state.severity is Severity.TIGHTENED:
        if not accepted:
            rejected = state.rejected_on_tightened + 1
            if rejected >= REJECTIONS_TO_DISCONTINUE:
                return state.entering(Severity.DISCONTINUED)
            return replace(state, rejected_on_tightened=rejected, streak=0)
        if state.streak + 1 >= LOTS_BACK_TO_NORMAL:
            return state.entering(Severity.NORMAL)
        return replace(state, streak=state.streak + 1)
    if state.severity is Severity.REDUCED:
        if not accepted or not steady:
            return state.entering(Severity.NORMAL)
        return state
    raise AqlError("inspection is discontinued; quality must reinstate it first")


def _score(score: int, used: Plan, defects: int) -> int:
    """The switching score after a lot on normal inspection (Z1.4-2003 §8.3.3)."""
    if used.ac >= 2:
        tighter = tighter_acceptance(used)
        return score + 3 if tighter is not None and defects <= tighter else 0
    return score + 2 if defects <= used.ac else 0


def production_irregular(state: Switching) -> Switching:
    """Reduced inspection ends when production is irregular or delayed (or other conditions
    warrant it); other severities are unchanged."""
    if state.severity is Severity.REDUCED:
        return state.entering(Severity.NORMAL)
    return state


def reinstate(state: Switching) -> Switching:
    """Quality resumes a discontinued stream after corrective action: on tightened inspection."""
    if state.severity is not Severity.DISCONTINUED:
        raise AqlError(f"inspection is {state.severity.value}, not discontinued")
    return Switching(severity=Severity.TIGHTENED)


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a lot stands after ``inspected`` samples with ``defects`` nonconforming:
    ``accepted`` True/False once certain, None while more samples are needed."""

    inspected: int
    defects: int
    accepted: bool | None


def decide(used: Plan, *, inspected: int, defects: int) -> Decision:
    """Accept once all samples are in with ≤ Ac nonconforming; reject as soon as Re are found
    (more samples cannot change that), so the inspector may stop early on a rejection."""
    if defects >= used.re:
        return Decision(inspected, defects, False)
    if inspected >= used.sample_size:
        return Decision(inspected, defects, defects <= used.ac)
    return Decision(inspected, defects, None)
