"""The dispatch API under ``/api``: re-plan and close work orders, list the work centres, read
their queues and the schedule. Work orders are created, released and cancelled in
:mod:`web.api`, which reads a new order's plan with :func:`plan_of`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.commands.workorders import UNPLANNED, WorkOrderPlan
from web.auth import require_caller
from web.errors import BadRequest
from web.openapi import api_route, idempotency_key, payload
from web.pages.nav import RUNNERS, SUPERVISORS
from web.schemas import NAME, NULLABLE_DATE, STRING, Schema, array_of, obj, ref
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_dispatch", __name__, url_prefix="/api")

PLAN_FIELDS: dict[str, Schema] = {
    "due_date": {**NULLABLE_DATE, "description": "The day it is due, like 2027-03-01."},
    "priority": {"type": "integer", "minimum": 1, "maximum": 9, "description": "1 most urgent."},
    "erp_reference": {**NAME, "minLength": 0, "description": "The customer or ERP order."},
}
"""The plan's fields, optional in a new work order's body (see web.api) and in a re-plan."""


def _date(value: Any, field: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise BadRequest(
            f"{field}: {value!r} is not a date; write it like 2027-03-01.", field=field
        ) from None


def plan_of(body: Mapping[str, Any], base: WorkOrderPlan = UNPLANNED) -> WorkOrderPlan:
    """The plan a request body gives, each field not in it taken from ``base``."""
    return WorkOrderPlan(
        due_date=_date(body["due_date"], "due_date") if "due_date" in body else base.due_date,
        priority=body.get("priority", base.priority),
        erp_reference=body.get("erp_reference", base.erp_reference),
    )


def _json(data: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(data), status


@api_route(
    bp,
    "/work-orders/<number>",
    "PATCH",
    summary="Re-plan an open work order: due date, priority, ERP reference",
    tag="work orders",
    roles=SUPERVISORS,
    command=True,
    body=obj({}, {**PLAN_FIELDS, "reason": STRING}),
    responses=(Doc(200, "The work order as now planned.", ref("WorkOrder")),),
)
def plan_work_order(number: str) -> tuple[Response, int]:
    body = payload()
    current = services().ferrule.work_order(number)
    base = WorkOrderPlan(current.due_date, current.priority, current.erp_reference)
    order = services().dispatch.plan_work_order(
        actor=require_caller().username,
        number=number,
        plan=plan_of(body, base),
        reason=body.get("reason", ""),
        idempotency_key=idempotency_key(),
    )
    return _json(order.to_json())


@api_route(
    bp,
    "/work-orders/<number>/close",
    "POST",
    summary=(
        "Close a released work order: complete when all is done, else scrap what was not "
        "started (a reason is then required)"
    ),
    tag="work orders",
    roles=SUPERVISORS,
    command=True,
    body=obj({}, {"reason": STRING}),
    responses=(Doc(200, "The completed or closed work order.", ref("WorkOrder")),),
)
def close_work_order(number: str) -> tuple[Response, int]:
    order = services().dispatch.close_work_order(
        actor=require_caller().username,
        number=number,
        reason=payload().get("reason", ""),
        idempotency_key=idempotency_key(),
    )
    return _json(order.to_json())


@api_route(
    bp,
    "/work-centers",
    "GET",
    summary="The work centres and how many units or lots wait at each",
    tag="dispatch",
    roles=RUNNERS,
    responses=(Doc(200, "Work centres by name.", array_of("WorkCenterLoad")),),
)
def work_centers() -> tuple[Response, int]:
    return _json([w.to_json() for w in services().dispatch.work_centers()])


@api_route(
    bp,
    "/schedule",
    "GET",
    summary="The finite-capacity schedule of the open work orders, with the ones that will be late",
    tag="dispatch",
    roles=SUPERVISORS,
    responses=(Doc(200, "The plan, computed now.", ref("Schedule")),),
)
def schedule() -> tuple[Response, int]:
    return _json(services().dispatch.schedule().to_json())


def _whole(name: str, default: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name}: expected a whole number, got {text!r}.", field=name) from None


@api_route(
    bp,
    "/work-centers/<name>/queue",
    "GET",
    summary="What waits at a work centre, most urgent first (priority, then due date), and what "
    "runs there",
    tag="dispatch",
    roles=RUNNERS,
    query={
        "limit": {"type": "integer", "minimum": 1, "maximum": 200},
        "offset": {"type": "integer"},
    },
    responses=(
        Doc(200, "A page of the queue.", ref("WorkCenterQueue")),
        Doc(400, "limit or offset is not a whole number.", ref("Error")),
        Doc(422, "limit or offset is out of range.", ref("Error")),
    ),
)
def work_center_queue(name: str) -> tuple[Response, int]:
    found = services().dispatch.queue(name, limit=_whole("limit", 50), offset=_whole("offset", 0))
    return _json(found.to_json())
