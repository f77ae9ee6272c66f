"""Genealogy over four levels of sub-assemblies, through split and merged lots: the results of
the recursive trace queries pinned on a small tree (built through the engine's own flows)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from engine.access import people
from engine.commands import materials, versions
from engine.commands.bom import ConsumptionInput
from engine.errors import NotFound
from engine.facade.audit import AuditTrail
from engine.facade.materials import Materials
from engine.facade.production import Ferrule
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from engine.records.tables import User

PLANT = Path(__file__).parent / "plants" / "fourlevel"
BELOW = {"BRANCH": "MODULE", "LOOM": "BRANCH", "HARNESS": "LOOM"}


class Tree:
    """Two harnesses, each HARNESS > LOOM > BRANCH > MODULE:

    - module M001 draws resin lot R-1, M002 the lot R-1S split from it;
    - both branches draw solder P-1, and so does harness H001 directly;
    - loom L001 draws screws S-M, merged from S-A and S-B; L002 draws S-C;
    - both harnesses draw wire W-1.
    """

    def __init__(self, db: Database) -> None:
        self.engine = Ferrule(db, StaticTagSource())
        stores = Materials(db)
        stores.split(
            actor="sam", part="RESIN", lot="R-1", quantity=4.0, new_number="R-1S",
            reason="half to line 2",
        )  # fmt: skip
        stores.merge(
            actor="sam", part="SCREW", lots_merged=["S-A", "S-B"], new_number="S-M",
            reason="one box",
        )  # fmt: skip
        modules = [self.make("MODULE", ("RESIN", lot)) for lot in ("R-1", "R-1S")]
        branches = [self.make("BRANCH", ("SOLDER", "P-1"), below=m) for m in modules]
        looms = [
            self.make("LOOM", ("SCREW", lot), below=b)
            for lot, b in zip(("S-M", "S-C"), branches, strict=True)
        ]
        self.harnesses = [
            self.make("HARNESS", ("WIRE", "W-1"), ("SOLDER", "P-1"), below=looms[0]),
            self.make("HARNESS", ("WIRE", "W-1"), ("SOLDER", "P-2"), below=looms[1]),
        ]

    def make(self, product: str, *lots: tuple[str, str], below: str | None = None) -> str:
        consume = [ConsumptionInput(part, lot) for part, lot in lots]
        if below is not None:
            consume.insert(0, ConsumptionInput(BELOW[product], below))
        order = self.engine.create_work_order(actor="sam", product=product, quantity=1)
        (unit,) = self.engine.release_work_order(actor="sam", number=order.number).items
        self.engine.start_operation(actor="olga", item=unit, operation="build")
        self.engine.complete_operation(actor="olga", item=unit, operation="build", consume=consume)
        return unit


@pytest.fixture
def tree(db: Database, password_hash: str) -> Tree:
    versions.deploy(db, PLANT, actor="admin")
    _, plant = versions.active_plant(db)
    with db.transaction() as session:
        for name, role in (("olga", "operator"), ("sam", "supervisor")):
            people.create_user(session, name, actor="setup")
            people.grant_role(session, name, role, actor="setup", plant=plant)
        session.execute(update(User).values(password_hash=password_hash))
        for part, lot, quantity in (
            ("RESIN", "R-1", 10.0), ("SOLDER", "P-1", 10.0), ("SOLDER", "P-2", 10.0),
            ("SCREW", "S-A", 8.0), ("SCREW", "S-B", 8.0), ("SCREW", "S-C", 8.0),
            ("WIRE", "W-1", 10.0),
        ):  # fmt: skip
            materials.receive_lot(session, plant, part, lot, quantity, actor="setup")
    return Tree(db)


def used_in(tree: Tree, part: str, lot: str) -> list[tuple[str, int, str | None]]:
    return [(u.number, u.depth, u.via) for u in tree.engine.where_used(part, lot)]


def test_a_recall_goes_through_a_split_lot_and_up_three_levels(tree: Tree, db: Database) -> None:
    assert used_in(tree, "RESIN", "R-1") == [
        ("M001", 1, None),
        ("M002", 1, None),
        ("B001", 2, "M001"),
        ("B002", 2, "M002"),
        ("L001", 3, "B001"),
        ("L002", 3, "B002"),
        ("H001", 4, "L001"),
        ("H002", 4, "L002"),
    ]
    assert used_in(tree, "RESIN", "R-1S") == [
        ("M002", 1, None),
        ("B002", 2, "M002"),
        ("L002", 3, "B002"),
        ("H002", 4, "L002"),
    ]
    assert AuditTrail(db).verify().ok


def test_a_recall_of_a_merged_lot_finds_what_the_merge_went_into(tree: Tree) -> None:
    assert used_in(tree, "SCREW", "S-B") == [("L001", 1, None), ("H001", 2, "L001")]
    assert used_in(tree, "SCREW", "S-C") == [("L002", 1, None), ("H002", 2, "L002")]


def test_an_item_that_drew_the_lot_itself_is_listed_once_at_depth_one(tree: Tree) -> None:
    assert used_in(tree, "SOLDER", "P-1") == [
        ("B001", 1, None),
        ("B002", 1, None),
        ("H001", 1, None),
        ("L001", 2, "B001"),
        ("L002", 2, "B002"),
        ("H002", 3, "L002"),
    ]


def test_a_recall_of_an_unknown_lot_says_what_to_check(tree: Tree) -> None:
    with pytest.raises(NotFound) as error:
        tree.engine.where_used("SOLDER", "P-9")
    assert str(error.value) == "There is no lot 'P-9' of part 'SOLDER'; check the lot label."


def test_a_backward_trace_goes_down_four_levels_to_every_lot(tree: Tree, db: Database) -> None:
    trace = tree.engine.genealogy("H001")
    assert [(i.number, i.depth, i.parent) for i in trace.items] == [
        ("H001", 0, None),
        ("L001", 1, "H001"),
        ("B001", 2, "L001"),
        ("M001", 3, "B001"),
    ]
    assert sorted((lot.part, lot.lot, lot.used_by) for lot in trace.lots) == [
        ("RESIN", "R-1", "M001"),
        ("SCREW", "S-M", "L001"),
        ("SOLDER", "P-1", "B001"),
        ("SOLDER", "P-1", "H001"),
        ("WIRE", "W-1", "H001"),
    ]
    assert sorted(r.item for r in trace.runs) == ["B001", "H001", "L001", "M001"]
    assert AuditTrail(db).verify().ok
