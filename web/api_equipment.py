"""The equipment-care API under ``/api``: machines with what is due, a machine's card, signed
calibrations and maintenance, a failed calibration's impact list, and bulk holds (from an impact
list or any list of units and lots, as a recall sends)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.access.signatures import SignatureInput
from engine.commands.bulk_hold import BULK_MAX
from engine.commands.calibration import (
    CARE_MEANINGS,
    CARE_ROLES,
    MEASURED_MAX,
    CalibrationInput,
)
from engine.commands.maintenance import MaintenanceInput
from engine.queries.impact import PAGE, PAGE_MAX
from web.auth import require_caller, signature_input
from web.errors import BadRequest
from web.openapi import api_route, idempotency_key, payload
from web.pages.nav import EQUIPMENT_READERS, HOLDERS
from web.schemas import (
    ANY_OBJECT,
    DATE,
    NAME,
    NULLABLE_STRING,
    STRING,
    TEXT,
    Schema,
    obj,
    open_obj,
    ref,
)
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_equipment", __name__, url_prefix="/api")

SIGNATURE: Schema = obj({"password": TEXT, "meaning": {"enum": list(CARE_MEANINGS)}})
SIGNED_RESPONSES = (
    Doc(429, "Too many failed sign-ins of the caller; wait, then sign again.", ref("Error")),
)
RECORD = open_obj({"id": {"type": "integer"}, "equipment": STRING, "next_due": NULLABLE_STRING})
BULK_HOLD = open_obj(
    {
        "held": {"type": "array", "items": STRING},
        "skipped": {"type": "array", "items": open_obj({"number": STRING, "reason": STRING})},
        "remaining": {
            "type": "integer",
            "description": f"Items of an impact list beyond the {BULK_MAX:,} one call holds; "
            "call again to hold them.",
        },
    }
)
ARRAY: Schema = {"type": "array", "items": ANY_OBJECT}
MEASURED: Schema = {
    "type": "object",
    "maxProperties": MEASURED_MAX,
    "additionalProperties": {"type": ["number", "string"]},
    "description": 'Values measured, by name: numbers or text (e.g. {"force_5kN": 4.98}).',
}


def _json(data: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(data), status


def care_day(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"{field}: {value!r} is not a date; write it like 2027-03-01.", field=field
        ) from None


def own_signature(actor: str, body: dict[str, Any]) -> SignatureInput:
    """The body's ``signature``: the caller signs their own care record."""
    signed = body["signature"]
    return signature_input(actor, signed["password"], signed["meaning"])


@api_route(
    bp,
    "/equipment",
    "GET",
    summary="Every machine's state and due dates, and what is overdue or due soon",
    tag="equipment",
    roles=EQUIPMENT_READERS,
    responses=(Doc(200, "Machines and due work.", open_obj({"equipment": ARRAY, "due": ARRAY})),),
)
def list_equipment() -> tuple[Response, int]:
    care = services().equipment
    return _json(
        {
            "equipment": [e.to_json() for e in care.equipment_list()],
            "due": [d.to_json() for d in care.due_work()],
        }
    )


@api_route(
    bp,
    "/equipment/<name>",
    "GET",
    summary="A machine: status, due dates, calibrations, maintenance and state history",
    tag="equipment",
    roles=EQUIPMENT_READERS,
    responses=(Doc(200, "The machine's card.", open_obj({"status": ANY_OBJECT})),),
)
def get_equipment(name: str) -> tuple[Response, int]:
    return _json(services().equipment.equipment_card(name).to_json())


def calibration_input(body: Mapping[str, Any]) -> CalibrationInput:
    """A calibration as a request body gives it (a machine's or a tool's)."""
    return CalibrationInput(
        result=body["result"],
        performed_on=care_day(body["performed_on"], "performed_on"),
        performed_by=body["performed_by"],
        certificate=body.get("certificate", ""),
        certificate_sha256=body.get("certificate_sha256", ""),
        measured=body.get("measured", {}),
        note=body.get("note", ""),
    )


