"""The maintenance-orders API under ``/api``: list and read orders, open the ones that are due,
start and cancel them (recording the maintenance, ``POST /api/equipment/<name>/maintenance``,
closes the machine's open order)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from engine.commands.calibration import CARE_ROLES
from engine.records.equipment_care import ORDER_STATUSES
from web.auth import require_caller
from web.openapi import api_route, idempotency_key, payload
from web.pages.nav import EQUIPMENT_READERS
from web.schemas import DATE, NAME, NULLABLE_STRING, STRING, TEXT, Schema, obj, open_obj, ref
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_maintenance", __name__, url_prefix="/api")

ORDER: Schema = open_obj(
    {
        "number": STRING,
        "equipment": STRING,
        "status": {"enum": list(ORDER_STATUSES)},
        "due": DATE,
        "reason": STRING,
        "started_by": STRING,
        "closed_by": STRING,
        "cancel_reason": STRING,
        "opened_at": STRING,
        "closed_at": NULLABLE_STRING,
    }
)
ORDERS: Schema = open_obj({"orders": {"type": "array", "items": ORDER}})


@api_route(
    bp,
    "/maintenance-orders",
    "GET",
    summary="Maintenance orders, newest first, by status and machine",
    tag="equipment",
    roles=EQUIPMENT_READERS,
    query={
        "status": {"enum": ["active", *ORDER_STATUSES]},
        "equipment": NAME,
    },
    responses=(
        Doc(200, "The orders.", ORDERS),
        Doc(422, "An unknown status; the message lists the ones there are.", ref("Error")),
    ),
)
def list_orders() -> tuple[Response, int]:
    found = services().equipment.maintenance_orders(
        status=request.args.get("status", ""), equipment=request.args.get("equipment", "")
    )
    return jsonify({"orders": [o.to_json() for o in found]}), 200


@api_route(
    bp,
    "/maintenance-orders/open-due",
    "POST",
    summary="Open a maintenance order for every machine whose maintenance is warned or due",
    tag="equipment",
    roles=CARE_ROLES,
    command=True,
    responses=(Doc(200, "The orders opened (none when all are open already).", ORDERS),),
)
def open_due() -> tuple[Response, int]:
    require_caller()
    opened = services().equipment.open_due_orders()
    return jsonify({"orders": [o.to_json() for o in opened]}), 200


@api_route(
    bp,
    "/maintenance-orders/<number>",
    "GET",
    summary="A maintenance order",
    tag="equipment",
    roles=EQUIPMENT_READERS,
    responses=(Doc(200, "The order.", ORDER),),
)
def get_order(number: str) -> tuple[Response, int]:
    return jsonify(services().equipment.maintenance_order(number).to_json()), 200


@api_route(
    bp,
    "/maintenance-orders/<number>/start",
    "POST",
    summary="Start work on an open maintenance order",
    tag="equipment",
    roles=CARE_ROLES,
    command=True,
    responses=(Doc(200, "The order, in progress.", ORDER),),
)
def start_order(number: str) -> tuple[Response, int]:
    started = services().equipment.start_maintenance_order(
        actor=require_caller().username, number=number, idempotency_key=idempotency_key()
    )
    return jsonify(started.to_json()), 200


@api_route(
    bp,
    "/maintenance-orders/<number>/cancel",
    "POST",
    summary="Cancel an open or in-progress maintenance order, with a reason",
    tag="equipment",
    roles=CARE_ROLES,
    command=True,
    body=obj({"reason": TEXT}),
    responses=(Doc(200, "The order, cancelled.", ORDER),),
)
def cancel_order(number: str) -> tuple[Response, int]:
    cancelled = services().equipment.cancel_maintenance_order(
        actor=require_caller().username, number=number, reason=payload()["reason"],
        idempotency_key=idempotency_key(),
    )  # fmt: skip
    return jsonify(cancelled.to_json()), 200
