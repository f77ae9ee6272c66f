"""The OEE API under ``/api/oee``: ISO 22400-2 KPIs of a machine or work centre over a period
(whole, or per shift), its six big losses and work orders' allocation ratios, a machine's stops,
and coding a stop (or splitting one into parts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.errors import NotFound
from engine.facade.performance import Performance, StopPart
from web.auth import require_caller
from web.errors import BadRequest
from web.openapi import api_route, payload
from web.pages.nav import READERS, RUNNERS, SUPERVISORS
from web.schemas import NUMBER_OR_NULL, STRING, TEXT, obj, open_obj, ref
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_oee", __name__, url_prefix="/api/oee")

INSTANT = {"type": "string", "format": "date-time"}
PERIOD = {
    "start": INSTANT,
    "end": INSTANT,
    "equipment": STRING,
    "work_center": STRING,
}
KPIS = open_obj(
    {
        name: NUMBER_OR_NULL
        for name in (
            "availability",
            "effectiveness",
            "quality_ratio",
            "oee_index",
            "first_pass_yield",
            "scrap_ratio",
            "rework_ratio",
            "throughput_per_h",
        )
    }
)
REPORT = open_obj(
    {
        "scope": STRING,
        "equipment": {"type": "array", "items": STRING},
        "start": STRING,
        "end": STRING,
        "times": open_obj({"planned_busy_s": {"type": "number"}}),
        "quantities": open_obj({"produced": {"type": "number"}}),
        "kpis": KPIS,
        "losses": {"type": "array", "items": open_obj({"reason": STRING})},
    }
)
SIX_LOSSES = (
    "breakdowns_s",
    "setup_s",
    "small_stops_s",
    "reduced_speed_s",
    "startup_rejects_s",
    "production_rejects_s",
)
LOSSES = open_obj(
    {
        "scope": STRING,
        "losses": open_obj({name: {"type": "number"} for name in SIX_LOSSES}),
        "orders": {
            "type": "array",
            "items": open_obj({"work_order": STRING, "allocation_ratio": NUMBER_OR_NULL}),
        },
    }
)
STOP = open_obj(
    {"start": STRING, "end": STRING, "state": STRING, "reason": STRING, "needs_reason": {}}
)
CODING = open_obj({"id": {"type": "integer"}, "reason": STRING, "start": STRING, "end": STRING})
PART = obj({"start": INSTANT, "end": INSTANT, "reason": STRING})
PERIOD_ERRORS = (
    Doc(400, "start or end is not a timestamp with a time zone.", ref("Error")),
    Doc(404, "There is no such machine or work centre.", ref("Error")),
    Doc(422, "The period does not run from quarter-hour to quarter-hour.", ref("Error")),
)


def performance() -> Performance:
    """The performance facade over the app's database."""
    return Performance(services().config.db, services().tags)


def timestamp(text: str, field: str) -> dt.datetime:
    """``text`` as a timestamp with a time zone, in UTC; a 400 naming ``field`` if it is not."""
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadRequest(
            f"{field}: {text!r} is not a timestamp with a time zone; write it like "
            "2027-01-31T06:00:00+01:00.",
            field=field,
        )
    return parsed.astimezone(dt.UTC)


def instant(name: str) -> dt.datetime:
    """The query parameter ``name`` as a timestamp."""
    return timestamp(request.args.get(name, ""), name)


def _scope() -> dict[str, str | None]:
    return {
        "equipment": request.args.get("equipment") or None,
        "work_center": request.args.get("work_center") or None,
    }


@api_route(
    bp,
    "",
    "GET",
    summary="ISO 22400-2 KPIs (availability, effectiveness, quality ratio, OEE index ...) of a "
    "machine or work centre over a period",
    tag="oee",
    roles=READERS,
    query={**PERIOD, "product": STRING},
    responses=(Doc(200, "The KPIs, times, quantities and losses.", REPORT), *PERIOD_ERRORS),
)
def oee() -> tuple[Response, int]:
    report = performance().oee(
        start=instant("start"), end=instant("end"), product=request.args.get("product") or None,
        **_scope(),
    )  # fmt: skip
    return jsonify(report.to_json()), 200