@api_route(
    bp,
    "/equipment/<name>/calibrations",
    "POST",
    summary="Record a calibration with an electronic signature (the caller signs)",
    tag="equipment",
    roles=CARE_ROLES,
    command=True,
    body=obj(
        {
            "result": {"enum": ["pass", "fail"]},
            "performed_on": DATE,
            "performed_by": NAME,
            "signature": SIGNATURE,
        },
        {
            "certificate": {**NAME, "minLength": 0},
            "certificate_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "measured": MEASURED,
            "note": STRING,
        },
    ),
    responses=(Doc(201, "The calibration recorded.", RECORD), *SIGNED_RESPONSES),
)
def record_calibration(name: str) -> tuple[Response, int]:
    body = payload()
    actor = require_caller().username
    given = calibration_input(body)
    recorded = services().equipment.record_calibration(
        actor=actor,
        equipment_name=name,
        given=given,
        signature=own_signature(actor, body),
        idempotency_key=idempotency_key(),
    )
    return _json(recorded.to_json(), 201)


@api_route(
    bp,
    "/equipment/<name>/maintenance",
    "POST",
    summary="Record preventive maintenance with an electronic signature (the caller signs)",
    tag="equipment",
    roles=CARE_ROLES,
    command=True,
    body=obj(
        {
            "performed_on": DATE,
            "performed_by": NAME,
            "work_done": TEXT,
            "signature": SIGNATURE,
        }
    ),
    responses=(Doc(201, "The maintenance recorded.", RECORD), *SIGNED_RESPONSES),
)
def record_maintenance(name: str) -> tuple[Response, int]:
    body = payload()
    actor = require_caller().username
    given = MaintenanceInput(
        care_day(body["performed_on"], "performed_on"), body["performed_by"], body["work_done"]
    )
    recorded = services().equipment.record_maintenance(
        actor=actor,
        equipment_name=name,
        given=given,
        signature=own_signature(actor, body),
        idempotency_key=idempotency_key(),
    )
    return _json(recorded.to_json(), 201)


@api_route(
    bp,
    "/calibrations/<int:calibration_id>/impact",
    "GET",
    summary="A failed calibration's impact list: what was made on the machine since its last "
    "passed calibration",
    tag="equipment",
    roles=EQUIPMENT_READERS,
    query={"limit": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE}},
    responses=(
        Doc(
            200,
            "How many units and lots, and the newest of them.",
            open_obj({"total": {"type": "integer"}, "items": {"type": "array"}}),
        ),
    ),
)
def calibration_impact(calibration_id: int) -> tuple[Response, int]:
    text = request.args.get("limit", str(PAGE))
    if not text.isdigit():
        raise BadRequest(f"limit: {text!r} is not a whole number.", field="limit")
    found = services().equipment.impact(calibration_id, limit=int(text))
    return _json(found.to_json())


@api_route(
    bp,
    "/calibrations/<int:calibration_id>/hold-impact",
    "POST",
    summary="Hold every unit and lot on a failed calibration's impact list",
    tag="holds",
    roles=HOLDERS,
    command=True,
    body=obj({"reason": TEXT}),
    responses=(Doc(200, "The items held, and those skipped with why.", BULK_HOLD),),
)
def hold_impact(calibration_id: int) -> tuple[Response, int]:
    result = services().equipment.hold_impact(
        actor=require_caller().username,
        calibration_id=calibration_id,
        reason=payload()["reason"],
        idempotency_key=idempotency_key(),
    )
    return _json(result.to_json())


@api_route(
    bp,
    "/items/hold",
    "POST",
    summary="Hold a list of units and lots at once (a recall), in one transaction",
    tag="holds",
    roles=HOLDERS,
    command=True,
    body=obj(
        {
            "items": {"type": "array", "items": NAME, "minItems": 1, "maxItems": BULK_MAX},
            "reason": TEXT,
        }
    ),
    responses=(Doc(200, "The items held, and those skipped with why.", BULK_HOLD),),
)
def hold_items() -> tuple[Response, int]:
    body = payload()
    result = services().equipment.hold_items(
        actor=require_caller().username,
        items=body["items"],
        reason=body["reason"],
        idempotency_key=idempotency_key(),
    )
    return _json(result.to_json())
