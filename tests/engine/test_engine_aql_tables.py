"""Every entry of the Z1.4 tables against independent transcriptions, and published examples.

``PLANESMUESTRA_AC``: the acceptance number of every cell of Tables II-A, II-B and II-C, arrows
followed, as the R package Planesmuestra (CRAN, ``data/milstd105eplans.rda``) transcribes
MIL-STD-105E; its row S of II-B repeats row R (only S/0.025 is reachable and is checked), its rows
A and B of II-C contradict its own row C of the same sample size and are left out.
``NIBS_RE``: rejection numbers of the cells themselves (no arrow followed) from the MIL-STD-105E
level II tables of the National Institute of Building Sciences (``AC-TABLE.ASC``, Tables 1-A
normal and 1-B tightened, AQL 0.65 to 15).
"""

from __future__ import annotations

import pytest

from engine.floor import aql
from engine.floor.aql import AqlError, Severity
from engine.floor.aql_tables import AQLS, NORMAL, SAMPLE_SIZES, TIGHTENED

PLANESMUESTRA_AC = {
    Severity.NORMAL: {
        "A": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 1 2 3 5 7 10 14 21 30",
        "B": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 30 44",
        "C": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 30 44 44",
        "D": "0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 30 44 44 44",
        "E": "0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 30 44 44 44 44",
        "F": "0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 21 30 44 44 44 44",
        "G": "0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 21 21 30 44 44 44 44",
        "H": "0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 21 21 21 30 44 44 44 44",
        "J": "0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 21 21 21 21 30 44 44 44 44",
        "K": "0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 21 21 21 21 21 30 44 44 44 44",
        "L": "0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 21 21 21 21 21 21 30 44 44 44 44",
        "M": "0 0 0 0 0 1 1 2 3 5 7 10 14 21 21 21 21 21 21 21 21 30 44 44 44 44",
        "N": "0 0 0 0 1 1 2 3 5 7 10 14 21 21 21 21 21 21 21 21 21 30 44 44 44 44",
        "P": "0 0 0 1 1 2 3 5 7 10 14 21 21 21 21 21 21 21 21 21 21 30 44 44 44 44",
        "Q": "0 0 1 1 2 3 5 7 10 14 21 21 21 21 21 21 21 21 21 21 21 30 44 44 44 44",
        "R": "0 0 1 2 3 5 7 10 14 21 21 21 21 21 21 21 21 21 21 21 21 30 44 44 44 44",
    },
    Severity.TIGHTENED: {
        "A": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 1 1 2 3 5 8 12 18 27",
        "B": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 1 2 3 5 8 12 18 27 41",
        "C": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 8 12 18 27 41 41",
        "D": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 8 12 18 27 41 41 41",
        "E": "0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 8 12 18 27 41 41 41 41",
        "F": "0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 8 12 18 18 27 41 41 41 41",
        "G": "0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 8 12 18 18 18 27 41 41 41 41",
        "H": "0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 8 12 18 18 18 18 27 41 41 41 41",
        "J": "0 0 0 0 0 0 0 0 0 1 1 2 3 5 8 12 18 18 18 18 18 27 41 41 41 41",
        "K": "0 0 0 0 0 0 0 0 1 1 2 3 5 8 12 18 18 18 18 18 18 27 41 41 41 41",
        "L": "0 0 0 0 0 0 0 1 1 2 3 5 8 12 18 18 18 18 18 18 18 27 41 41 41 41",
        "M": "0 0 0 0 0 0 1 1 2 3 5 8 12 18 18 18 18 18 18 18 18 27 41 41 41 41",
        "N": "0 0 0 0 0 1 1 2 3 5 8 12 18 18 18 18 18 18 18 18 18 27 41 41 41 41",
        "P": "0 0 0 0 1 1 2 3 5 8 12 18 18 18 18 18 18 18 18 18 18 27 41 41 41 41",
        "Q": "0 0 0 1 1 2 3 5 8 12 18 18 18 18 18 18 18 18 18 18 18 27 41 41 41 41",
        "R": "0 0 1 1 2 3 5 8 12 18 18 18 18 18 18 18 18 18 18 18 18 27 41 41 41 41",
    },
    Severity.REDUCED: {
        "C": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 30",
        "D": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 21 30",
        "E": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 14 21 21 21 30",
        "F": "0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 10 14 21 21 21 30",
        "G": "0 0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 10 10 14 21 21 21 30",
        "H": "0 0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 10 10 10 14 21 21 21 30",
        "J": "0 0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 10 10 10 10 14 21 21 21 30",
        "K": "0 0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 10 10 10 10 10 14 21 21 21 30",
        "L": "0 0 0 0 0 0 0 0 1 1 2 3 5 7 10 10 10 10 10 10 10 14 21 21 21 30",
        "M": "0 0 0 0 0 0 0 1 1 2 3 5 7 10 10 10 10 10 10 10 10 14 21 21 21 30",
        "N": "0 0 0 0 0 0 1 1 2 3 5 7 10 10 10 10 10 10 10 10 10 14 21 21 21 30",
        "P": "0 0 0 0 0 1 1 2 3 5 7 10 10 10 10 10 10 10 10 10 10 14 21 21 21 30",
        "Q": "0 0 0 0 1 1 2 3 5 7 10 10 10 10 10 10 10 10 10 10 10 14 21 21 21 30",
        "R": "0 0 0 1 1 2 3 5 7 10 10 10 10 10 10 10 10 10 10 10 10 14 21 21 21 30",
    },
}

