"""Audit trail review: search by record, user, action and time, page by page, and CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from engine.errors import Invalid
from engine.facade.audit import AuditTrail
from engine.infra import audit
from engine.infra.db import Database
from engine.queries.audit_trail import AuditFilter

JAN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
FEB = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def _change(
    db: Database,
    actor: str,
    action: str,
    record: tuple[str, str],
    old: str | None,
    new: str,
    reason: str = "",
) -> None:
    with db.transaction() as session:
        before = None if old is None else {"status": old}
        entity, entity_id = record
        audit.record(
            session, actor=actor, action=action, entity=entity, entity_id=entity_id, old=before,
            new={"status": new}, reason=reason,
        )  # fmt: skip


def _seeded(db: Database) -> AuditTrail:
    _change(db, "ada", "receive", ("lot", "W-001"), None, "available")
    _change(db, "quinn", "hold", ("lot", "W-001"), "available", "on_hold")
    _change(db, "sam", "release", ("work_order", "WO-7"), None, "released")
    _change(db, "quinn", "release", ("lot", "W-001"), "on_hold", "available")
    return AuditTrail(db)


def test_search_by_record_gives_its_rows_newest_first_with_values(db: Database) -> None:
    trail = _seeded(db)
    rows = trail.search(AuditFilter(entity="lot", entity_id="W-001"))
    assert [(r.seq, r.actor, r.action, r.old, r.new) for r in rows] == [
        (4, "quinn", "release", {"status": "on_hold"}, {"status": "available"}),
        (2, "quinn", "hold", {"status": "available"}, {"status": "on_hold"}),
        (1, "ada", "receive", None, {"status": "available"}),
    ]


def test_search_by_user_and_action_and_time(db: Database) -> None:
    trail = _seeded(db)
    assert [r.seq for r in trail.search(AuditFilter(actor="quinn"))] == [4, 2]
    assert [r.seq for r in trail.search(AuditFilter(action="release"))] == [4, 3]
    third = trail.search(AuditFilter(entity="work_order"))[0].at
    later = trail.search(AuditFilter(since=third + dt.timedelta(microseconds=1)))
    assert all(r.at > third for r in later)
    assert 3 not in [r.seq for r in later]
    assert [r.seq for r in trail.search(AuditFilter(until=third))] == [
        r.seq for r in trail.search(AuditFilter()) if r.at < third
    ]


def test_pages_follow_on_without_gaps_or_repeats(db: Database) -> None:
    trail = _seeded(db)
    first = trail.search(AuditFilter(), limit=3)
    rest = trail.search(AuditFilter(), before=first[-1].seq, limit=3)
    assert [r.seq for r in first] + [r.seq for r in rest] == [4, 3, 2, 1]


def test_csv_export_has_every_row_and_defuses_formulas(db: Database) -> None:
    trail = _seeded(db)
    _change(db, "ada", "scrap", ("lot", "W-002"), None, "scrapped", reason="=HYPERLINK(1)")
    rows = list(csv.reader(io.StringIO("".join(trail.csv(AuditFilter(entity="lot"))))))
    assert rows[0] == [
        "seq",
        "at",
        "actor",
        "action",
        "entity",
        "entity_id",
        "old",
        "new",
        "reason",
    ]
    assert [r[0] for r in rows[1:]] == ["5", "4", "2", "1"]
    assert rows[1][2:] == [
        "ada",
        "scrap",
        "lot",
        "W-002",
        "null",
        '{"status": "scrapped"}',
        "'=HYPERLINK(1)",
    ]


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"entity_id": "W-001"}, "Name the kind of record (entity) to search by its id."),
        (
            {
                "since": dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
                "until": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            },
            "The start of the period must come before its end.",
        ),
    ],
)
def test_a_filter_that_cannot_match_is_refused(criteria: dict[str, object], message: str) -> None:
    with pytest.raises(Invalid) as refused:
        AuditFilter(**criteria)  # type: ignore[arg-type]
    assert refused.value.message == message


def test_a_page_size_out_of_range_is_refused(db: Database) -> None:
    with pytest.raises(Invalid) as refused:
        AuditTrail(db).search(AuditFilter(), limit=5000)
    assert refused.value.message == "Ask for 1 to 1000 rows at a time."
