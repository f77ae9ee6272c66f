"""The JSON API under ``/api``: a thin layer that checks roles, validates bodies and calls the
engine. Every route is declared with :func:`web.openapi.api_route`, which also documents it.

Commands take the caller as the actor and honour the ``Idempotency-Key`` header: the engine's
facades store the key with the command's result in the command's own transaction, and a retry with
the same key gets that result back.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.commands.bom import ConsumptionInput
from engine.errors import Blocked, NotFound
from engine.queries.audit_trail import PAGE_MAX
from web.api_dispatch import PLAN_FIELDS, plan_of
from web.auth import require_caller, signature_input, signature_inputs
from web.errors import BadRequest
from web.metrics import INTERLOCK_BLOCKS
from web.openapi import api_route, document, idempotency_key, payload
from web.pages.audit import (
    PAGE,
    csv_download,
    read_filter,
    read_limit,
    read_number,
    site_zone,
    trail,
)
from web.pages.nav import AUDITORS
from web.schemas import (
    INTEGER,
    NAME,
    NULLABLE_TIMESTAMP,
    NUMBER,
    ROLE,
    STRING,
    STRING_MAP,
    TEXT,
    Schema,
    array_of,
    obj,
    open_obj,
    ref,
)
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api", __name__, url_prefix="/api")

ANYONE: tuple[str, ...] = ()
ADMIN = ("admin",)
PLANNERS = ("supervisor", "admin")
RUNNERS = ("operator", "supervisor")
HOLDERS = ("supervisor", "quality")
REPORTERS = ("operator", "supervisor", "quality")
QUALITY = ("quality",)
CONFIGURERS = ("engineer", "admin")


def _json(data: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(data), status


def _actor() -> str:
    return require_caller().username


def _instant(value: str | None, field: str) -> dt.datetime | None:
    """An ISO 8601 timestamp with its offset, e.g. ``2027-01-31T12:00:00Z``."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadRequest(
            f"{field}: {value!r} is not a timestamp with a time zone; "
            "write it like 2027-01-31T12:00:00Z.",
            field=field,
        )
    return parsed


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document (public: it describes, it grants nothing)."""
    return jsonify(document())


# ---------------------------------------------------------------- who am I


@api_route(
    bp,
    "/me",
    "GET",
    summary="The caller's username and roles",
    tag="access",
    roles=ANYONE,
    responses=(
        Doc(
            200,
            "The caller.",
            open_obj(
                {
                    "username": STRING,
                    "roles": {"type": "array", "items": STRING},
                    "via": {"enum": ["session", "token"]},
                }
            ),
        ),
    ),
)
def me() -> tuple[Response, int]:
    caller = require_caller()
    return _json({"username": caller.username, "roles": sorted(caller.roles), "via": caller.via})


# ---------------------------------------------------------------- API tokens


@api_route(
    bp,
    "/tokens",
    "GET",
    summary="List API tokens",
    tag="access",
    roles=ADMIN,
    responses=(Doc(200, "Every token, newest first (never with its secret).", array_of("Token")),),
)
def list_tokens() -> tuple[Response, int]:
    return _json([t.to_json() for t in services().access.tokens()])


@api_route(
    bp,
    "/tokens",
    "POST",
    summary="Create an API token: for oneself, or for someone else with roles the caller holds too",
    tag="access",
    roles=ADMIN,
    command=True,
    body=obj(
        {"name": NAME, "username": NAME, "roles": {"type": "array", "items": ROLE, "minItems": 1}},
        {"expires_at": NULLABLE_TIMESTAMP},
    ),
    responses=(Doc(201, "The token and its secret, shown only this once.", ref("NewToken")),),
)
def create_token() -> tuple[Response, int]:
    body = payload()
    created = services().access.create_token(
        actor=_actor(),
        name=body["name"],
        username=body["username"],
        roles=tuple(body["roles"]),
        expires_at=_instant(body.get("expires_at"), "expires_at"),
        idempotency_key=idempotency_key(),
    )
    return _json(created.to_json(), 201)


@api_route(
    bp,
    "/tokens/<int:token_id>",
    "DELETE",
    summary="Revoke an API token",
    tag="access",
    roles=ADMIN,
    command=True,
    responses=(Doc(200, "The revoked token.", ref("Token")),),
)
def revoke_token(token_id: int) -> tuple[Response, int]:
    token = services().access.revoke_token(
        actor=_actor(), token_id=token_id, idempotency_key=idempotency_key()
    )
    if token is None:
        raise NotFound(f"There is no API token {token_id}; list them with GET /api/tokens.")
    return _json(token.to_json())


# ---------------------------------------------------------------- work orders


@api_route(
    bp,
    "/work-orders",
    "GET",
    summary="List work orders",
    tag="work orders",
    roles=ANYONE,
    query={"status": STRING},
    responses=(Doc(200, "Work orders.", array_of("WorkOrder")),),
)
def list_work_orders() -> tuple[Response, int]:
    orders = services().ferrule.work_orders(status=request.args.get("status") or None)
    return _json([o.to_json() for o in orders])


@api_route(
    bp,
    "/work-orders",
    "POST",
    summary="Create a work order",
    tag="work orders",
    roles=PLANNERS,
    command=True,
    body=obj(
        {"product": NAME, "quantity": {"type": "number", "exclusiveMinimum": 0}},
        {"number": NAME, **PLAN_FIELDS},
    ),
    responses=(Doc(201, "The new work order (not yet released).", ref("WorkOrder")),),
)
def create_work_order() -> tuple[Response, int]:
    body = payload()
    order = services().ferrule.create_work_order(
        actor=_actor(),
        product=body["product"],
        quantity=body["quantity"],
        number=body.get("number"),
        plan=plan_of(body),
        idempotency_key=idempotency_key(),
    )
    return _json(order.to_json(), 201)


@api_route(
    bp,
    "/work-orders/<number>",
    "GET",
    summary="One work order with its items",
    tag="work orders",
    roles=ANYONE,
    responses=(Doc(200, "The work order.", ref("WorkOrder")),),
)
def get_work_order(number: str) -> tuple[Response, int]:
    return _json(services().ferrule.work_order(number).to_json())


@api_route(
    bp,
    "/work-orders/<number>/release",
    "POST",
    summary="Release a work order: create its serial numbers or lots",
    tag="work orders",
    roles=PLANNERS,
    command=True,
    responses=(Doc(200, "The released work order.", ref("WorkOrder")),),
)
def release_work_order(number: str) -> tuple[Response, int]:
    order = services().ferrule.release_work_order(
        actor=_actor(), number=number, idempotency_key=idempotency_key()
    )
    return _json(order.to_json())


@api_route(
    bp,
    "/work-orders/<number>/cancel",
    "POST",
    summary="Cancel a work order",
    tag="work orders",
    roles=PLANNERS,
    command=True,
    body=obj({"reason": TEXT}),
    responses=(Doc(200, "The cancelled work order.", ref("WorkOrder")),),
)
def cancel_work_order(number: str) -> tuple[Response, int]:
    order = services().ferrule.cancel_work_order(
        actor=_actor(), number=number, reason=payload()["reason"], idempotency_key=idempotency_key()
    )
    return _json(order.to_json())


@api_route(
    bp,
    "/work-orders/<number>/complete",
    "POST",
    summary="Close a work order whose items are all finished",
    tag="work orders",
    roles=PLANNERS,
    command=True,
    responses=(Doc(200, "The completed work order.", ref("WorkOrder")),),
)
def complete_work_order(number: str) -> tuple[Response, int]:
    order = services().ferrule.complete_work_order(
        actor=_actor(), number=number, idempotency_key=idempotency_key()
    )
    return _json(order.to_json())


# ---------------------------------------------------------------- execution


@api_route(
    bp,
    "/items/<number>/operations/<operation>/start",
    "POST",
    summary="Start an operation on a unit or lot (every interlock is checked and recorded)",
    tag="execution",
    roles=RUNNERS,
    command=True,
    body=obj(
        {},
        {
            "tool": {
                **NAME,
                "description": "The id of the tool scanned, for an operation that "
                "requires a tool (e.g. A-17).",
            }
        },
    ),
    body_required=False,
    responses=(
        Doc(200, "Started; every check passed.", ref("StartResult")),
        Doc(409, "Blocked by an interlock (each check in 'checks') or wrong state.", ref("Error")),
    ),
)
def start_operation(number: str, operation: str) -> tuple[Response, int]:
    try:
        result = services().ferrule.start_operation(
            actor=_actor(), item=number, operation=operation, idempotency_key=idempotency_key(),
            tool=payload().get("tool"),
        )  # fmt: skip
    except Blocked:
        INTERLOCK_BLOCKS.labels(operation).inc()
        raise
    return _json(result.to_json())


COMPLETION = obj(
    {},
    {
        "data": {"type": "object", "description": "Entered values by field name."},
        "units": {**STRING_MAP, "description": "A unit per field when not the configured one."},
        "consume": {
            "type": "array",
            "items": obj({"part": NAME, "lot": NAME}, {"quantity": NUMBER}),
        },
        "signatures": {
            "type": "array",
            "items": obj({"username": NAME, "password": TEXT, "meaning": TEXT}),
        },
        "expected_revision": INTEGER,
    },
)


@api_route(
    bp,
    "/items/<number>/operations/<operation>/complete",
    "POST",
    summary="Complete a started operation: data, consumptions, signatures; gates route the item",
    tag="execution",
    roles=RUNNERS,
    command=True,
    body=COMPLETION,
    responses=(
        Doc(200, "Where the item went.", ref("CompleteResult")),
        Doc(429, "A signer has too many failed sign-ins; wait, then sign again.", ref("Error")),
    ),
)
def complete_operation(number: str, operation: str) -> tuple[Response, int]:
    body = payload()
    result = services().ferrule.complete_operation(
        actor=_actor(),
        item=number,
        operation=operation,
        data=body.get("data", {}),
        units=body.get("units"),
        consume=[
            ConsumptionInput(c["part"], c["lot"], c.get("quantity"))
            for c in body.get("consume", [])
        ],
        signatures=signature_inputs(body.get("signatures", [])),
        expected_revision=body.get("expected_revision"),
        idempotency_key=idempotency_key(),
    )
    return _json(result.to_json())


# ---------------------------------------------------------------- items: holds, state, records


REASON = obj({"reason": TEXT})


@api_route(
    bp,
    "/items/<number>/hold",
    "POST",
    summary="Put a unit or lot on hold",
    tag="holds",
    roles=HOLDERS,
    command=True,
    body=REASON,
    responses=(Doc(200, "The item, now on hold.", ref("ItemState")),),
)
def hold_item(number: str) -> tuple[Response, int]:
    state = services().ferrule.hold(
        actor=_actor(), item=number, reason=payload()["reason"], idempotency_key=idempotency_key()
    )
    return _json(state.to_json())


@api_route(
    bp,
    "/items/<number>/release",
    "POST",
    summary="Release a held unit or lot",
    tag="holds",
    roles=HOLDERS,
    command=True,
    body=REASON,
    responses=(Doc(200, "The item, released.", ref("ItemState")),),
)
def release_item(number: str) -> tuple[Response, int]:
    state = services().ferrule.release(
        actor=_actor(), item=number, reason=payload()["reason"], idempotency_key=idempotency_key()
    )
    return _json(state.to_json())


@api_route(
    bp,
    "/items/<number>",
    "GET",
    summary="A unit or lot's current state",
    tag="records",
    roles=ANYONE,
    responses=(Doc(200, "The item.", ref("Item")),),
)
def get_item(number: str) -> tuple[Response, int]:
    return _json(services().ferrule.item(number).to_json())


@api_route(
    bp,
    "/items/<number>/history",
    "GET",
    summary="Everything that happened to a unit or lot, oldest first",
    tag="records",
    roles=ANYONE,
    responses=(Doc(200, "Its events.", array_of("Event")),),
)
def item_history(number: str) -> tuple[Response, int]:
    return _json([e.to_json() for e in services().ferrule.history(number)])


@api_route(
    bp,
    "/items/<number>/genealogy",
    "GET",
    summary="Backward genealogy: every component, lot, run and config version in a unit",
    tag="genealogy",
    roles=ANYONE,
    responses=(Doc(200, "The trace.", ref("Genealogy")),),
)
def genealogy(number: str) -> tuple[Response, int]:
    return _json(services().ferrule.genealogy(number).to_json())


@api_route(
    bp,
    "/lots/<part>/<lot>/where-used",
    "GET",
    summary="Forward genealogy: every unit that contains a lot (a recall)",
    tag="genealogy",
    roles=ANYONE,
    responses=(Doc(200, "Items containing the lot.", array_of("UsedIn")),),
)
def where_used(part: str, lot: str) -> tuple[Response, int]:
    return _json([u.to_json() for u in services().ferrule.where_used(part, lot)])


@api_route(
    bp,
    "/wip",
    "GET",
    summary="Work in progress per work order, operation and status",
    tag="records",
    roles=ANYONE,
    responses=(Doc(200, "WIP rows.", array_of("WipRow")),),
)
def wip() -> tuple[Response, int]:
    return _json([row.to_json() for row in services().ferrule.wip()])


# ---------------------------------------------------------------- nonconformances


# ---------------------------------------------------------------- config versions


BUNDLE: dict[str, Schema] = {
    "files": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": STRING,
        "description": "Text files by path relative to the plant folder (site.yaml, routings/…).",
    },
    "assets": {
        "type": "object",
        "additionalProperties": STRING,
        "description": "Binary files (images) by path, base64-encoded.",
    },
}


APPROVAL: Schema = {
    **obj({"username": NAME, "password": TEXT, "meaning": TEXT}),
    "description": "Under change control: the approver's e-signature (their username and "
    "password, and the meaning the site's change_control names).",
}


def _assets(body: Mapping[str, Any]) -> dict[str, bytes]:
    decoded: dict[str, bytes] = {}
    for path, text in body.get("assets", {}).items():
        try:
            decoded[path] = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(
                f"assets.{path}: not valid base64; encode the file's bytes with base64.",
                field=f"assets.{path}",
            ) from None
    return decoded


@api_route(
    bp,
    "/config/versions",
    "GET",
    summary="Deployed config versions, newest first",
    tag="config",
    roles=CONFIGURERS,
    responses=(Doc(200, "Versions.", array_of("Version")),),
)
def list_versions() -> tuple[Response, int]:
    return _json([v.to_json() for v in services().config.versions()])


@api_route(
    bp,
    "/config/validate",
    "POST",
    summary="Check a config bundle without deploying it",
    tag="config",
    roles=CONFIGURERS,
    body=obj({"files": BUNDLE["files"]}, {"assets": BUNDLE["assets"]}),
    responses=(Doc(200, "Every diagnostic; ok is false when any is an error.", ref("Validation")),),
)
def validate_bundle() -> tuple[Response, int]:
    body = payload()
    result = services().config.check(body["files"], _assets(body))
    return _json(
        {
            "ok": result.plant is not None,
            "site": result.plant.site.name if result.plant is not None else None,
            "diagnostics": [d.to_json() for d in result.diagnostics],
        }
    )


@api_route(
    bp,
    "/config/versions",
    "POST",
    summary="Deploy a config bundle (refused with diagnostics when it has errors)",
    tag="config",
    roles=CONFIGURERS,
    command=True,
    body=obj(
        {"files": BUNDLE["files"]},
        {"assets": BUNDLE["assets"], "note": STRING, "approval": APPROVAL},
    ),
    responses=(
        Doc(
            201, "Deployed and active (with its approval under change control).", ref("Deployment")
        ),
        Doc(
            403,
            "Under change control: no approval, a refused signature, or an approver without the "
            "role (or the deployer, where two people are needed).",
            ref("Error"),
        ),
        Doc(
            422,
            "Refused: the bundle has errors ('diagnostics' lists them), or under change control "
            "its config tests fail or it has none (the message names the failing cases).",
            ref("Error"),
        ),
        Doc(429, "Too many failed sign-ins of the approver; wait, then sign again.", ref("Error")),
    ),
)
def deploy() -> tuple[Response, int]:
    body = payload()
    signed = body.get("approval")
    deployed = services().config.deploy(
        actor=_actor(),
        source=body["files"],
        assets=_assets(body),
        note=body.get("note", ""),
        approval=signature_input(signed["username"], signed["password"], signed["meaning"])
        if signed is not None
        else None,
        idempotency_key=idempotency_key(),
    )
    return _json(deployed.to_json(), 201)


@api_route(
    bp,
    "/config/review",
    "POST",
    summary="What a bundle would change in the active version, its config tests' result, and "
    "the change control a deploy must meet",
    tag="config",
    roles=CONFIGURERS,
    body=obj({"files": BUNDLE["files"]}, {"assets": BUNDLE["assets"]}),
    responses=(
        Doc(
            200,
            "The review; nothing is stored. 'tests' is null when they could not be run "
            "('tests_problem' says why).",
            ref("Review"),
        ),
    ),
)
def review_bundle() -> tuple[Response, int]:
    body = payload()
    review = services().config.review(body["files"], _assets(body))
    control = review.change_control
    return _json(
        {
            "ok": review.result.plant is not None,
            "site": review.result.plant.site.name if review.result.plant is not None else None,
            "diagnostics": [d.to_json() for d in review.result.diagnostics],
            "active_version": review.running.id if review.running is not None else None,
            "changes": [c.to_json() for c in review.changes],
            "tests": review.tests.to_json() if review.tests is not None else None,
            "tests_problem": review.tests_problem or None,
            "change_control": {
                "approver": control.approver,
                "meaning": control.meaning,
                "two_person": control.two_person,
            }
            if control is not None
            else None,
        }
    )


@api_route(
    bp,
    "/config/versions/<int:version_id>/rollback",
    "POST",
    summary="Re-activate an older config version",
    tag="config",
    roles=CONFIGURERS,
    command=True,
    body=obj({"reason": TEXT}, {"approval": APPROVAL}),
    responses=(
        Doc(200, "The version now active.", ref("Version")),
        Doc(
            403,
            "Under change control: no approval, a refused signature, or an approver without the "
            "role (or the person rolling back, where two people are needed).",
            ref("Error"),
        ),
        Doc(429, "Too many failed sign-ins of the approver; wait, then sign again.", ref("Error")),
    ),
)
def rollback(version_id: int) -> tuple[Response, int]:
    body = payload()
    signed = body.get("approval")
    version = services().config.rollback(
        actor=_actor(),
        version_id=version_id,
        reason=body["reason"],
        approval=signature_input(signed["username"], signed["password"], signed["meaning"])
        if signed is not None
        else None,
        idempotency_key=idempotency_key(),
    )
    return _json(version.to_json())


# ---------------------------------------------------------------- audit trail

AUDIT_QUERY: dict[str, Schema] = {
    "entity": {**STRING, "description": "Kind of record: lot, item, work_order, user, …"},
    "entity_id": {
        **STRING,
        "description": "The record (needs entity); a lot also by its number or PART/NUMBER.",
    },
    "actor": {**STRING, "description": "Who made the change."},
    "action": {**STRING, "description": "What was done: receive, hold, deploy, sign, …"},
    "since": {
        **STRING,
        "description": "From this date (its start, site time) or date-time with offset.",
    },
    "until": {
        **STRING,
        "description": "Up to this date (included, site time) or before this date-time.",
    },
}
BAD_FILTER = Doc(
    400,
    "A filter cannot be read (a time without its zone, an id without its kind of record, …).",
    ref("Error"),
)


@api_route(
    bp,
    "/audit",
    "GET",
    summary="Search the audit trail by record, user, action and period, newest first",
    tag="audit",
    roles=AUDITORS,
    query={
        **AUDIT_QUERY,
        "before": {**INTEGER, "minimum": 1, "description": "Only records older than this seq."},
        "limit": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE},
    },
    responses=(
        Doc(200, "A page of records with old and new values.", ref("AuditPage")),
        BAD_FILTER,
    ),
)
def audit_trail() -> tuple[Response, int]:
    where = read_filter(request.args, site_zone())
    limit = read_limit(request.args)
    entries = trail().search(where, before=read_number(request.args, "before"), limit=limit)
    older = entries[-1].seq if len(entries) == limit else None
    return _json({"entries": [e.to_json() for e in entries], "older": older})


@api_route(
    bp,
    "/audit.csv",
    "GET",
    summary="Every audit record matching the filters, as a CSV download",
    tag="audit",
    roles=AUDITORS,
    query=AUDIT_QUERY,
    responses=(
        Doc(
            200,
            "CSV (header row: seq, at, actor, action, entity, entity_id, old, new, reason), "
            "newest first; a cell a spreadsheet would read as a formula starts with an apostrophe.",
            {"type": "string"},
            "text/csv",
        ),
        BAD_FILTER,
    ),
)
def audit_csv() -> Response:
    return csv_download(read_filter(request.args, site_zone()))


# ---------------------------------------------------------------- devices


@api_route(
    bp,
    "/devices",
    "GET",
    summary="Devices of the active config with every tag's live value, quality and age",
    tag="devices",
    roles=ANYONE,
    responses=(Doc(200, "Devices.", array_of("Device")),),
)
def devices() -> tuple[Response, int]:
    _, plant = services().ferrule.plant()
    readings = services().tags.read([t.key for t in plant.all_tags()])
    now = time.time()
    listed = []
    for device in plant.devices.values():
        tags = []
        for tag in device.tags.values():
            found = readings.get(tag.key)
            tags.append(
                {
                    "key": tag.key,
                    "unit": tag.unit,
                    "value": found.value if found is not None else None,
                    "quality": found.quality if found is not None else "unknown",
                    "age_s": round(now - found.receive_time.timestamp(), 3) if found else None,
                    "reason": (found.reason if found is not None else "no reading") or None,
                    "writable": tag.writable,
                }
            )
        listed.append(
            {
                "name": device.name,
                "protocol": device.protocol,
                "description": device.description,
                "tags": tags,
            }
        )
    return _json(listed)
