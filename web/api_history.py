"""The tag historian API: ``GET /api/tags/<tag>/history`` exports a recorded tag's stored values
over a period as CSV (streamed) or Parquet (see :mod:`web.history_export`)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from engine.facade.historian import Historian
from web.history_export import (
    csv_chunks,
    filename,
    parquet_bytes,
    read_format,
    read_moment,
)
from web.openapi import api_route
from web.pages.nav import EQUIPMENT_READERS
from web.schemas import Response as Doc
from web.schemas import ref
from web.services import services

bp = Blueprint("api_history", __name__, url_prefix="/api/tags")

TIME = {"type": "string", "format": "date-time"}


def historian() -> Historian:
    """The historian facade over the app's database."""
    return Historian(services().config.db)


@api_route(
    bp,
    "/<tag>/history",
    "GET",
    summary="A recorded tag's stored values over a period, as CSV or Parquet",
    tag="devices",
    roles=EQUIPMENT_READERS,
    query={
        "from": {**TIME, "description": "Start (with its zone); default a day before `to`."},
        "to": {**TIME, "description": "End (with its zone), excluded; default now."},
        "format": {"enum": ["csv", "parquet"], "default": "csv"},
    },
    responses=(
        Doc(
            200,
            "CSV with the header row time, value, quality, reason (time in UTC, value empty "
            "when the quality is not good), streamed; with format=parquet the same columns as "
            "a Parquet file (application/vnd.apache.parquet).",
            {"type": "string"},
            "text/csv",
        ),
        Doc(400, "A time without its zone, or an unknown format.", ref("Error")),
        Doc(404, "The historian has no values of this tag.", ref("Error")),
        Doc(422, "The period ends before it starts, or is longer than 400 days.", ref("Error")),
    ),
)
def history(tag: str) -> Response:
    chosen = read_format(request.args)
    start, end = read_moment(request.args, "from"), read_moment(request.args, "to")
    points = historian().export(tag, start, end)
    if chosen == "parquet":
        response = Response(parquet_bytes(points, tag), mimetype="application/vnd.apache.parquet")
    else:
        response = Response(csv_chunks(points), mimetype="text/csv")
    extension = "parquet" if chosen == "parquet" else "csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(tag, extension)}"'
    return response
