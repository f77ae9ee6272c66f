"""The materials API under ``/api``: receiving from ERP (with a certificate of analysis, base64),
lot status with e-signatures, split, merge, moves, expiry, inventory, FEFO proposals and
work-order kits. Every route is declared with :func:`web.openapi.api_route`, which documents
it; commands honour the ``Idempotency-Key`` header."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.commands.lots import Receipt
from engine.infra.attachments import MAX_ATTACHMENT, Upload
from engine.queries.inventory import ON_HAND
from web.api_equipment import BULK_HOLD
from web.auth import require_caller, signature_inputs
from web.errors import BadRequest
from web.openapi import api_route, idempotency_key, payload
from web.pages.materials import materials, parse_date
from web.pages.nav import HOLDERS, STOCK_READERS, STORES
from web.schemas import (
    BOOLEAN,
    DATE,
    NAME,
    NULLABLE_DATE,
    NUMBER,
    STRING,
    TEXT,
    Schema,
    array_of,
    obj,
    open_obj,
    ref,
)
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_materials", __name__, url_prefix="/api")

LOT_ROLES = ("supervisor", "quality")
KITTERS = ("stores", "supervisor")
TAG = "materials"

LOT: Schema = ref("Lot")
LOT_DETAIL = open_obj(
    {
        "lot": LOT,
        "status": {**STRING, "description": "The status today: expired once the date has come."},
        "links": {
            "type": "array",
            "items": open_obj(
                {
                    "direction": {"enum": ["from", "into"]},
                    "kind": STRING,
                    "lot": STRING,
                    "quantity": NUMBER,
                }
            ),
        },
        "certificate_filename": STRING,
    }
)
STOCK_ROW = open_obj(
    {
        "part": STRING, "location": STRING, "status": STRING, "quantity": NUMBER,
        "unit": STRING, "reserved": NUMBER,
        "lots": {
            "type": "array",
            "items": open_obj(
                {"number": STRING, "quantity": NUMBER, "reserved": NUMBER,
                 "expires_on": NULLABLE_DATE, "supplier": STRING, "supplier_lot": STRING,
                 "hold_reason": STRING}
            ),
        },
    }
)  # fmt: skip
KIT = open_obj(
    {
        "work_order": STRING, "product": STRING, "quantity": NUMBER, "status": STRING,
        "complete": BOOLEAN, "short": BOOLEAN,
        "lines": {
            "type": "array",
            "items": open_obj(
                {"part": STRING, "unit": STRING, "needed": NUMBER, "reserved": NUMBER,
                 "free": NUMBER, "short": NUMBER,
                 "lots": {"type": "array", "items": open_obj(
                     {"number": STRING, "quantity": NUMBER, "expires_on": NULLABLE_DATE,
                      "location": STRING})}}
            ),
        },
    }
)  # fmt: skip
SIGNATURES: Schema = {
    "type": "array",
    "items": obj({"username": NAME, "password": TEXT, "meaning": TEXT}),
    "description": "The e-signature the site's inventory.sign asks for this action, if any.",
}
RECEIPT = obj(
    {"part": NAME, "supplier_lot": NAME, "quantity": NUMBER},
    {
        "unit": {**NAME, "description": "The quantity's unit; default the part's."},
        "number": {**NAME, "description": "Our lot number; default the supplier's lot."},
        "supplier": STRING,
        "manufactured_on": DATE,
        "expires_on": {**DATE, "description": "Default: the part's shelf life."},
        "location": {**NAME, "description": "A location of site.yaml; default the first."},
        "certificate": obj({"filename": NAME, "content_base64": STRING}, {"media_type": NAME}),
    },
)


def _json(data: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(data), status


def _actor() -> str:
    return require_caller().username


def _certificate(body: dict[str, Any]) -> Upload | None:
    given = body.get("certificate")
    if given is None:
        return None
    text = given["content_base64"]
    if len(text) > MAX_ATTACHMENT * 4 // 3 + 4:
        raise BadRequest(
            f"certificate.content_base64: the file is larger than {MAX_ATTACHMENT // 2**20} MB.",
            field="certificate.content_base64",
        )
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(
            "certificate.content_base64: not valid base64; encode the file's bytes with base64.",
            field="certificate.content_base64",
        ) from None
    return Upload(given["filename"], given.get("media_type", ""), content)


@api_route(
    bp,
    "/lots",
    "POST",
    summary="Receive a lot (goods-in): quarantined when its part says so, with its certificate",
    tag=TAG,
    roles=STORES,
    command=True,
    body=RECEIPT,
    responses=(Doc(201, "The new lot.", LOT),),
)
def receive_lot() -> tuple[Response, int]:
    body = payload()
    receipt = Receipt(
        part=body["part"],
        supplier_lot=body["supplier_lot"],
        quantity=body["quantity"],
        unit=body.get("unit"),
        number=body.get("number"),
        supplier=body.get("supplier", ""),
        manufactured_on=parse_date(body.get("manufactured_on"), "manufactured_on"),
        expires_on=parse_date(body.get("expires_on"), "expires_on"),
        location=body.get("location"),
    )
    lot = materials().receive(
        actor=_actor(),
        receipt=receipt,
        certificate=_certificate(body),
        idempotency_key=idempotency_key(),
    )
    return _json(lot.to_json(), 201)


@api_route(
    bp,
    "/lots/<part>/<lot>",
    "GET",
    summary="A lot: its status today, quantities, dates, location, certificate and links",
    tag=TAG,
    roles=STOCK_READERS,
    responses=(Doc(200, "The lot.", LOT_DETAIL),),
)
def get_lot(part: str, lot: str) -> tuple[Response, int]:
    return _json(materials().lot(part, lot).to_json())


@api_route(
    bp,
    "/lots/<part>/<lot>/certificate",
    "GET",
    summary="A lot's certificate of analysis, as uploaded",
    tag=TAG,
    roles=STOCK_READERS,
    responses=(
        Doc(200, "The file; its SHA-256 is the ETag.", {"type": "string", "format": "binary"},
            "application/octet-stream"),
    ),
)  # fmt: skip
def lot_certificate(part: str, lot: str) -> Response:
    detail = materials().lot(part, lot)
    if not detail.lot.certificate_sha256:
        raise BadRequest(f"Lot '{lot}' of part '{part}' has no certificate of analysis.")
    stored = materials().certificate(detail.lot.certificate_sha256)
    response = Response(stored.content, mimetype=stored.media_type)
    response.headers["ETag"] = f'"{detail.lot.certificate_sha256}"'
    return response


@api_route(
    bp,
    "/lots/<part>/<lot>/status",
    "POST",
    summary="Release (from quarantine or hold), hold or scrap a lot, all or a quantity",
    tag=TAG,
    roles=LOT_ROLES,
    command=True,
    body=obj(
        {"action": {"enum": ["release", "hold", "scrap"]}, "reason": TEXT},
        {"quantity": {**NUMBER, "description": "Scrap only this much."}, "signatures": SIGNATURES},
    ),
    responses=(Doc(200, "The lot.", LOT),),
)
def change_lot_status(part: str, lot: str) -> tuple[Response, int]:
    body = payload()
    changed = materials().change_status(
        actor=_actor(),
        action=body["action"],
        part=part,
        lot=lot,
        reason=body["reason"],
        quantity=body.get("quantity"),
        signatures=signature_inputs(body.get("signatures", [])),
        idempotency_key=idempotency_key(),
    )
    return _json(changed.to_json())


@api_route(
    bp,
    "/lots/<part>/<lot>/move",
    "POST",
    summary="Move a lot to another location of site.yaml",
    tag=TAG,
    roles=STORES,
    command=True,
    body=obj({"location": NAME}, {"reason": STRING}),
    responses=(Doc(200, "The lot.", LOT),),
)
def move_lot(part: str, lot: str) -> tuple[Response, int]:
    body = payload()
    moved = materials().move(
        actor=_actor(), part=part, lot=lot, location=body["location"],
        reason=body.get("reason", ""), idempotency_key=idempotency_key(),
    )  # fmt: skip
    return _json(moved.to_json())


@api_route(
    bp,
    "/lots/<part>/<lot>/split",
    "POST",
    summary="Split a quantity of a lot off into a new lot (linked to it)",
    tag=TAG,
    roles=STORES,
    command=True,
    body=obj({"quantity": NUMBER, "new_number": NAME, "reason": TEXT}),
    responses=(Doc(201, "The new lot.", LOT),),
)
def split_lot(part: str, lot: str) -> tuple[Response, int]:
    body = payload()
    child = materials().split(
        actor=_actor(), part=part, lot=lot, quantity=body["quantity"],
        new_number=body["new_number"], reason=body["reason"],
        idempotency_key=idempotency_key(),
    )  # fmt: skip
    return _json(child.to_json(), 201)


@api_route(
    bp,
    "/lots/merge",
    "POST",
    summary="Merge lots of one part, in one status, into a new lot (each linked to it)",
    tag=TAG,
    roles=STORES,
    command=True,
    body=obj(
        {
            "part": NAME,
            "lots": {"type": "array", "items": NAME, "minItems": 2},
            "new_number": NAME,
            "reason": TEXT,
        }
    ),
    responses=(Doc(201, "The merged lot.", LOT),),
)
def merge_lots() -> tuple[Response, int]:
    body = payload()
    merged = materials().merge(
        actor=_actor(), part=body["part"], lots_merged=body["lots"],
        new_number=body["new_number"], reason=body["reason"],
        idempotency_key=idempotency_key(),
    )  # fmt: skip
    return _json(merged.to_json(), 201)


@api_route(
    bp,
    "/lots/expire",
    "POST",
    summary="Mark every lot past its expiry date expired",
    tag=TAG,
    roles=LOT_ROLES,
    command=True,
    responses=(Doc(200, "The lots marked expired.", open_obj({"lots": array_of("Lot")})),),
)
def expire_lots() -> tuple[Response, int]:
    swept = materials().expire_due(actor=_actor(), idempotency_key=idempotency_key())
    return _json(swept.to_json())


@api_route(
    bp,
    "/inventory",
    "GET",
    summary="Stock per part, location and status, with the lots behind each figure",
    tag=TAG,
    roles=STOCK_READERS,
    query={"part": STRING, "location": STRING, "status": {"enum": list(ON_HAND)}},
    responses=(Doc(200, "Stock rows.", {"type": "array", "items": STOCK_ROW}),),
)
def get_inventory() -> tuple[Response, int]:
    status = request.args.get("status")
    if status is not None and status not in ON_HAND:
        raise BadRequest(f"status: {status!r} is not one of {', '.join(ON_HAND)}.", field="status")
    rows = materials().inventory(
        part=request.args.get("part") or None,
        location=request.args.get("location") or None,
        statuses=(status,) if status else ON_HAND,
    )
    return _json([row.to_json() for row in rows])


@api_route(
    bp,
    "/inventory/fefo",
    "GET",
    summary="The lot first-expiry-first-out proposes for each part asked (when the site uses FEFO)",
    tag=TAG,
    roles=(*STOCK_READERS, "operator"),
    query={
        "part": {**STRING, "description": "Repeat for several parts."},
        "work_order": {
            **STRING,
            "description": "The work order consuming: lots kept for its kit may be proposed, "
            "lots kept for other kits are not (without it, no kept lot is).",
        },
    },
    responses=(Doc(200, "By part: the lot number and its expiry.", {"type": "object"}),),
)
def fefo() -> tuple[Response, int]:
    proposed = materials().proposals(
        request.args.getlist("part"), request.args.get("work_order", "").strip()
    )
    return _json(
        {
            part: {
                "lot": lot.number,
                "expires_on": lot.expires_on.isoformat() if lot.expires_on else None,
            }
            for part, lot in proposed.items()
        }
    )


@api_route(
    bp,
    "/work-orders/<number>/kit",
    "GET",
    summary="A work order's kit: needed, reserved, free and short per BOM line",
    tag=TAG,
    roles=(*KITTERS, "quality"),
    responses=(Doc(200, "The kit.", KIT),),
)
def get_kit(number: str) -> tuple[Response, int]:
    return _json(materials().kit(number).to_json())


@api_route(
    bp,
    "/work-orders/<number>/kit",
    "POST",
    summary="Reserve free stock, first to expire first, for a work order's kit",
    tag=TAG,
    roles=KITTERS,
    command=True,
    responses=(Doc(200, "The kit, with what is still short.", KIT),),
)
def reserve_kit(number: str) -> tuple[Response, int]:
    kit = materials().reserve_kit(
        actor=_actor(), work_order=number, idempotency_key=idempotency_key()
    )
    return _json(kit.to_json())


@api_route(
    bp,
    "/work-orders/<number>/kit",
    "DELETE",
    summary="Give back every lot reserved for a work order's kit",
    tag=TAG,
    roles=KITTERS,
    command=True,
    responses=(Doc(200, "The kit, nothing reserved.", KIT),),
)
def unreserve_kit(number: str) -> tuple[Response, int]:
    kit = materials().unreserve_kit(
        actor=_actor(), work_order=number, idempotency_key=idempotency_key()
    )
    return _json(kit.to_json())


RECALLED_LOT = open_obj({"part": STRING, "number": STRING, "reason": STRING})


@api_route(
    bp,
    "/recalls/hold",
    "POST",
    summary="Hold a recalled supplier lot as received, the lots split or merged from it, and "
    "everything made from it (forward genealogy), in one transaction",
    tag="holds",
    roles=HOLDERS,
    command=True,
    body=obj(
        {"reason": TEXT},
        {
            "supplier_lot": {**NAME, "description": "The supplier's lot number, as received."},
            "lots": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "Lot ids to recall as well (or instead).",
            },
        },
    ),
    responses=(
        Doc(
            200,
            "The material lots held and skipped (with why), and the units and lots made from "
            "them that were held or skipped.",
            open_obj(
                {
                    "lots": {"type": "array", "items": RECALLED_LOT},
                    "skipped_lots": {"type": "array", "items": RECALLED_LOT},
                    "made": BULK_HOLD,
                }
            ),
        ),
    ),
)
def hold_recall() -> tuple[Response, int]:
    body = payload()
    result = services().recalls.hold_supplier_lots(
        actor=_actor(),
        reason=body["reason"],
        supplier_lot=body.get("supplier_lot", ""),
        lot_ids=body.get("lots", []),
        idempotency_key=idempotency_key(),
    )
    return _json(result.to_json())
