"""The tables of ANSI/ASQ Z1.4-2003 (R2018) single sampling, as data: Table I (sample size code
letters) and the master tables II-A (normal), II-B (tightened) and II-C (reduced).

Z1.4-2003 is MIL-STD-105E with two changes that matter here: the reduced table has no gap between
the acceptance and the rejection number (Re = Ac + 1 everywhere; 105E had 0/2, 1/3, 1/4, 2/5 ...),
and normal → reduced switching uses the switching score (see :mod:`engine.floor.aql`). ISO
2859-1:1999 has the same single sampling tables. This module follows Z1.4-2003.

A master-table cell is ``Ac/Re``, ``v`` (use the first plan below the arrow) or ``^`` (the first
plan above). Three cells of the printed tables show an arrow that points off the table: II-A row A
under AQL 10 (↑) and row R under 0.015 (↓), and II-C has no plan in the 0.010 column above row R.
They are read as the only plan in their column that exists (row A → the plan below, row R → the
plan above, II-C R/0.010 → 0/1 on 800), as the transcription cross-checked below reads them. II-B
has a row S (3150): the target of row R's arrow under 0.025. Rows A and B of II-C (sample size 2,
like row C) point down to row C.

Cross-checked, every cell, against (tests/engine/test_engine_aql_tables.py holds both):
- the R package Planesmuestra (CRAN, ``data/milstd105eplans.rda``, ``data/code_letter.rda``):
  Table I and the acceptance number of every cell of II-A, II-B and II-C (arrows resolved), for
  II-C rows C to R (its rows A and B contradict its own row C, both having n = 2);
- the MIL-STD-105E level II tables of the US National Institute of Building Sciences
  (``AC-TABLE.ASC``, Tables 1-A and 1-B): rejection numbers and arrows of II-A rows A to Q and
  II-B rows B to K, AQL 0.65 to 15 (both show row A of II-B without a plan up to AQL 15);
- the worked examples of the Z1.4 user literature (test file).
"""

from __future__ import annotations

from typing import Final

from dsl.model import AQL_LEVELS
from dsl.model import AQLS as PRINTED_AQLS

AQLS: Final = PRINTED_AQLS
"""The AQLs of the master tables, in percent nonconforming (≤ 10) or nonconformities per 100
units, as printed; a table row lists one cell per AQL in this order (declared with the plant
language, which checks ``sample: {aql: ...}`` against them)."""

LEVELS: Final = AQL_LEVELS

LOT_SIZES: Final = (
    (8, "AAAAAAB"),
    (15, "AAAAABC"),
    (25, "AABBBCD"),
    (50, "ABBCCDE"),
    (90, "BBCCCEF"),
    (150, "BBCDDFG"),
    (280, "BCDEEGH"),
    (500, "BCDEFHJ"),
    (1200, "CCEFGJK"),
    (3200, "CDEGHKL"),
    (10000, "CDFGJLM"),
    (35000, "CDFHKMN"),
    (150000, "DEGJLNP"),
    (500000, "DEGJMPQ"),
    (None, "DEHKNQR"),
)
"""Table I: the largest lot size of each range (None: 500,001 and over) and the code letter for
each level of :data:`LEVELS`, in that order. The smallest lot is 2."""

SAMPLE_SIZES: Final = {
    "A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50, "J": 80, "K": 125,
    "L": 200, "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000, "S": 3150,
}  # fmt: skip
"""Sample sizes of normal and tightened inspection (S only in II-B)."""

REDUCED_SAMPLE_SIZES: Final = {
    "A": 2, "B": 2, "C": 2, "D": 3, "E": 5, "F": 8, "G": 13, "H": 20, "J": 32, "K": 50, "L": 80,
    "M": 125, "N": 200, "P": 315, "Q": 500, "R": 800,
}  # fmt: skip
"""Sample sizes of reduced inspection (Table II-C)."""

NORMAL: Final = {
    "A": "v v v v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31",
    "B": "v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45",
    "C": "v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^",
    "D": "v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^",
    "E": "v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^ ^",
    "F": "v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^",
    "G": "v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^",
    "H": "v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^",
    "J": "v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "K": "v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "L": "v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "M": "v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "N": "v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "P": "v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "Q": "0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "R": "^ ^ 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
}
"""Table II-A, single sampling plans for normal inspection."""

TIGHTENED: Final = {
    "A": "v v v v v v v v v v v v v v v v v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28",
    "B": "v v v v v v v v v v v v v v 0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42",
    "C": "v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^",
    "D": "v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^ ^",
    "E": "v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^ ^ ^",
    "F": "v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^",
    "G": "v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^",
    "H": "v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^",
    "J": "v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "K": "v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "L": "v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "M": "v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "N": "v v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "P": "v v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "Q": "v 0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "R": "0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "S": "^ ^ 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
}
"""Table II-B, single sampling plans for tightened inspection."""

REDUCED: Final = {
    "A": "v v v v v v v v v v v v v v v v v v v v v v v v v v",
    "B": "v v v v v v v v v v v v v v v v v v v v v v v v v v",
    "C": "v v v v v v v v v v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31",
    "D": "v v v v v v v v v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^",
    "E": "v v v v v v v v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^",
    "F": "v v v v v v v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^",
    "G": "v v v v v v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^",
    "H": "v v v v v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^ ^",
    "J": "v v v v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "K": "v v v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "L": "v v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "M": "v v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "N": "v v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "P": "v v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "Q": "v v 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "R": "0/1 0/1 0/1 1/2 1/2 2/3 3/4 5/6 7/8 10/11 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
}
"""Table II-C, single sampling plans for reduced inspection (Z1.4-2003: Re = Ac + 1)."""
