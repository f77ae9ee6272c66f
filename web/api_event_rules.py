"""The event rules API under ``/api/event-rules``: the recorded firings of the plant's event
rules (``event_rules`` of site.yaml; docs/event-rules.md), newest first."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from engine.facade.event_rules import MAX_FIRINGS, EventRules
from web.errors import BadRequest
from web.openapi import api_route
from web.pages.nav import READERS
from web.schemas import NUMBER_OR_NULL, STRING, open_obj, ref
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_event_rules", __name__, url_prefix="/api/event-rules")
DEFAULT_LIMIT = 100

READING = open_obj(
    {
        "key": STRING,
        "value": {"type": ["number", "boolean", "string", "null"]},
        "unit": {"type": ["string", "null"]},
        "quality": {"enum": ["good", "bad", "stale"]},
        "age_s": NUMBER_OR_NULL,
        "reason": STRING,
    }
)
FIRING = open_obj(
    {
        "id": {"type": "integer"},
        "rule": STRING,
        "outcome": {"enum": ["fired", "suppressed"]},
        "at": STRING,
        "because": STRING,
        "readings": {"type": "array", "items": READING},
        "actions": {
            "type": "array",
            "items": open_obj({"action": STRING, "outcome": STRING, "ok": {"type": "boolean"}}),
        },
        "config_version_id": {"type": "integer"},
    }
)


def event_rules() -> EventRules:
    """The event rules facade over the app's database."""
    return EventRules(services().config.db)


def limit_argument() -> int:
    """The ``limit`` query argument (default :data:`DEFAULT_LIMIT`)."""
    text = request.args.get("limit", str(DEFAULT_LIMIT))
    if not text.isdigit():
        raise BadRequest(f"limit: {text!r} is not a whole number.", field="limit")
    return int(text)


@api_route(
    bp,
    "/firings",
    "GET",
    summary="Recorded firings of event rules (and suppressions by their rate limit), newest first",
    tag="event rules",
    roles=READERS,
    query={
        "rule": STRING,
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_FIRINGS, "default": 100},
    },
    responses=(
        Doc(200, "The firings.", open_obj({"firings": {"type": "array", "items": FIRING}})),
        Doc(400, "The limit is not a whole number.", ref("Error")),
        Doc(422, "The limit is out of range.", ref("Error")),
    ),
)
def list_firings() -> tuple[Response, int]:
    found = event_rules().firings(rule=request.args.get("rule"), limit=limit_argument())
    return jsonify({"firings": [f.to_json() for f in found]}), 200
