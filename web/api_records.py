"""The compiled batch / device history records in the JSON API: a record as JSON (exceptions
first, with its review and content hash) and as PDF. Reviewing it (acknowledge, release, reject,
amend) is done on the record pages, where the reviewer signs."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from web.openapi import api_route
from web.pages.records import pdf_response, records
from web.schemas import STRING, open_obj, ref
from web.schemas import Response as Doc

bp = Blueprint("api_records", __name__, url_prefix="/api")

ANYONE: tuple[str, ...] = ()
KIND = {"enum": ["item", "work_order"]}
UNKNOWN_KIND = Doc(422, "The kind is neither item nor work_order.", ref("Error"))
RECORD = {
    **open_obj(
        {
            "header": open_obj({"kind": KIND, "number": STRING, "title": STRING}),
            "exceptions": {"type": "array", "items": open_obj({"key": STRING, "kind": STRING})},
            "steps": {"type": "array", "items": open_obj({"operation": STRING})},
            "holds": {"type": "array"},
            "nonconformances": {"type": "array"},
            "audit": {"type": "array"},
            "review": open_obj(
                {
                    "status": {"enum": ["open", "released", "rejected"]},
                    "content_hash": STRING,
                    "locked": {"type": "boolean"},
                }
            ),
            "open_exceptions": {"type": "integer"},
        }
    ),
    "description": "The compiled record: 'kind' is item (a unit or lot) or work_order. "
    "review.content_hash is the SHA-256 of the canonical JSON of header, steps, holds, "
    "nonconformances and audit.",
}


@api_route(
    bp,
    "/records/<kind>/<number>",
    "GET",
    summary="The batch or device history record of a unit, lot (kind item) or work order",
    tag="records",
    roles=ANYONE,
    responses=(Doc(200, "The record, exceptions first.", RECORD), UNKNOWN_KIND),
)
def get_record(kind: str, number: str) -> tuple[Response, int]:
    return jsonify(records().record(kind, number).to_json()), 200


@api_route(
    bp,
    "/records/<kind>/<number>/pdf",
    "GET",
    summary="The record as a paginated PDF with its content hash on every page",
    tag="records",
    roles=ANYONE,
    responses=(
        Doc(
            200,
            "A4 PDF; the X-Content-SHA256 header repeats the record's content hash.",
            {"type": "string", "format": "binary"},
            "application/pdf",
        ),
        UNKNOWN_KIND,
    ),
)
def record_pdf(kind: str, number: str) -> Response:
    return pdf_response(records().record(kind, number))
