"""The transactional outbox: an event beside every published audit row, in the same
transaction; and its delivery bookkeeping (cursors, dead letters, replay, retention)."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import func, select

from engine.commands import events
from engine.commands.events import Event
from engine.errors import Conflict, NotFound
from engine.facade.audit import AuditTrail
from engine.facade.events import Events
from engine.infra import audit
from engine.infra.db import Database
from engine.infra.outbox import EVENT_SCHEMA, PUBLISHED
from engine.records.events import OutboxEvent
from engine.records.tables import AuditRecord

DOCS_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "events.schema.json"


class Boom(Exception):
    """Rolls a test transaction back."""


def all_events(db: Database) -> list[Event]:
    return Events(db).pending("everything", 100_000)


def test_every_floor_change_others_care_about_is_an_event_in_commit_order(line: Line) -> None:
    (unit,) = line.release(1)
    line.cut(unit)
    line.engine.hold(actor=line.supervisor, item=unit, reason="Check the wire")
    found = all_events(line.engine.db)
    kinds = [(e.entity, e.action) for e in found]
    assert ("work_order", "create") in kinds
    assert ("item", "start") in kinds and ("item", "complete") in kinds
    assert kinds[-1] == ("item", "hold")
    assert kinds.count(("lot", "consume")) >= 1
    with line.engine.db.session() as session:
        published = session.scalars(
            select(AuditRecord.seq)
            .where(AuditRecord.entity.in_(PUBLISHED))
            .order_by(AuditRecord.seq)
        ).all()
    assert [e.seq for e in found] == published
    assert len({e.event_id for e in found}) == len(found)
    hold = json.loads(found[-1].payload)
    jsonschema.validate(hold, EVENT_SCHEMA)
    assert (hold["type"], hold["entity_id"], hold["actor"], hold["reason"]) == (
        "item.hold",
        unit,
        line.supervisor,
        "Check the wire",
    )
    assert (hold["old"]["status"], hold["new"]["status"]) == ("queued", "on_hold")
    assert hold["id"] == found[-1].event_id and hold["seq"] == found[-1].seq
    assert AuditTrail(line.engine.db).verify().ok


def test_a_rolled_back_change_leaves_no_event_and_people_stay_private(db: Database) -> None:
    with pytest.raises(Boom), db.transaction() as session:
        audit.record(session, actor="x", action="release", entity="work_order", entity_id="WO-1")
        raise Boom
    with db.transaction() as session:
        audit.record(session, actor="x", action="create", entity="user", entity_id="olga")
        audit.record(session, actor="x", action="release", entity="work_order", entity_id="WO-2")
    (event,) = all_events(db)
    assert (event.entity_id, event.seq) == ("WO-2", 2)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 1
    assert AuditTrail(db).verify().ok


def test_the_published_schema_is_the_one_the_payloads_follow() -> None:
    assert json.loads(DOCS_SCHEMA.read_text()) == EVENT_SCHEMA
    jsonschema.Draft202012Validator.check_schema(EVENT_SCHEMA)


def _three_events(db: Database) -> list[Event]:
    with db.transaction() as session:
        for number in ("WO-1", "WO-2", "WO-3"):
            audit.record(
                session, actor="x", action="release", entity="work_order", entity_id=number
            )
    return all_events(db)


def test_a_sink_moves_its_own_cursor_forward_only(db: Database) -> None:
    first, second, third = _three_events(db)
    outbox = Events(db)
    assert [e.seq for e in outbox.pending("mqtt", 2)] == [first.seq, second.seq]
    outbox.delivered("mqtt", second.seq)
    outbox.delivered("mqtt", first.seq)  # a late acknowledgement never moves it back
    assert outbox.cursor("mqtt") == second.seq
    assert outbox.pending("mqtt", 10) == [third]
    assert len(outbox.pending("webhook", 10)) == 3


def test_after_a_new_connection_delivery_starts_again_from_the_settled_point(
    db: Database,
) -> None:
    first, second, third = _three_events(db)
    outbox = Events(db)
    assert outbox.rewind("mqtt") == 0  # nothing delivered yet
    outbox.delivered("mqtt", first.seq, settle=dt.timedelta(0))
    outbox.delivered("mqtt", second.seq, settle=dt.timedelta(0))  # first is settled now
    outbox.delivered("mqtt", third.seq)  # second would settle only 10 s after it was delivered
    assert outbox.cursor("mqtt") == third.seq
    assert outbox.rewind("mqtt") == first.seq
    assert outbox.pending("mqtt", 10) == [second, third]  # sent again, with the same ids


def test_dead_letters_are_replayed_once_on_an_admins_request(db: Database) -> None:
    first, _second, _third = _three_events(db)
    outbox = Events(db)
    outbox.give_up("webhook", first, attempts=6, error="HTTP 503 Service Unavailable")
    assert outbox.cursor("webhook") == first.seq
    (letter,) = outbox.dead_letters()
    assert (letter.event_id, letter.entity_id, letter.status, letter.error) == (
        first.event_id,
        "WO-1",
        "dead",
        "HTTP 503 Service Unavailable",
    )
    assert outbox.replays("webhook") == []
    outbox.replay(letter.id, actor="ada")
    assert outbox.replays("webhook") == [(letter.id, first)]
    with pytest.raises(Conflict) as again:
        outbox.replay(letter.id, actor="ada")
    assert again.value.message == (
        f"Dead letter #{letter.id} is already queued for replay; reload the list."
    )
    with pytest.raises(NotFound) as missing:
        outbox.replay(999, actor="ada")
    assert missing.value.message == "There is no dead letter #999; reload the list."
    outbox.replayed(letter.id, error="HTTP 500 Internal Server Error", attempts=6)
    assert outbox.dead_letters()[0].status == "dead"
    assert outbox.dead_letters()[0].attempts == 12
    outbox.replay(letter.id, actor="ada")
    outbox.replayed(letter.id, error="", attempts=1)
    assert (outbox.dead_letters()[0].status, outbox.dead_letters()[0].replayed_by) == (
        "delivered",
        "ada",
    )
    with db.session() as session:
        requests = audit.history(session, "event_dead_letter", letter.id)
    assert [(r["actor"], r["new"]["status"]) for r in requests] == [("ada", "replay")] * 2
    assert outbox.replays("webhook") == []  # delivered: not replayed again
    assert AuditTrail(db).verify().ok


def test_retention_deletes_only_what_every_sink_delivered_and_no_dead_letter_holds(
    db: Database,
) -> None:
    first, second, third = _three_events(db)
    outbox = Events(db)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert outbox.prune(["mqtt", "webhook"], before=later) == 0  # nobody delivered yet
    now = dt.timedelta(0)  # settled as soon as the next event is delivered
    outbox.delivered("mqtt", second.seq, settle=now)
    outbox.delivered("mqtt", third.seq, settle=now)
    outbox.give_up("webhook", first, attempts=6, error="HTTP 500")
    outbox.delivered("webhook", second.seq, settle=now)
    assert outbox.prune(["mqtt", "webhook"], before=later) == 0  # second is not settled yet
    outbox.delivered("webhook", third.seq, settle=now)
    assert outbox.prune(["mqtt", "webhook"], before=later - dt.timedelta(days=2)) == 0
    assert outbox.prune(["mqtt", "webhook"], before=later) == 1  # second; first is dead
    assert [e.seq for e in all_events(db)] == [first.seq, third.seq]
    with db.session() as session:
        assert [d.seq for d in events.dead_letters(session)] == [first.seq]
