"""The AQL inspection API under ``/api`` (ANSI/ASQ Z1.4, docs/sampling.md): start the inspection
of a received lot (the plan: n, Ac, Re and the switching state), record its samples one by one
(the lot is decided as soon as the plan allows), read an inspection, and a part's inspections
with the switching state of its lots from one supplier."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from engine.errors import Invalid
from web.auth import require_caller
from web.openapi import api_route, idempotency_key, payload
from web.pages.nav import QUALITY, READERS
from web.schemas import BOOLEAN, INTEGER, NAME, STRING, TIMESTAMP, obj, open_obj, ref
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_inspection", __name__, url_prefix="/api")

INSPECTION = open_obj(
    {
        "id": INTEGER,
        "part": STRING,
        "supplier": STRING,
        "lot": STRING,
        "lot_size": INTEGER,
        "severity": {"enum": ["normal", "tightened", "reduced"]},
        "code_letter": STRING,
        "sample_size": INTEGER,
        "ac": INTEGER,
        "re": INTEGER,
        "plan": STRING,
        "inspected": INTEGER,
        "defects": INTEGER,
        "accepted": {"type": ["boolean", "null"]},
        "started_at": TIMESTAMP,
    }
)
STATE = open_obj(
    {
        "severity": {"enum": ["normal", "tightened", "reduced", "discontinued"]},
        "score": INTEGER,
        "lots": INTEGER,
    }
)


@api_route(
    bp,
    "/inspections",
    "POST",
    summary="Start the AQL inspection of a received lot (part and lot) or of a work order's lot "
    "at an operation's lot gate (work_order and operation): the plan from the lot's size and "
    "the switching state",
    tag="inspection",
    roles=QUALITY,
    command=True,
    body=obj(
        {},
        {"part": NAME, "lot": NAME, "work_order": NAME, "operation": NAME, "steady": BOOLEAN},
    ),
    responses=(Doc(201, "The inspection and its plan (n, Ac, Re).", INSPECTION),),
)
def start_inspection() -> tuple[Response, int]:
    body = payload()
    actor = require_caller().username
    steady = body.get("steady", True)
    desk = services().inspection
    if "work_order" in body or "operation" in body:
        if "work_order" not in body or "operation" not in body or "part" in body or "lot" in body:
            raise Invalid(
                "Name either a received lot (part and lot) or a work order and its operation.",
                field="work_order",
            )
        started = desk.start_operation_inspection(
            actor=actor,
            work_order=body["work_order"],
            operation=body["operation"],
            steady=steady,
            idempotency_key=idempotency_key(),
        )
    elif "part" in body and "lot" in body:
        started = desk.start_receiving_inspection(
            actor=actor,
            part=body["part"],
            lot=body["lot"],
            steady=steady,
            idempotency_key=idempotency_key(),
        )
    else:
        raise Invalid(
            "Name either a received lot (part and lot) or a work order and its operation.",
            field="part",
        )
    return jsonify(started.to_json()), 201


@api_route(
    bp,
    "/inspections/<int:inspection_id>/samples",
    "POST",
    summary="Record the next sample of an inspection; the lot is decided as soon as the plan "
    "allows (rejected at Re nonconforming, accepted once n are in with at most Ac)",
    tag="inspection",
    roles=QUALITY,
    command=True,
    body=obj({"conforming": BOOLEAN}, {"defect_code": STRING, "note": STRING}),
    responses=(Doc(201, "The inspection with the sample and the decision, if any.", INSPECTION),),
)
def record_sample(inspection_id: int) -> tuple[Response, int]:
    body = payload()
    recorded = services().inspection.record_sample(
        actor=require_caller().username,
        inspection_id=inspection_id,
        conforming=body["conforming"],
        defect_code=body.get("defect_code", ""),
        note=body.get("note", ""),
        idempotency_key=idempotency_key(),
    )
    return jsonify(recorded.to_json()), 201


@api_route(
    bp,
    "/inspections/<int:inspection_id>",
    "GET",
    summary="An inspection: the lot, the plan, the samples and the decision",
    tag="inspection",
    roles=READERS,
    responses=(Doc(200, "The inspection.", INSPECTION),),
)
def get_inspection(inspection_id: int) -> tuple[Response, int]:
    return jsonify(services().inspection.inspection(inspection_id).to_json()), 200


@api_route(
    bp,
    "/inspections",
    "GET",
    summary="A part's inspections, newest first; with a supplier (or a product's operation), "
    "only theirs and the switching state of their lots",
    tag="inspection",
    roles=READERS,
    query={"part": NAME, "supplier": STRING, "operation": NAME},
    responses=(
        Doc(
            200,
            "The inspections, and the switching state when a supplier or operation is given "
            "(else null).",
            open_obj({"inspections": {"type": "array", "items": INSPECTION}}),
        ),
        Doc(422, "No part was named; give ?part=.", ref("Error")),
    ),
)
def list_inspections() -> tuple[Response, int]:
    part = request.args.get("part", "")
    if not part:
        raise Invalid("Name the part: /api/inspections?part=TERM-22.", field="part")
    supplier = request.args.get("supplier")
    operation = request.args.get("operation", "")
    desk = services().inspection
    found = desk.inspections(part=part, supplier=supplier, operation=operation)
    streamed = supplier is not None or operation
    state = (
        desk.switching_state(part=part, supplier=supplier or "", operation=operation)
        if streamed
        else None
    )
    return jsonify(
        {
            "inspections": [i.to_json() for i in found],
            "state": None if state is None else state.to_json(),
        }
    ), 200
