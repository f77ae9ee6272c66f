"""The audit trail review, page and API: search by record (a lot by its number), user, action and
period, newest first with old → new values, page by page, as CSV, and the chain's verdict; bad
filters are a 400 that says what is wrong; quality, admins and auditors may, others may not."""

from __future__ import annotations

import csv
import html
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from web_support import Api, alerts_of, sign_in

from dsl.model import Plant
from engine.access import people
from engine.commands import materials
from engine.infra import audit
from engine.infra.db import Database
from engine.records.tables import Lot, User


@pytest.fixture
def held(db: Database, plant: Plant, users: object) -> int:
    """Lot W-001 (received by test unless a fixture did) put on hold and released by quinn;
    returns its record id."""
    with db.transaction() as session:
        if session.scalar(select(Lot.id).where(Lot.number == "W-001")) is None:
            materials.receive_lot(session, plant, "WIRE-18-RD", "W-001", 100.0, actor="test")
    with db.transaction() as session:
        materials.hold_lot(session, "WIRE-18-RD", "W-001", actor="quinn", reason="suspect batch")
    with db.transaction() as session:
        materials.release_lot(session, "WIRE-18-RD", "W-001", actor="quinn", reason="cleared")
        lot_id = session.scalar(select(Lot.id).where(Lot.number == "W-001"))
    assert lot_id is not None
    return lot_id


@pytest.fixture
def inspector(db: Database, password_hash: str, users: object) -> str:
    """ines, who holds only the site's 'auditor' role."""
    with db.transaction() as session:
        people.create_user(session, "ines", actor="test", full_name="Ines Inspector")
        people.grant_role(session, "ines", "auditor", actor="test")
        session.execute(
            update(User).where(User.username == "ines").values(password_hash=password_hash)
        )
    return "ines"


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the API


def test_the_api_finds_a_lot_by_its_number_newest_first(api: Api, held: int) -> None:
    answer = api.get("/api/audit?entity=lot&entity_id=W-001", "quinn")
    assert answer.status_code == 200
    rows = answer.json["entries"]
    assert [(r["action"], r["actor"], r["entity"], r["entity_id"]) for r in rows] == [
        ("release", "quinn", "lot", str(held)),
        ("hold", "quinn", "lot", str(held)),
        ("receive", "test", "lot", str(held)),
    ]
    assert (rows[0]["old"]["status"], rows[0]["new"]["status"], rows[0]["reason"]) == (
        "on_hold",
        "available",
        "cleared",
    )
    assert rows[0]["seq"] > rows[1]["seq"] > rows[2]["seq"]
    assert answer.json["older"] is None
    by_id = api.get(f"/api/audit?entity=lot&entity_id={held}", "quinn").json["entries"]
    assert by_id == rows
    by_part = api.get("/api/audit?entity=lot&entity_id=WIRE-18-RD/W-001", "ada").json["entries"]
    assert by_part == rows


def test_the_api_filters_by_user_action_and_period_and_pages(api: Api, held: int) -> None:
    holds = api.get("/api/audit?actor=quinn&action=hold", "quinn").json["entries"]
    assert [(r["action"], r["reason"]) for r in holds] == [("hold", "suspect batch")]
    first = api.get("/api/audit?entity=lot&limit=2", "quinn").json
    assert len(first["entries"]) == 2 and first["older"] == first["entries"][-1]["seq"]
    rest = api.get(f"/api/audit?entity=lot&limit=2&before={first['older']}", "quinn").json
    assert all(r["seq"] < first["older"] for r in rest["entries"])
    assert api.get("/api/audit?until=2000-01-01", "quinn").json == {"entries": [], "older": None}
    recent = api.get("/api/audit?since=2000-01-01T00:00:00Z&entity=lot", "quinn").json
    assert len(recent["entries"]) >= 3


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "since=yesterday",
            "since",
            "since: 'yesterday' is not a date or a time with its zone; write a date like "
            "2026-11-30 or a time like 2026-11-30T14:00:00Z.",
        ),
        (
            "until=2026-11-30T10:00:00",
            "until",
            "until: '2026-11-30T10:00:00' is not a date or a time with its zone; write a date like "
            "2026-11-30 or a time like 2026-11-30T14:00:00Z.",
        ),
        ("entity_id=12", "entity", "Name the kind of record (entity) to search by its id."),
        (
            "since=2026-12-01&until=2026-11-01",
            "since",
            "The start of the period must come before its end.",
        ),
        ("limit=0", "limit", "limit: '0' is not a whole number of 1 or more."),
        ("limit=1001", "limit", "limit: ask for 1 to 1000 rows at a time."),
        ("before=abc", "before", "before: 'abc' is not a whole number of 1 or more."),
    ],
)
def test_a_bad_filter_is_a_400_that_says_what_is_wrong(
    api: Api, users: object, query: str, field: str, message: str
) -> None:
    answer = api.get(f"/api/audit?{query}", "quinn")
    assert (answer.status_code, answer.json) == (
        400,
        {"error": "bad_request", "message": message, "field": field},
    )
    if not query.startswith(("limit", "before")):
        assert api.get(f"/api/audit.csv?{query}", "quinn").json == answer.json


