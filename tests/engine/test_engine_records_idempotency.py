"""Idempotency keys: a replay returns the stored result, a reused key with another request fails."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, Invalid
from engine.infra import audit
from engine.infra.db import Database
from engine.infra.idempotency import fingerprint, run_once
from engine.records.tables import AuditRecord


@dataclass(frozen=True)
class Receipt:
    seq: int
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "note": self.note}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Receipt:
        return cls(data["seq"], data["note"])


def _command(db: Database, key: str | None, note: str) -> Receipt:
    """A command that appends one audit row and returns a receipt."""
    with db.transaction() as session:

        def work() -> Receipt:
            return Receipt(
                audit.record(
                    session,
                    actor="ada",
                    action="note",
                    entity="memo",
                    entity_id=1,
                    new={"n": note},
                ),
                note,
            )

        request = fingerprint("note", {"note": note})
        return run_once(session, key, "note", request, work, load=Receipt.from_json)


def _rows(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def test_a_replay_returns_the_stored_result_without_running_again(db: Database) -> None:
    first = _command(db, "k-1", "hello")
    again = _command(db, "k-1", "hello")
    assert again == first == Receipt(1, "hello")
    assert _rows(db) == 1


def test_without_a_key_every_call_runs(db: Database) -> None:
    assert _command(db, None, "hello") == Receipt(1, "hello")
    assert _command(db, None, "hello") == Receipt(2, "hello")
    assert _rows(db) == 2


def test_reusing_a_key_for_another_request_is_refused(db: Database) -> None:
    _command(db, "k-1", "hello")
    with pytest.raises(Conflict) as caught:
        _command(db, "k-1", "goodbye")
    assert caught.value.message == (
        "idempotency key reused with a different request: key 'k-1' was first used for 'note'; "
        "send a new key for a new request."
    )
    assert caught.value.code == "idempotency_key_reused"
    assert _rows(db) == 1


def test_a_failed_command_stores_no_key(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:

        def fail() -> Receipt:
            raise RuntimeError("boom")

        run_once(session, "k-2", "note", "f", fail, load=Receipt.from_json)
    assert _command(db, "k-2", "hello") == Receipt(1, "hello")


def test_an_empty_key_is_invalid(db: Database) -> None:
    with pytest.raises(Invalid) as caught:
        _command(db, "", "hello")
    assert caught.value.message == (
        "The idempotency key must be 1 to 200 characters long; send a UUID."
    )
    assert caught.value.field == "idempotency_key"


def test_fingerprints_ignore_argument_order_but_not_values() -> None:
    assert fingerprint("c", {"a": 1, "b": 2}) == fingerprint("c", {"b": 2, "a": 1})
    assert fingerprint("c", {"a": 1}) != fingerprint("c", {"a": 2})
    assert fingerprint("c", {"a": 1}) != fingerprint("d", {"a": 1})
