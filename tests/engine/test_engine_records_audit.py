"""The audit trail: hash-chained appends, and verify naming an edited, inserted or deleted row."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select, text

from engine.infra import audit
from engine.infra.db import Database
from engine.records.base import Base


def _seed(db: Database, count: int) -> None:
    for n in range(1, count + 1):
        with db.transaction() as session:
            audit.record(
                session,
                actor="ada",
                action="update",
                entity="lot",
                entity_id=n,
                old={"status": "available"},
                new={"status": "on_hold"},
                reason=f"reason {n}",
            )


def _verify(db: Database) -> audit.Verdict:
    with db.session() as session:
        return audit.verify(session)


def _row(db: Database, seq: int) -> dict[str, Any]:
    table = Base.metadata.tables["audit_log"]
    with db.session() as session:
        return dict(session.execute(select(table).where(table.c.seq == seq)).mappings().one())


def _sql(db: Database, *statements: str) -> None:
    with db.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_an_untouched_chain_verifies(db: Database) -> None:
    _seed(db, 4)
    verdict = _verify(db)
    assert verdict.describe() == "audit trail intact: 4 records; 0 sealed records match their seals"
    assert verdict.ok


def test_an_empty_chain_verifies(db: Database) -> None:
    assert (
        _verify(db).describe()
        == "audit trail intact: 0 records; 0 sealed records match their seals"
    )


def test_record_stores_who_what_old_new_and_why(db: Database) -> None:
    with db.transaction() as session:
        seq = audit.record(
            session,
            actor="ada",
            action="hold",
            entity="lot",
            entity_id=7,
            old={"status": "available"},
            new={"status": "on_hold"},
            reason="supplier recall",
        )
    with db.session() as session:
        (row,) = audit.history(session, "lot", 7)
    assert seq == 1
    assert (row["actor"], row["action"], row["reason"]) == ("ada", "hold", "supplier recall")
    assert (row["old"], row["new"]) == ({"status": "available"}, {"status": "on_hold"})
    assert row["prev_hash"] == ""
    assert row["at"].tzinfo is not None


def test_an_edited_row_is_named(db: Database) -> None:
    _seed(db, 4)
    _sql(db, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2")
    verdict = _verify(db)
    assert not verdict.ok
    assert verdict.seq == 2
    assert verdict.describe() == (
        "audit trail broken: record #2 was edited (its content no longer matches its hash)"
    )


def test_an_edit_with_a_recomputed_hash_is_caught_at_the_next_link(db: Database) -> None:
    _seed(db, 4)
    row = _row(db, 2)
    row["reason"] = "nothing to see"
    forged = audit.row_hash(row)
    _sql(db, f"UPDATE audit_log SET reason = 'nothing to see', hash = '{forged}' WHERE seq = 2")
    assert _verify(db).describe() == (
        "audit trail broken: record #3 does not link to record #2: a record between them was "
        "deleted, or #2 was replaced"
    )


def test_a_deleted_row_is_named(db: Database) -> None:
    _seed(db, 4)
    _sql(db, "DELETE FROM audit_log WHERE seq = 2")
    verdict = _verify(db)
    assert verdict.seq == 2
    assert verdict.describe() == "audit trail broken: record #2 was deleted"


def test_deleting_the_last_row_is_named(db: Database) -> None:
    _seed(db, 4)
    _sql(db, "DELETE FROM audit_log WHERE seq = 4")
    assert _verify(db).describe() == "audit trail broken: record #4 was deleted"


def test_a_row_inserted_at_the_end_is_named(db: Database) -> None:
    _seed(db, 3)
    last = _row(db, 3)["hash"]
    _sql(
        db,
        "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, old, new, reason, "
        f"prev_hash, hash) VALUES (4, '2026-01-01 00:00:00', 'eve', 'release', 'lot', '1', "
        f"'null', 'null', '', '{last}', 'abc')",
    )
    verdict = _verify(db)
    assert verdict.seq == 4
    assert verdict.describe() == (
        "audit trail broken: record #4 was inserted (the chain's recorded end is #3)"
    )


@pytest.mark.parametrize("valid_hash", [False, True])
def test_a_row_inserted_in_the_middle_is_named(db: Database, valid_hash: bool) -> None:
    _seed(db, 4)
    prev = _row(db, 2)
    at = prev["at"]
    forged = {
        "seq": 3,
        "at": at,
        "actor": "eve",
        "action": "release",
        "entity": "lot",
        "entity_id": "1",
        "old": "null",
        "new": "null",
        "reason": "",
        "prev_hash": prev["hash"],
    }
    digest = audit.row_hash(forged) if valid_hash else "0" * 64
    _sql(
        db,
        "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3",
        "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000",
        "UPDATE audit_head SET seq = seq + 1",
    )
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, old, new, "
                "reason, prev_hash, hash) VALUES (:seq, :at, :actor, :action, :entity, "
                ":entity_id, :old, :new, :reason, :prev_hash, :hash)"
            ),
            {**forged, "at": at.replace(tzinfo=None), "hash": digest},
        )
    verdict = _verify(db)
    assert verdict.seq == 3
    expected = (
        "record #3 was inserted (record #4 links back to #2, past it)"
        if valid_hash
        else "record #3 was inserted (record #4 links past it)"
    )
    assert verdict.describe() == f"audit trail broken: {expected}"


def test_concurrent_appends_keep_one_unbroken_chain(db: Database) -> None:
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for n in range(10):
                with db.transaction() as session:
                    audit.record(
                        session, actor=f"w{worker}", action="tick", entity="counter", entity_id=n
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert (
        _verify(db).describe()
        == "audit trail intact: 40 records; 0 sealed records match their seals"
    )
