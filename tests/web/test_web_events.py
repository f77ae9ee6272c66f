"""The events API and the admins' dead-letter page: the published schema, dead letters, replay."""

from __future__ import annotations

from flask.testing import FlaskClient
from web_support import Api, alerts_of, csrf_of, sign_in

from engine.facade.events import Events
from engine.infra import audit
from engine.infra.db import Database
from engine.infra.outbox import EVENT_SCHEMA


def _dead_letter(db: Database) -> int:
    """One dead letter of the webhook sink; its id."""
    with db.transaction() as session:
        audit.record(session, actor="sam", action="release", entity="work_order", entity_id="WO-7")
    outbox = Events(db)
    (event,) = outbox.pending("webhook", 10)
    outbox.give_up("webhook", event, attempts=6, error="HTTP 502 Bad Gateway")
    return outbox.dead_letters()[0].id


def test_the_event_schema_is_served_to_any_signed_in_caller(api: Api, users: object) -> None:
    response = api.get("/api/events/schema.json", "anna")
    assert response.status_code == 200
    assert response.json == EVENT_SCHEMA
    assert api.get("/api/events/schema.json", None).status_code == 401


def test_admins_list_and_replay_dead_letters_through_the_api(
    api: Api, db: Database, users: object
) -> None:
    """(Api checks every answer against the OpenAPI document.)"""
    letter = _dead_letter(db)
    listed = api.get("/api/events/dead-letters", "ada")
    (entry,) = listed.json["dead_letters"]
    assert (entry["entity_id"], entry["error"], entry["status"]) == (
        "WO-7",
        "HTTP 502 Bad Gateway",
        "dead",
    )
    assert api.get("/api/events/dead-letters", "sam").status_code == 403
    path = f"/api/events/dead-letters/{letter}/replay"
    replayed = api.post(path, "ada")
    assert replayed.status_code == 202
    again = api.post(path, "ada")
    assert (again.status_code, again.json["message"]) == (
        409,
        f"Dead letter #{letter} is already queued for replay; reload the list.",
    )
    missing = api.post("/api/events/dead-letters/999/replay", "ada")
    assert (missing.status_code, missing.json["message"]) == (
        404,
        "There is no dead letter #999; reload the list.",
    )
    assert Events(db).replays("webhook")[0][0] == letter


def test_the_dead_letter_page_replays_with_one_button(
    client: FlaskClient, db: Database, users: object
) -> None:
    letter = _dead_letter(db)
    sign_in(client, "ada")
    page = client.get("/admin/events/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "HTTP 502 Bad Gateway" in html and f'data-dead-letter="{letter}"' in html
    token = csrf_of(client)
    done = client.post(
        f"/admin/events/dead-letters/{letter}/replay",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert f"Dead letter #{letter} is queued: the publisher sends it again." in done.get_data(
        as_text=True
    )
    refused = client.post(f"/admin/events/dead-letters/{letter}/replay", data={"csrf_token": token})
    assert refused.status_code == 409
    assert alerts_of(refused) == [
        f"Dead letter #{letter} is already queued for replay; reload the list."
    ]
    sign_in(client, "sam")
    assert client.get("/admin/events/").status_code == 403
