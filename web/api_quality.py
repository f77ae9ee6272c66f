"""The nonconformance API under ``/api``: open one on a unit, lot or machine, propose and sign
dispositions (the site's material review board), reject one, link a CAPA, add photos, and a
Pareto of defects. Every route is declared with :func:`web.openapi.api_route`; commands honour
the ``Idempotency-Key`` header."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.access.signatures import DISPOSITION_MEANINGS
from engine.commands.deviations import DEVIATION_MEANING, DeviationInput
from engine.commands.first_articles import APPROVED, REJECTED
from engine.commands.nonconformances import OPEN_ROLES
from engine.floor.review_board import REJECTION_MEANING
from engine.queries.nc_pareto import DIMENSIONS
from engine.records.production import DISPOSITIONS
from web.api_oee import timestamp
from web.auth import require_caller, signature_input
from web.openapi import api_route, idempotency_key, payload
from web.pages.nav import REVIEW_BOARD
from web.schemas import (
    NAME,
    NULLABLE_STRING,
    NUMBER,
    STRING,
    TEXT,
    TIMESTAMP,
    array_of,
    obj,
    open_obj,
    ref,
)
from web.schemas import Response as Doc
from web.services import services
from web.uploads import FILE, decoded_upload

bp = Blueprint("api_quality", __name__, url_prefix="/api")

TAG = "nonconformances"
CAPA_ROLES = ("quality",)
FIRST_ARTICLE_MEANINGS = (APPROVED, REJECTED)
NC = ref("Nonconformance")
SIGNATURE = obj({"password": TEXT, "meaning": TEXT})
PARETO = open_obj(
    {
        "by": STRING, "since": TIMESTAMP, "until": TIMESTAMP, "total": NUMBER,
        "bars": {"type": "array", "items": open_obj(
            {"name": STRING, "count": NUMBER, "cumulative_percent": NUMBER})},
    }
)  # fmt: skip


def _json(data: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(data), status


def _actor() -> str:
    return require_caller().username


@api_route(
    bp,
    "/nonconformances",
    "GET",
    summary="Nonconformances, newest first",
    tag=TAG,
    roles=(),
    query={"open": {"enum": ["true", "false"]}, "item": STRING},
    responses=(Doc(200, "Nonconformances.", array_of("Nonconformance")),),
)
def list_nonconformances() -> tuple[Response, int]:
    found = services().ferrule.nonconformances(
        open_only=request.args.get("open") == "true", item=request.args.get("item") or None
    )
    return _json([nc.to_json() for nc in found])


@api_route(
    bp,
    "/nonconformances",
    "POST",
    summary="Open a nonconformance on a unit or lot being made, a lot of material or a machine",
    tag=TAG,
    roles=OPEN_ROLES,
    command=True,
    body=obj(
        {"defect_code": NAME, "description": TEXT},
        {
            "item": {**NAME, "description": "A unit's serial or a lot being made."},
            "part": {**NAME, "description": "With lot: the part of a lot of material."},
            "lot": {**NAME, "description": "With part: a lot of material (a supplier lot too)."},
            "equipment": NAME,
            "quantity": {**NUMBER, "description": "The quantity affected."},
        },
    ),
    responses=(Doc(201, "The new nonconformance.", NC),),
)
def open_nonconformance() -> tuple[Response, int]:
    body = payload()
    nc = services().ferrule.open_nonconformance(
        actor=_actor(),
        defect_code=body["defect_code"],
        description=body["description"],
        item=body.get("item"),
        part=body.get("part"),
        lot=body.get("lot"),
        equipment=body.get("equipment"),
        quantity=body.get("quantity"),
        idempotency_key=idempotency_key(),
    )
    return _json(nc.to_json(), 201)


@api_route(
    bp,
    "/nonconformances/<int:nc_id>",
    "GET",
    summary="One nonconformance, with its dispositions and their signatures",
    tag=TAG,
    roles=(),
    responses=(Doc(200, "The nonconformance.", NC),),
)
def get_nonconformance(nc_id: int) -> tuple[Response, int]:
    return _json(services().ferrule.nonconformance(nc_id).to_json())


@api_route(
    bp,
    "/nonconformances/<int:nc_id>/disposition",
    "POST",
    summary="Propose a disposition, signed by the caller; it takes effect once every role of the "
    "site's review board has signed",
    tag=TAG,
    roles=REVIEW_BOARD,
    command=True,
    body=obj(
        {
            "decision": {"enum": list(DISPOSITIONS)},
            "reason": TEXT,
            "signature": obj({"password": TEXT, "meaning": {"enum": list(DISPOSITION_MEANINGS)}}),
        },
        {
            "target_operation": NULLABLE_STRING,
            "quantity": {**NUMBER, "description": "A lot's scrap or return: how much."},
        },
    ),
    responses=(
        Doc(200, "The nonconformance, decided or with the disposition pending.", NC),
        Doc(429, "Too many failed sign-ins of the caller; wait, then sign again.", ref("Error")),
    ),
)
def disposition(nc_id: int) -> tuple[Response, int]:
    body = payload()
    actor = _actor()
    signature = body["signature"]
    nc = services().ferrule.disposition(
        actor=actor,
        nonconformance_id=nc_id,
        decision=body["decision"],
        reason=body["reason"],
        signature=signature_input(actor, signature["password"], signature["meaning"]),
        target_operation=body.get("target_operation"),
        quantity=body.get("quantity"),
        idempotency_key=idempotency_key(),
    )
    return _json(nc.to_json())


@api_route(
    bp,
    "/nonconformances/<int:nc_id>/disposition/signatures",
    "POST",
    summary="Sign the pending disposition as a member of the review board, or reject it (meaning "
    f"'{REJECTION_MEANING}', with a reason)",
    tag=TAG,
    roles=REVIEW_BOARD,
    command=True,
    body=obj(
        {
            "signature": obj(
                {
                    "password": TEXT,
                    "meaning": {"enum": [*DISPOSITION_MEANINGS, REJECTION_MEANING]},
                }
            )
        },
        {"reason": TEXT},
    ),
    responses=(
        Doc(200, "The nonconformance: decided once the last signature came.", NC),
        Doc(429, "Too many failed sign-ins of the caller; wait, then sign again.", ref("Error")),
    ),
)
def sign_disposition(nc_id: int) -> tuple[Response, int]:
    body = payload()
    actor = _actor()
    signature = body["signature"]
    nc = services().ferrule.sign_disposition(
        actor=actor,
        nonconformance_id=nc_id,
        signature=signature_input(actor, signature["password"], signature["meaning"]),
        reason=body.get("reason", ""),
        idempotency_key=idempotency_key(),
    )
    return _json(nc.to_json())


@api_route(
    bp,
    "/nonconformances/<int:nc_id>/capa",
    "POST",
    summary="Link the nonconformance to a CAPA of the site's QMS (URL from the site's capa_link "
    "unless given)",
    tag=TAG,
    roles=CAPA_ROLES,
    command=True,
    body=obj({"capa": NAME}, {"url": TEXT}),
    responses=(Doc(200, "The nonconformance with its CAPA.", NC),),
)
def link_capa(nc_id: int) -> tuple[Response, int]:
    body = payload()
    nc = services().ferrule.link_capa(
        actor=_actor(),
        nonconformance_id=nc_id,
        capa=body["capa"],
        url=body.get("url"),
        idempotency_key=idempotency_key(),
    )
    return _json(nc.to_json())


@api_route(
    bp,
    "/nonconformances/<int:nc_id>/photos",
    "POST",
    summary="Add a photo of the defect (stored by its SHA-256)",
    tag=TAG,
    roles=OPEN_ROLES,
    command=True,
    body=obj({"photo": FILE}),
    responses=(Doc(201, "The nonconformance with the photo.", NC),),
)
def add_photo(nc_id: int) -> tuple[Response, int]:
    body = payload()
    nc = services().ferrule.add_nonconformance_photo(
        actor=_actor(), nonconformance_id=nc_id, photo=decoded_upload(body["photo"], "photo")
    )
    return _json(nc.to_json(), 201)


def period(default_days: int = 30) -> tuple[dt.datetime, dt.datetime]:
    """``since`` and ``until`` of the query (timestamps with a time zone); the last
    ``default_days`` days by default."""
    given = request.args.get("until")
    until = timestamp(given, "until") if given else dt.datetime.now(dt.UTC)
    if "since" in request.args:
        return timestamp(request.args["since"], "since"), until
    return until - dt.timedelta(days=default_days), until


@api_route(
    bp,
    "/nonconformances/pareto",
    "GET",
    summary="Pareto of nonconformances opened in a period, by defect code, operation, "
    "equipment or supplier",
    tag=TAG,
    roles=(),
    query={"by": {"enum": list(DIMENSIONS)}, "since": STRING, "until": STRING},
    responses=(Doc(200, "Counts, largest first, with cumulative shares.", PARETO),),
)
def pareto() -> tuple[Response, int]:
    since, until = period()
    found = services().ferrule.nonconformance_pareto(
        by=request.args.get("by", "defect_code"), since=since, until=until
    )
    return _json(found.to_json())


# ---------------------------------------------------------------- planned deviations

DEVIATION = ref("Deviation")


@api_route(
    bp,
    "/deviations",
    "GET",
    summary="Planned deviations, newest first",
    tag=TAG,
    roles=(),
    responses=(Doc(200, "Deviations.", array_of("Deviation")),),
)
def list_deviations() -> tuple[Response, int]:
    return _json([d.to_json() for d in services().ferrule.deviations()])


@api_route(
    bp,
    "/deviations",
    "POST",
    summary="Approve a planned deviation: a gate accepts a value in another range for the named "
    "work orders, for a time (signed by the caller, quality)",
    tag=TAG,
    roles=CAPA_ROLES,
    command=True,
    body=obj(
        {
            "product": NAME,
            "operation": NAME,
            "gate": NAME,
            "subject": {**NAME, "description": "A collected field or a tag the gate reads."},
            "low": NUMBER,
            "high": NUMBER,
            "work_orders": {"type": "array", "items": NAME, "minItems": 1},
            "valid_from": TIMESTAMP,
            "valid_until": TIMESTAMP,
            "reason": TEXT,
            "signature": obj({"password": TEXT, "meaning": {"enum": [DEVIATION_MEANING]}}),
        }
    ),
    responses=(Doc(201, "The deviation.", DEVIATION),),
)
def approve_deviation() -> tuple[Response, int]:
    body = payload()
    actor = _actor()
    signature = body["signature"]
    given = DeviationInput(
        product=body["product"],
        operation=body["operation"],
        gate=body["gate"],
        subject=body["subject"],
        low=float(body["low"]),
        high=float(body["high"]),
        work_orders=tuple(body["work_orders"]),
        valid_from=timestamp(body["valid_from"], "valid_from"),
        valid_until=timestamp(body["valid_until"], "valid_until"),
        reason=body["reason"],
    )
    found = services().ferrule.approve_deviation(
        actor=actor,
        given=given,
        signature=signature_input(actor, signature["password"], signature["meaning"]),
        idempotency_key=idempotency_key(),
    )
    return _json(found.to_json(), 201)


@api_route(
    bp,
    "/deviations/<int:deviation_id>/withdraw",
    "POST",
    summary="Withdraw a deviation before its time",
    tag=TAG,
    roles=CAPA_ROLES,
    command=True,
    body=obj({"reason": TEXT}),
    responses=(Doc(200, "The withdrawn deviation.", DEVIATION),),
)
def withdraw_deviation(deviation_id: int) -> tuple[Response, int]:
    found = services().ferrule.withdraw_deviation(
        actor=_actor(),
        deviation_id=deviation_id,
        reason=payload()["reason"],
        idempotency_key=idempotency_key(),
    )
    return _json(found.to_json())


# ---------------------------------------------------------------- first articles


@api_route(
    bp,
    "/items/<number>/operations/<operation>/first-article",
    "POST",
    summary="Approve or reject the first article of a work order at an operation that asks for "
    "one (signed by the caller, quality; the meaning says which)",
    tag=TAG,
    roles=CAPA_ROLES,
    command=True,
    body=obj(
        {"signature": obj({"password": TEXT, "meaning": {"enum": list(FIRST_ARTICLE_MEANINGS)}})},
        {"note": {**TEXT, "description": "What was inspected; required to reject."}},
    ),
    responses=(Doc(201, "The decision.", open_obj({"approved": {"type": "boolean"}})),),
)
def decide_first_article(number: str, operation: str) -> tuple[Response, int]:
    body = payload()
    actor = _actor()
    signature = body["signature"]
    found = services().ferrule.decide_first_article(
        actor=actor,
        item=number,
        operation=operation,
        signature=signature_input(actor, signature["password"], signature["meaning"]),
        note=body.get("note", ""),
        idempotency_key=idempotency_key(),
    )
    return _json(found.to_json(), 201)


# ---------------------------------------------------------------- photos


@api_route(
    bp,
    "/photos",
    "POST",
    summary="Store a photo (a photo field of collect:, taken with a tablet's camera); the "
    "completion then sends its SHA-256 as the field's value",
    tag=TAG,
    roles=(*OPEN_ROLES, "admin"),
    command=True,
    body=obj({"photo": FILE}),
    responses=(
        Doc(
            201,
            "The stored photo.",
            open_obj({"sha256": STRING, "media_type": STRING, "size": NUMBER}),
        ),
    ),
)
def store_photo() -> tuple[Response, int]:
    stored = services().ferrule.store_photo(
        actor=_actor(), photo=decoded_upload(payload()["photo"], "photo")
    )
    return _json(stored.to_json(), 201)


@bp.get("/photos/<sha256>")
def photo(sha256: str) -> Response:
    """A stored photo, as stored (its type told by its bytes); undocumented in OpenAPI as it
    answers an image, not JSON. Any signed-in caller may see it."""
    require_caller()
    stored = services().ferrule.photo(sha256)
    response = Response(stored.content, mimetype=stored.media_type)
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@bp.get("/files/<sha256>")
def stored_file(sha256: str) -> Response:
    """A stored file (an attachment field's value), downloaded as it was uploaded: never shown
    inline, so nothing in it runs in the browser. Any signed-in caller may fetch it."""
    require_caller()
    stored = services().ferrule.stored_file(sha256)
    response = Response(stored.content, mimetype="application/octet-stream")
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in stored.filename) or sha256
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