def test_the_csv_download_streams_the_same_selection(api: Api, held: int) -> None:
    answer = api.get("/api/audit.csv?entity=lot&entity_id=W-001", "quinn")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="audit-trail-') and disposition.endswith(
        '.csv"'
    )
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
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
    assert [(r[3], r[5], r[8]) for r in rows[1:]] == [
        ("release", str(held), "cleared"),
        ("hold", str(held), "suspect batch"),
        ("receive", str(held), ""),
    ]
    assert '"status":"on_hold"' in rows[1][6].replace(" ", "")


def test_only_quality_admins_and_auditors_read_the_trail(
    api: Api, users: object, inspector: str
) -> None:
    assert api.get("/api/audit", inspector).status_code == 200
    assert api.get("/api/audit", "ada").status_code == 200
    refused = api.get("/api/audit.csv", "eve")
    assert (refused.status_code, refused.json["message"]) == (
        403,
        "This needs the role admin or auditor or quality; eve has engineer. Ask an admin to "
        "grant the role.",
    )
    assert api.get("/api/audit", "anna").status_code == 403


def test_the_openapi_document_describes_the_audit_routes(api: Api) -> None:
    paths = api.document["paths"]
    search = paths["/api/audit"]["get"]
    assert {p["name"] for p in search["parameters"]} == {
        "entity", "entity_id", "actor", "action", "since", "until", "before", "limit",
    }  # fmt: skip
    assert search["description"] == "Roles: quality, admin, auditor."
    assert "400" in search["responses"]
    download = paths["/api/audit.csv"]["get"]["responses"]["200"]
    assert list(download["content"]) == ["text/csv"]


# ---------------------------------------------------------------- the page


def test_the_page_shows_a_lots_history_with_old_and_new_values(
    line_client: FlaskClient, held: int
) -> None:
    sign_in(line_client, "quinn")
    page = _text(line_client.get("/audit/?entity=lot&entity_id=W-001"))
    assert '<a href="/audit" aria-current="page">Audit trail</a>' in page
    rows = page.split('id="rows"')[1]
    assert rows.count("<tr data-seq=") == 3
    assert (
        f'<a href="/audit/?entity=lot&amp;entity_id={held}">lot {held}</a>'.replace("&amp;", "&")
        in rows
    )
    assert "<strong>status</strong>:\n          <del>available</del> → on_hold" in rows
    assert "<strong>status</strong>:\n          <del>on_hold</del> → available" in rows
    assert "<td>suspect batch</td>" in rows
    assert 'href="/audit/export.csv?entity=lot&entity_id=W-001"' in page
    assert "data-older" not in page


def test_the_page_pages_through_older_records(
    line_client: FlaskClient, db: Database, users: object
) -> None:
    with db.transaction() as session:
        audit.record_many(
            session,
            [audit.Change("bot", "tick", "meter", "m-1", None, {"n": n}) for n in range(105)],
        )
    sign_in(line_client, "ada")
    first = _text(line_client.get("/audit/?actor=bot"))
    assert first.count("<tr data-seq=") == 100
    older = first.split("data-older")[0].rsplit('href="', 1)[1].split('"')[0]
    assert older.startswith("/audit/?before=") and older.endswith("&actor=bot")
    second = _text(line_client.get(older))
    assert second.count("<tr data-seq=") == 5
    assert "<h2>Records (older page)</h2>" in second


def test_a_bad_filter_on_the_page_says_why(line_client: FlaskClient, users: object) -> None:
    sign_in(line_client, "quinn")
    response = line_client.get("/audit/?entity_id=7")
    assert response.status_code == 400
    assert alerts_of(response) == ["Name the kind of record (entity) to search by its id."]
    assert 'value="7"' in _text(response)  # the form keeps what was typed


def test_the_page_verifies_the_chain(line_client: FlaskClient, held: int) -> None:
    sign_in(line_client, "quinn")
    page = _text(line_client.get("/audit/verify"))
    assert '<span class="badge pass">intact</span>' in page
    assert "<p data-verdict>audit trail intact: " in page


def test_an_auditor_lands_on_the_trail_and_sees_nothing_else(
    line_app: Flask, inspector: str
) -> None:
    client = line_app.test_client()
    sign_in(client, inspector)
    landing = client.get("/")
    assert landing.headers["Location"] == "/audit"
    page = _text(client.get("/audit/"))
    nav = page.split('<nav aria-label="Pages">')[1].split("</nav>")[0]
    assert [line.strip() for line in nav.strip().splitlines() if line.strip()] == [
        '<a href="/audit" aria-current="page">Audit trail</a>'
    ]
    assert client.get("/quality/").status_code == 403
    assert client.get("/admin/config").status_code == 403
