"""The tools API under ``/api``: every tool with its life used and calibration, a tool's card,
the units and lots made with a tool (and holding them all), signed tool calibrations and status
changes (hold, release, retire)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.commands.calibration import CARE_ROLES
from engine.commands.tools import STATUS_ACTIONS
from web.api_equipment import (
    BULK_HOLD,
    MEASURED,
    SIGNATURE,
    SIGNED_RESPONSES,
    calibration_input,
    own_signature,
)
from web.auth import require_caller
from web.openapi import api_route, idempotency_key, payload
from web.pages.nav import EQUIPMENT_READERS, HOLDERS
from web.schemas import ANY_OBJECT, DATE, NAME, STRING, TEXT, obj, open_obj
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_tools", __name__, url_prefix="/api")

TOOL = open_obj(
    {
        "tool": STRING,
        "tool_type": STRING,
        "status": {"enum": ["active", "held", "retired"]},
        "cycles": {"type": "integer"},
        "life": {"type": ["integer", "null"]},
        "life_left": {"type": ["integer", "null"]},
        "calibration_due": {"type": ["string", "null"]},
        "calibration_overdue": {"type": "boolean"},
    }
)


@api_route(
    bp,
    "/tools",
    "GET",
    summary="Every tool and fixture: type, status, cycles used against its life, calibration",
    tag="tools",
    roles=EQUIPMENT_READERS,
    responses=(Doc(200, "The tools.", open_obj({"tools": {"type": "array", "items": TOOL}})),),
)
def list_tools() -> tuple[Response, int]:
    return jsonify({"tools": [t.to_json() for t in services().tools.tools()]}), 200


@api_route(
    bp,
    "/tools/<tool>",
    "GET",
    summary="A tool: its status, life, calibration interval and calibrations",
    tag="tools",
    roles=EQUIPMENT_READERS,
    responses=(Doc(200, "The tool's card.", open_obj({"status": TOOL})),),
)
def get_tool(tool: str) -> tuple[Response, int]:
    return jsonify(services().tools.tool(tool).to_json()), 200


@api_route(
    bp,
    "/tools/<tool>/units",
    "GET",
    summary="The units and lots made with a tool (which units were crimped with A-17)",
    tag="tools",
    roles=EQUIPMENT_READERS,
    responses=(
        Doc(
            200,
            "The units and lots, oldest first, and how many runs used the tool.",
            open_obj(
                {
                    "tool": STRING,
                    "units": {"type": "array", "items": ANY_OBJECT},
                    "total": {"type": "integer"},
                }
            ),
        ),
    ),
)
def tool_units(tool: str) -> tuple[Response, int]:
    return jsonify(services().tools.units_made_with(tool).to_json()), 200


@api_route(
    bp,
    "/tools/<tool>/hold-units",
    "POST",
    summary="Hold every unit and lot made with a tool",
    tag="holds",
    roles=HOLDERS,
    command=True,
    body=obj({"reason": TEXT}),
    responses=(Doc(200, "The items held, and those skipped with why.", BULK_HOLD),),
)
def hold_units(tool: str) -> tuple[Response, int]:
    result = services().tools.hold_units(
        actor=require_caller().username,
        tool=tool,
        reason=payload()["reason"],
        idempotency_key=idempotency_key(),
    )
    return jsonify(result.to_json()), 200


@api_route(
    bp,
    "/tools/<tool>/status",
    "POST",
    summary="Hold, release or retire a tool with an electronic signature (the caller signs)",
    tag="tools",
    roles=CARE_ROLES,
    command=True,
    body=obj({"action": {"enum": list(STATUS_ACTIONS)}, "reason": TEXT, "signature": SIGNATURE}),
    responses=(Doc(200, "The tool as it is now.", TOOL), *SIGNED_RESPONSES),
)
def change_status(tool: str) -> tuple[Response, int]:
    body = payload()
    actor = require_caller().username
    result = services().tools.change_status(
        actor=actor,
        tool=tool,
        action=body["action"],
        reason=body["reason"],
        signature=own_signature(actor, body),
        idempotency_key=idempotency_key(),
    )
    return jsonify(result.to_json()), 200


@api_route(
    bp,
    "/tools/<tool>/calibrations",
    "POST",
    summary="Record a tool's calibration with an electronic signature (the caller signs)",
    tag="tools",
    roles=CARE_ROLES,
    command=True,
    body=obj(
        {
            "result": {"enum": ["pass", "fail"]},
            "performed_on": DATE,
            "performed_by": NAME,
            "signature": SIGNATURE,
        },
        {"certificate": {**NAME, "minLength": 0}, "measured": MEASURED, "note": STRING},
    ),
    responses=(
        Doc(201, "The calibration recorded.", open_obj({"id": {"type": "integer"}})),
        *SIGNED_RESPONSES,
    ),
)
def record_calibration(tool: str) -> tuple[Response, int]:
    body = payload()
    actor = require_caller().username
    given = calibration_input(body)
    recorded = services().tools.record_calibration(
        actor=actor,
        tool=tool,
        given=given,
        signature=own_signature(actor, body),
        idempotency_key=idempotency_key(),
    )
    return jsonify(recorded.to_json()), 201
