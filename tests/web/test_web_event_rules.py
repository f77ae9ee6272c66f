"""Event rule firings in the API (``GET /api/event-rules/firings``, checked against the OpenAPI
document) and on the equipment overview, after the rules process recorded one."""

from __future__ import annotations

import html

from web_support import Api, sign_in

from dsl.model import Plant
from engine.facade.event_rules import EventRules
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database


def _fire(db: Database) -> None:
    """Run acme-harness's press-overpressure rule until it fires (for: 10 s, a clock by hand)."""
    seconds = [0.0]
    rules = EventRules(db, monotonic=lambda: seconds[0])
    evaluator = rules.evaluator(
        StaticTagSource({"press1.pressure": 195.0}), RecordingSetpointWriter()
    )
    for second in range(12):
        seconds[0] = float(second)
        evaluator.step()


def test_the_api_lists_firings_newest_first_for_readers(
    api: Api, db: Database, shop: Plant
) -> None:
    assert api.get("/api/event-rules/firings", "sam").get_json() == {"firings": []}
    _fire(db)
    body = api.get("/api/event-rules/firings?rule=press-overpressure&limit=5", "quinn").get_json()
    (firing,) = body["firings"]
    assert (firing["rule"], firing["outcome"]) == ("press-overpressure", "fired")
    assert [a["action"] for a in firing["actions"]] == [
        "hold crimp-press-1",
        "nonconformance crimp-press-1",
        "notify supervisor",
        "write press1.target_force = 0 N",
    ]
    assert firing["readings"][0]["value"] == 195.0
    assert api.get("/api/event-rules/firings?rule=other", "sam").get_json() == {"firings": []}


def test_a_bad_limit_is_refused_with_what_to_send(api: Api, shop: Plant) -> None:
    answer = api.get("/api/event-rules/firings?limit=lots", "sam")
    assert answer.status_code == 400
    assert answer.get_json()["message"] == "limit: 'lots' is not a whole number."
    answer = api.get("/api/event-rules/firings?limit=900", "sam")
    assert answer.status_code == 422
    assert answer.get_json()["message"] == "limit must be between 1 and 500."


def test_the_equipment_overview_shows_the_latest_firings(
    api: Api, db: Database, shop: Plant
) -> None:
    client = api.app.test_client()
    sign_in(client, "sam")
    page = html.unescape(client.get("/equipment/").get_data(as_text=True))
    assert "No event rule has fired." in page
    _fire(db)
    page = html.unescape(client.get("/equipment/").get_data(as_text=True))
    assert 'data-rule="press-overpressure"' in page
    assert "Hydraulic pressure above the crimp die's 180 bar rating" in page
    assert "press1.pressure = 195.0 bar" in page
    assert "hold crimp-press-1: down" in page
