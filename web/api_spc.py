"""The SPC API under ``/api/spc``: the control charts of the deployed plant, one chart's points,
limits, capability and signals, the open signals, and a quality user's acknowledgement."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.facade.spc import Spc
from web.auth import require_caller
from web.openapi import api_route, payload
from web.pages.nav import QUALITY, READERS
from web.schemas import NUMBER_OR_NULL, STRING, TEXT, obj, open_obj, ref
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_spc", __name__, url_prefix="/api/spc")

CHART_SUMMARY = open_obj(
    {
        "key": STRING,
        "routing": STRING,
        "operation": STRING,
        "source": STRING,
        "kind": {"enum": ["i-mr", "xbar-r", "xbar-s", "p", "np", "c", "u"]},
        "on_signal": {"enum": ["notify", "hold", "hold-equipment", "nc", "block"]},
    }
)
SIGNAL = open_obj(
    {
        "id": {"type": "integer"},
        "chart": STRING,
        "item": STRING,
        "rule": STRING,
        "on_chart": {"enum": ["location", "dispersion"]},
        "description": STRING,
        "action": STRING,
        "at": STRING,
        "acknowledged_by": {"type": ["string", "null"]},
        "acknowledged_at": {"type": ["string", "null"]},
        "comment": STRING,
    }
)
POINT = open_obj(
    {
        "number": {"type": "integer"},
        "item": STRING,
        "value": {"type": "number"},
        "spread": NUMBER_OR_NULL,
        "center": NUMBER_OR_NULL,
        "lcl": NUMBER_OR_NULL,
        "ucl": NUMBER_OR_NULL,
        "at": STRING,
        "rules": {"type": "array", "items": STRING},
        "spread_rules": {"type": "array", "items": STRING},
    }
)
CHART = open_obj(
    {
        "chart": CHART_SUMMARY,
        "limits": open_obj({"origin": {"enum": ["given", "baseline", "collecting"]}}),
        "points": {"type": "array", "items": POINT},
        "total_points": {"type": "integer"},
        "capability": {"type": ["object", "null"]},
        "signals": {"type": "array", "items": SIGNAL},
    }
)


def spc() -> Spc:
    """The SPC facade over the app's database."""
    return Spc(services().config.db)


@api_route(
    bp,
    "/charts",
    "GET",
    summary="The control charts the deployed plant declares",
    tag="spc",
    roles=READERS,
    responses=(
        Doc(200, "The charts.", open_obj({"charts": {"type": "array", "items": CHART_SUMMARY}})),
    ),
)
def list_charts() -> tuple[Response, int]:
    return jsonify({"charts": [c.to_json() for c in spc().charts()]}), 200


@api_route(
    bp,
    "/charts/<path:key>",
    "GET",
    summary="One control chart: its latest points, limits, capability and signals",
    tag="spc",
    roles=READERS,
    responses=(
        Doc(200, "The chart.", CHART),
        Doc(404, "The plant declares no such chart.", ref("Error")),
    ),
)
def get_chart(key: str) -> tuple[Response, int]:
    return jsonify(spc().chart(key).to_json()), 200


@api_route(
    bp,
    "/signals",
    "GET",
    summary="Signals no quality user has acknowledged yet, newest first",
    tag="spc",
    roles=READERS,
    responses=(
        Doc(200, "The open signals.", open_obj({"signals": {"type": "array", "items": SIGNAL}})),
    ),
)
def open_signals() -> tuple[Response, int]:
    return jsonify({"signals": [s.to_json() for s in spc().open_signals()]}), 200


@api_route(
    bp,
    "/signals/<int:signal_id>/acknowledge",
    "POST",
    summary="Acknowledge a signal with what was found or done (quality)",
    tag="spc",
    roles=QUALITY,
    body=obj({"comment": TEXT}),
    responses=(
        Doc(200, "The acknowledged signal.", SIGNAL),
        Doc(404, "There is no such signal.", ref("Error")),
        Doc(409, "It was already acknowledged.", ref("Error")),
        Doc(422, "The comment is blank.", ref("Error")),
    ),
)
def acknowledge(signal_id: int) -> tuple[Response, int]:
    signal = spc().acknowledge(
        actor=require_caller().username, signal_id=signal_id, comment=payload()["comment"]
    )
    return jsonify(signal.to_json()), 200
