"""Anchors outside the database: a rewritten chain or a cut-off tail, which the chain alone cannot
show, is named by ``ferrule audit verify --anchors``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, select, update
from testdata import NOT_CHECKED

from engine.cli.records import COMMANDS
from engine.infra import audit
from engine.infra.db import Database
from engine.records.events import OutboxEvent
from engine.records.tables import AuditHead, AuditRecord

Invoke = Callable[..., Result]


@click.group()
def ferrule() -> None:
    """The engine's commands alone."""


for _command in COMMANDS:
    ferrule.add_command(_command)


@pytest.fixture
def run(empty_db: Database, tmp_path: Path) -> Invoke:
    url = empty_db.engine.url.render_as_string(hide_password=False)
    env = {"FERRULE_ANCHOR_KEY": str(tmp_path / "anchor.key")}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(ferrule, [*args], env={**env, "FERRULE_DATABASE_URL": url})

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def _record(db: Database, count: int, note: str = "") -> None:
    for n in range(count):
        with db.transaction() as session:
            audit.record(
                session,
                actor="ada",
                action="update",
                entity="lot",
                entity_id=n,
                new={"n": n},
                reason=note,
            )


def _anchored(run: Invoke, db: Database, tmp_path: Path) -> Path:
    anchors = tmp_path / "anchors.jsonl"
    assert run("audit", "keygen").exit_code == 0
    _record(db, 3)
    first = run("audit", "anchor", "--anchors", str(anchors))
    assert first.output == f"anchored record #3 ({_hash(db, 3)[:12]}…) in {anchors}\n"
    _record(db, 2)
    assert run("audit", "anchor", "--anchors", str(anchors)).exit_code == 0
    return anchors


def _hash(db: Database, seq: int) -> str:
    with db.session() as session:
        return str(session.get_one(AuditRecord, seq).hash)


def test_intact_anchors_are_confirmed(run: Invoke, empty_db: Database, tmp_path: Path) -> None:
    anchors = _anchored(run, empty_db, tmp_path)
    public = tmp_path / "anchor.key.pub"
    checked = run("audit", "verify", "--anchors", str(anchors), "--key", str(public))
    assert checked.exit_code == 0
    assert checked.output == (
        "audit trail intact: 7 records; 0 sealed records match their seals\n"
        f"anchors intact: every signed head in {anchors} matches the chain\n"
        f"{NOT_CHECKED}\n"
    )
    assert (tmp_path / "anchor.key").stat().st_mode & 0o777 == 0o600


def test_each_anchor_is_recorded_in_the_trail_and_published(
    run: Invoke, empty_db: Database, tmp_path: Path
) -> None:
    anchors = _anchored(run, empty_db, tmp_path)
    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    with empty_db.session() as session:
        recorded = session.scalars(
            select(AuditRecord).where(AuditRecord.entity == "audit_anchor")
        ).all()
        published = session.scalars(
            select(OutboxEvent.entity_id).where(OutboxEvent.entity == "audit_anchor")
        ).all()
    assert [(r.seq, r.entity_id, json.loads(r.new)) for r in recorded] == [
        (4, "3", lines[0]),
        (7, "6", lines[1]),
    ]
    assert published == ["3", "6"]


def test_a_rewritten_chain_is_named(run: Invoke, empty_db: Database, tmp_path: Path) -> None:
    anchors = _anchored(run, empty_db, tmp_path)
    with empty_db.transaction() as session:  # the whole chain rewritten, head included
        session.execute(delete(AuditRecord))
        session.execute(delete(AuditHead))
        session.execute(delete(OutboxEvent))
    _record(empty_db, 7, note="rewritten")
    assert run("audit", "verify").output == (
        "audit trail intact: 7 records; 0 sealed records match their seals\n"
        "not checked: a rewrite of the whole chain together with its head, or a cut-off tail "
        "(run with --anchors FILE --key KEY to check them against signed heads)\n"
        f"{NOT_CHECKED}\n"
    )
    checked = run("audit", "verify", "--anchors", str(anchors))
    assert checked.exit_code == 1
    problems = [line for line in checked.output.splitlines() if line.startswith("anchor broken")]
    assert [p.split(" (")[-1] for p in problems] == ["the chain was rewritten)"] * 2
    assert problems[0].startswith(f"anchor broken: {anchors}:1: record #3 is not the one anchored")


def test_a_cut_off_tail_is_named(run: Invoke, empty_db: Database, tmp_path: Path) -> None:
    anchors = _anchored(run, empty_db, tmp_path)
    with empty_db.transaction() as session:  # the last two rows gone, the head moved back
        session.execute(delete(AuditRecord).where(AuditRecord.seq > 3))
        session.execute(update(AuditHead).values(seq=3, hash=_hash(empty_db, 3)))
    assert run("audit", "verify").exit_code == 0
    checked = run("audit", "verify", "--anchors", str(anchors))
    assert checked.exit_code == 1
    (problem,) = [line for line in checked.output.splitlines() if "anchor broken" in line]
    assert problem.startswith(f"anchor broken: {anchors}:2: the chain ends at record #3, but ")
    assert problem.endswith("(its tail was cut off)")


def test_an_altered_anchor_is_refused(run: Invoke, empty_db: Database, tmp_path: Path) -> None:
    anchors = _anchored(run, empty_db, tmp_path)
    first, second = anchors.read_text().splitlines()
    forged = {**json.loads(second), "seq": 4, "hash": _hash(empty_db, 4)}
    anchors.write_text(first + "\n" + json.dumps(forged) + "\nnot json\n")
    checked = run("audit", "verify", "--anchors", str(anchors))
    assert checked.exit_code == 1
    assert [line for line in checked.output.splitlines() if "anchor broken" in line] == [
        f"anchor broken: {anchors}:2: its signature does not match "
        "(the anchor was altered or forged)",
        f"anchor broken: {anchors}:3: it is not an anchor line",
    ]


def test_keygen_never_overwrites_a_key(run: Invoke) -> None:
    assert run("audit", "keygen").exit_code == 0
    again = run("audit", "keygen")
    assert again.exit_code == 2
    assert "exists; Ferrule never overwrites a signing key" in again.output
