"""``ferrule erp watch DIR``: dropped documents are imported, then moved to done/ or, with every
problem in a .errors.txt, to failed/."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.erp import process_folder
from engine.facade.erp import Erp
from engine.infra.db import Database
from web.cli import cli

DOCUMENTS = Path(__file__).parent / "data" / "b2mml"
SUPERVISOR = "sam"  # a supervisor of the ``users`` fixture


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """The folder the ERP drops its files into."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def drop(folder: Path, name: str, data: bytes, age_s: int = 0) -> Path:
    path = folder / name
    path.write_bytes(data)
    stamp = path.stat().st_mtime - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_a_round_imports_good_files_and_explains_refused_ones(
    db: Database, plant: object, users: object, inbox: Path
) -> None:
    good = (DOCUMENTS / "schedule-two-orders.xml").read_bytes()
    drop(inbox, "week49.xml", good, age_s=30)
    drop(inbox, "bad.xml", (DOCUMENTS / "schedule-with-mistakes.xml").read_bytes(), age_s=20)
    drop(inbox, "rush.json", b'{"orders": [{"id": "R-1", "material": "4711-HA100"', age_s=10)
    drop(inbox, ".incoming.xml", good)
    drop(inbox, "notes.txt", b"not a document")

    outcomes = process_folder(Erp(db), inbox, SUPERVISOR)

    assert [(o.file, o.moved_to.parent.name) for o in outcomes] == [
        ("week49.xml", "done"),
        ("bad.xml", "failed"),
        ("rush.json", "failed"),
    ]
    assert outcomes[0].summary.startswith("2 new of 2 orders (1000045 → WO")
    errors = (inbox / "failed" / "bad.xml.errors.txt").read_text().splitlines()
    assert len(errors) == 5
    assert errors[0].startswith("line 24: ProductionRequest 2000003's EndTime")
    assert (inbox / "failed" / "rush.json.errors.txt").read_text() == (
        "Not valid JSON: Expecting ',' delimiter: line 1 column 51 (char 50).\n"
    )
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [
        ".incoming.xml",
        "notes.txt",
    ]


def test_the_same_file_again_lands_in_done_under_a_new_name(
    db: Database, plant: object, users: object, inbox: Path
) -> None:
    document = json.dumps({"orders": [{"id": "R-2", "material": "4711-HA100", "quantity": 1}]})
    erp = Erp(db)
    drop(inbox, "rush.json", document.encode())
    (first,) = process_folder(erp, inbox, SUPERVISOR)
    drop(inbox, "rush.json", document.encode())
    (again,) = process_folder(erp, inbox, SUPERVISOR)

    assert (first.moved_to.name, again.moved_to.name) == ("rush.json", "rush.1.json")
    assert again.summary.startswith("0 new of 1 orders (R-2 → WO")


def test_ferrule_erp_watch_once_prints_what_became_of_each_file(
    db: Database, plant: object, users: object, inbox: Path
) -> None:
    drop(inbox, "bad.xml", b"<ProductionRequest/>")
    url = db.engine.url.render_as_string(hide_password=False)

    result = CliRunner().invoke(
        cli,
        ["erp", "watch", str(inbox), "--once", "--by", SUPERVISOR, "--database-url", url],
        catch_exceptions=False,
    )

    assert result.exit_code == 0
    assert result.output == (
        "bad.xml: refused: 1 problem(s)\n"
        "  line 1: its root element is ProductionRequest; expected ProductionSchedule or "
        "ProductionRequest in the namespace http://www.mesa.org/xml/B2MML.\n"
    )
