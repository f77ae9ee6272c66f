"""The ERP API under ``/api/erp``: production orders in as B2MML (``application/xml``) or JSON,
and B2MML out: a work order's ``ProductionPerformance`` and a lot's ``MaterialLot``. A refused
document answers 422 with every problem in ``problems`` (see docs/erp.md)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from engine.commands.erp_import import ImportResult
from engine.facade.erp import Erp
from web.auth import require_caller
from web.errors import WebError
from web.openapi import api_route, payload
from web.pages.nav import SUPERVISORS
from web.schemas import ANY_OBJECT, NAME, STRING, obj, open_obj, ref
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_erp", __name__, url_prefix="/api/erp")

XML_TYPES = ("application/xml", "text/xml")
XML = "application/xml"

IMPORTED = open_obj(
    {
        "document_id": STRING,
        "orders": {
            "type": "array",
            "items": open_obj(
                {
                    "erp_order": STRING,
                    "work_order": STRING,
                    "product": STRING,
                    "quantity": {"type": "number"},
                    "status": STRING,
                    "created": {"type": "boolean"},
                }
            ),
        },
    }
)
REFUSED = Doc(
    422,
    "The document was refused whole; `problems` lists every problem (with its line for XML).",
    ref("Error"),
)


class UnsupportedMediaType(WebError):
    """The body is not in a format the route reads."""

    status = 415
    code = "unsupported_media_type"


def erp() -> Erp:
    """The ERP facade over the app's database."""
    return Erp(services().config.db)


def _imported(result: ImportResult) -> tuple[Response, int]:
    return jsonify(result.to_json()), 201 if result.created else 200


@api_route(
    bp,
    "/b2mml",
    "POST",
    summary="Import production orders: a B2MML ProductionSchedule or ProductionRequest "
    "(body application/xml); each becomes a released work order, or the whole document is "
    "refused; orders imported before return their work orders",
    tag="erp",
    roles=SUPERVISORS,
    command=True,
    responses=(
        Doc(201, "Work orders were made (and the ones imported before).", IMPORTED),
        Doc(200, "Every order had been imported before; nothing changed.", IMPORTED),
        Doc(415, "The body is not XML.", ref("Error")),
        REFUSED,
    ),
)
def import_b2mml() -> tuple[Response, int]:
    if request.mimetype not in XML_TYPES:
        raise UnsupportedMediaType(
            f"Send the B2MML document as application/xml, not {request.mimetype or 'no type'}; "
            "JSON orders go to /api/erp/orders.",
            field="Content-Type",
        )
    data = request.get_data(cache=False)
    return _imported(erp().import_b2mml(data, actor=require_caller().username, source="http"))


@api_route(
    bp,
    "/orders",
    "POST",
    summary="Import production orders written as JSON; the same rules as B2MML",
    tag="erp",
    roles=SUPERVISORS,
    command=True,
    body=obj(
        {"orders": {"type": "array", "minItems": 1, "items": ANY_OBJECT}},
        {"id": STRING},
    ),
    responses=(
        Doc(201, "Work orders were made (and the ones imported before).", IMPORTED),
        Doc(200, "Every order had been imported before; nothing changed.", IMPORTED),
        REFUSED,
    ),
)
def import_orders() -> tuple[Response, int]:
    result = erp().import_json(payload(), actor=require_caller().username, source="http")
    return _imported(result)


@api_route(
    bp,
    "/performance/<number>.xml",
    "GET",
    summary="A work order's B2MML ProductionPerformance: times per operation, consumed lots, "
    "good and scrapped output",
    tag="erp",
    roles=SUPERVISORS,
    responses=(Doc(200, "The document, as of now.", STRING, media_type=XML),),
)
def performance(number: str) -> Response:
    return Response(erp().performance_xml(number), mimetype=XML)


@api_route(
    bp,
    "/lots/<lot>.xml",
    "GET",
    summary="A received or made lot as a B2MML MaterialLot",
    tag="erp",
    roles=SUPERVISORS,
    query={"part": NAME},
    responses=(
        Doc(200, "The document.", STRING, media_type=XML),
        Doc(422, "Several parts have a lot of that number; give ?part=.", ref("Error")),
    ),
)
def material_lot(lot: str) -> Response:
    return Response(erp().material_lot_xml(lot, part=request.args.get("part")), mimetype=XML)