NIBS_COLUMNS = ("0.65", "1.0", "1.5", "2.5", "4.0", "6.5", "10", "15")
NIBS_RE = {
    Severity.NORMAL: {
        "A": "- - - - - 1 - -",
        "B": "- - - - 1 - - 2",
        "C": "- - - 1 - - 2 3",
        "D": "- - 1 - - 2 3 4",
        "E": "- 1 - - 2 3 4 6",
        "F": "1 - - 2 3 4 6 8",
        "G": "- - 2 3 4 6 8 11",
        "H": "- 2 3 4 6 8 11 15",
        "J": "2 3 4 6 8 11 15 22",
        "K": "3 4 6 8 11 15 22 -",
        "L": "4 6 8 11 15 22 - -",
        "M": "6 8 11 15 22 - - -",
        "N": "8 11 15 22 - - - -",
        "P": "11 15 22 - - - - -",
        "Q": "15 22 - - - - - -",
    },
    Severity.TIGHTENED: {
        "B": "- - - - - 1 - -",
        "C": "- - - - 1 - - 2",
        "D": "- - - 1 - - 2 3",
        "E": "- - 1 - - 2 3 4",
        "F": "- 1 - - 2 3 4 6",
        "G": "1 - - 2 3 4 6 9",
        "H": "- - 2 3 4 6 9 13",
        "J": "- 2 3 4 6 9 13 19",
        "K": "2 3 4 6 9 13 19 -",
    },
}


def _cells(table: dict[Severity, dict[str, str]]) -> list[tuple[Severity, str, int, str]]:
    return [
        (severity, letter, column, value)
        for severity, rows in table.items()
        for letter, row in rows.items()
        for column, value in enumerate(row.split())
    ]


@pytest.mark.parametrize(("severity", "letter", "column", "ac"), _cells(PLANESMUESTRA_AC))
def test_every_cell_accepts_what_planesmuestra_accepts(
    severity: Severity, letter: str, column: int, ac: str
) -> None:
    assert aql.resolve(severity, letter, column)[1] == int(ac)


@pytest.mark.parametrize(("severity", "letter", "column", "re"), _cells(NIBS_RE))
def test_every_cell_rejects_where_the_nibs_table_rejects(
    severity: Severity, letter: str, column: int, re: str
) -> None:
    table = NORMAL if severity is Severity.NORMAL else TIGHTENED
    cell = table[letter].split()[AQLS.index(NIBS_COLUMNS[column])]
    if re == "-":
        assert cell in ("v", "^")
    else:
        assert cell.split("/")[1] == re


def test_every_row_has_a_cell_per_aql_and_re_follows_ac() -> None:
    for severity in (Severity.NORMAL, Severity.TIGHTENED, Severity.REDUCED):
        for letter, row in aql.master(severity).items():
            cells = row.split()
            assert len(cells) == len(AQLS), letter
            for cell in cells:
                if "/" in cell:
                    ac, re = cell.split("/")
                    assert int(re) == int(ac) + 1, (severity, letter, cell)


