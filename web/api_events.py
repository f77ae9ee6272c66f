"""The events API under ``/api/events``: the JSON Schema of every event payload, the dead
letters of the webhook sink, and their replay (admins)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.facade.events import Events
from web.auth import require_caller
from web.openapi import api_route
from web.pages.nav import ADMINS
from web.schemas import ANY_OBJECT, STRING, open_obj, ref
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_events", __name__, url_prefix="/api/events")

DEAD_LETTER = open_obj(
    {
        "id": {"type": "integer"},
        "sink": STRING,
        "seq": {"type": "integer"},
        "event_id": STRING,
        "entity": STRING,
        "entity_id": STRING,
        "action": STRING,
        "attempts": {"type": "integer"},
        "error": STRING,
        "status": {"enum": ["dead", "replay", "delivered"]},
        "failed_at": STRING,
        "replayed_by": STRING,
    }
)


def outbox() -> Events:
    """The events facade over the app's database."""
    return Events(services().config.db)


@api_route(
    bp,
    "/schema.json",
    "GET",
    summary="The JSON Schema every event payload (MQTT and webhooks) follows",
    tag="events",
    roles=(),
    responses=(Doc(200, "A JSON Schema (draft 2020-12).", ANY_OBJECT),),
)
def event_schema() -> tuple[Response, int]:
    return jsonify(Events.schema()), 200


@api_route(
    bp,
    "/dead-letters",
    "GET",
    summary="Events a webhook kept refusing after every retry, newest first",
    tag="events",
    roles=ADMINS,
    responses=(
        Doc(
            200,
            "The dead letters.",
            open_obj({"dead_letters": {"type": "array", "items": DEAD_LETTER}}),
        ),
    ),
)
def dead_letters() -> tuple[Response, int]:
    letters = [letter.to_json() for letter in outbox().dead_letters()]
    return jsonify({"dead_letters": letters}), 200


@api_route(
    bp,
    "/dead-letters/<int:dead_letter_id>/replay",
    "POST",
    summary="Queue a dead letter's event to be sent again, with the same event id",
    tag="events",
    roles=ADMINS,
    responses=(
        Doc(
            202,
            "Queued; the publisher sends it on its next round.",
            open_obj({"id": {"type": "integer"}, "status": STRING}),
        ),
        Doc(409, "It is already queued or delivered.", ref("Error")),
    ),
)
def replay_dead_letter(dead_letter_id: int) -> tuple[Response, int]:
    outbox().replay(dead_letter_id, actor=require_caller().username)
    return jsonify({"id": dead_letter_id, "status": "replay"}), 202