@api_route(
    bp,
    "/shifts",
    "GET",
    summary="The KPIs of each shift that starts in a period",
    tag="oee",
    roles=READERS,
    query=PERIOD,
    responses=(
        Doc(200, "One report per shift.", open_obj({"shifts": {"type": "array"}})),
        *PERIOD_ERRORS,
    ),
)
def shifts() -> tuple[Response, int]:
    found = performance().oee_per_shift(start=instant("start"), end=instant("end"), **_scope())
    return jsonify({"shifts": [s.to_json() for s in found]}), 200


@api_route(
    bp,
    "/losses",
    "GET",
    summary="The six big losses of a machine or work centre over a period, and the allocation "
    "ratio (ISO 22400-2) of each work order run on it then",
    tag="oee",
    roles=READERS,
    query=PERIOD,
    responses=(Doc(200, "The losses in seconds and the work orders.", LOSSES), *PERIOD_ERRORS),
)
def six_losses() -> tuple[Response, int]:
    report = performance().losses(start=instant("start"), end=instant("end"), **_scope())
    return jsonify(report.to_json()), 200


@api_route(
    bp,
    "/stops/<name>",
    "GET",
    summary="A machine's stops in a period, with their reasons and which still need one",
    tag="oee",
    roles=tuple(dict.fromkeys((*RUNNERS, *READERS))),
    query={"start": INSTANT, "end": INSTANT},
    responses=(
        Doc(200, "The stops, oldest first.", open_obj({"stops": {"type": "array", "items": STOP}})),
        Doc(400, "start or end is not a timestamp with a time zone.", ref("Error")),
        Doc(404, "There is no such machine.", ref("Error")),
        Doc(422, "The machine's work centre declares no downtime reasons.", ref("Error")),
    ),
)
def stops(name: str) -> tuple[Response, int]:
    found = performance().stops(equipment=name, start=instant("start"), end=instant("end"))
    return jsonify({"stops": [s.to_json() for s in found]}), 200


@api_route(
    bp,
    "/stops/<name>/codings",
    "POST",
    summary="Code a stop, or split one into parts with their own reasons (newest coding holds)",
    tag="oee",
    roles=tuple(dict.fromkeys((*RUNNERS, *SUPERVISORS))),
    body=obj({"parts": {"type": "array", "items": PART, "minItems": 1}}, {"comment": TEXT}),
    responses=(
        Doc(
            201, "The codings recorded.", open_obj({"codings": {"type": "array", "items": CODING}})
        ),
        Doc(404, "There is no such machine.", ref("Error")),
        Doc(409, "The machine was running or in set-up in a part.", ref("Error")),
        Doc(422, "Not a reason of the machine's tree, or a part ends in the future.", ref("Error")),
    ),
)
def code(name: str) -> tuple[Response, int]:
    body = payload()
    parts = [
        StopPart(
            timestamp(p["start"], "parts.start"), timestamp(p["end"], "parts.end"), p["reason"]
        )
        for p in body["parts"]
    ]
    codings = performance().code_stop(
        actor=require_caller().username, equipment=name, parts=parts,
        comment=body.get("comment", ""),
    )  # fmt: skip
    return jsonify({"codings": [c.to_json() for c in codings]}), 201


class OeeCollector(Collector):
    """Prometheus gauges of each work centre's KPIs and six big losses over the last 24 hours,
    at scrape time."""

    GAUGES = ("availability", "effectiveness", "quality_ratio", "oee_index")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        end = performance().clock()
        end = end.replace(minute=end.minute - end.minute % 15, second=0, microsecond=0)
        try:
            reports = performance().oee_of_work_centers(start=end - dt.timedelta(days=1), end=end)
        except NotFound:  # nothing deployed yet
            reports = []
        for name in self.GAUGES:
            gauge = GaugeMetricFamily(
                f"ferrule_oee_{name}",
                f"ISO 22400-2 {name.replace('_', ' ')} of the work centre over the last 24 h.",
                labels=["work_center"],
            )
            for report in reports:
                value = getattr(report.kpis, name)
                if value is not None:
                    gauge.add_metric([report.scope.removeprefix("work center ")], value)
            yield gauge
        losses = GaugeMetricFamily(
            "ferrule_oee_loss_seconds",
            "Six big losses of the work centre over the last 24 h, seconds of planned busy time.",
            labels=["work_center", "loss"],
        )
        for report in reports:
            center = report.scope.removeprefix("work center ")
            six = performance().losses(
                start=end - dt.timedelta(days=1), end=end, work_center=center
            )
            for loss in SIX_LOSSES:
                losses.add_metric([center, loss.removesuffix("_s")], getattr(six.losses, loss))
        yield losses