TABLE_I = [
    # lot size range, then S-1 S-2 S-3 S-4 I II III (Z1.4-2003 Table I)
    (2, 8, "AAAAAAB"),
    (9, 15, "AAAAABC"),
    (16, 25, "AABBBCD"),
    (26, 50, "ABBCCDE"),
    (51, 90, "BBCCCEF"),
    (91, 150, "BBCDDFG"),
    (151, 280, "BCDEEGH"),
    (281, 500, "BCDEFHJ"),
    (501, 1200, "CCEFGJK"),
    (1201, 3200, "CDEGHKL"),
    (3201, 10000, "CDFGJLM"),
    (10001, 35000, "CDFHKMN"),
    (35001, 150000, "DEGJLNP"),
    (150001, 500000, "DEGJMPQ"),
    (500001, 10**7, "DEHKNQR"),
]


@pytest.mark.parametrize(("low", "high", "letters"), TABLE_I)
def test_table_i_gives_the_code_letter_at_both_ends_of_every_range(
    low: int, high: int, letters: str
) -> None:
    for level, letter in zip(("S-1", "S-2", "S-3", "S-4", "I", "II", "III"), letters, strict=True):
        assert aql.code_letter(low, level) == letter
        assert aql.code_letter(high, level) == letter


@pytest.mark.parametrize(
    ("lot", "level", "aql_", "severity", "expected"),
    [
        # The textbook example: lot 2,000, level II, AQL 1.0.
        (2000, "II", 1.0, Severity.NORMAL, ("K", "K", 125, 3, 4)),
        (2000, "II", 1.0, Severity.TIGHTENED, ("K", "K", 125, 2, 3)),
        (2000, "II", 1.0, Severity.REDUCED, ("K", "K", 50, 1, 2)),
        (500, "II", 2.5, Severity.NORMAL, ("H", "H", 50, 3, 4)),
        (10000, "II", 0.65, Severity.NORMAL, ("L", "L", 200, 3, 4)),
        # Arrows: lot 100 → F (20); up to E (13) at 1.0, down to G (32) at 1.5.
        (100, "II", 0.65, Severity.NORMAL, ("F", "F", 20, 0, 1)),
        (100, "II", 1.0, Severity.NORMAL, ("F", "E", 13, 0, 1)),
        (100, "II", 1.5, Severity.NORMAL, ("F", "G", 32, 1, 2)),
        (100, "S-2", 4.0, Severity.NORMAL, ("B", "B", 3, 0, 1)),
        (1000000, "II", 0.010, Severity.TIGHTENED, ("Q", "R", 2000, 0, 1)),
        (1000000, "III", 0.025, Severity.TIGHTENED, ("R", "S", 3150, 1, 2)),
        (300, "II", 6.5, Severity.REDUCED, ("H", "H", 20, 3, 4)),
    ],
)
def test_published_plans(
    lot: int,
    level: str,
    aql_: float,
    severity: Severity,
    expected: tuple[str, str, int, int, int],
) -> None:
    found = aql.plan(lot, level, aql_, severity)
    assert (found.code_letter, found.letter, found.sample_size, found.ac, found.re) == expected
    assert not found.full


def test_a_sample_as_large_as_the_lot_means_inspecting_every_unit() -> None:
    found = aql.plan(5, "II", "0.010", Severity.NORMAL)
    assert (found.code_letter, found.letter, found.sample_size, found.ac, found.re) == (
        "A", "Q", 5, 0, 1,
    )  # fmt: skip
    assert found.full
    assert found.describe() == (
        "normal, level II, AQL 0.010, code A → Q: 100 % inspection, Ac 0, Re 1"
    )
    assert SAMPLE_SIZES["Q"] == 1250


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: aql.plan(100, "II", 2.0, Severity.NORMAL),
         "AQL 2.0 is not in the Z1.4 tables; use one of " + ", ".join(AQLS)),
        (lambda: aql.plan(100, "IV", 1.0, Severity.NORMAL),
         "inspection level IV is not in Z1.4; use one of S-1, S-2, S-3, S-4, I, II, III"),
        (lambda: aql.plan(1, "II", 1.0, Severity.NORMAL),
         "a lot of 1 cannot be sampled; Z1.4 starts at lots of 2"),
        (lambda: aql.plan(100, "II", 1.0, Severity.DISCONTINUED),
         "inspection is discontinued; quality must reinstate it first"),
    ],
)  # fmt: skip
def test_what_the_tables_do_not_have_is_refused_with_the_choices(
    call: object, message: str
) -> None:
    with pytest.raises(AqlError) as caught:
        call()  # type: ignore[operator]
    assert str(caught.value) == message
