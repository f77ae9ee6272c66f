"""The audit trail review: what an inspector asks to see first.

Search the trail by record (its kind and id; a lot by its number), user, action and period, newest
first a page at a time with old → new values side by side; download the same selection as CSV;
verify the hash chain. Quality and admins may, and an inspector holding only the role ``auditor``
(declared by the site like any other role; it opens these pages and nothing else).

Filters come as query parameters (``entity``, ``entity_id``, ``actor``, ``action``, ``since``,
``until``, and ``before`` for the next page), the same for this page, its CSV and the API
(``/api/audit``, ``/api/audit.csv``). A period bound is a date (``2026-11-30``: that day in the
site's time zone; ``until`` includes the whole day) or a date-time with its offset
(``2026-11-30T14:00:00Z``).
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from engine.errors import Invalid, NotFound
from engine.facade.audit import AuditTrail
from engine.infra.audit import Verdict
from engine.queries.audit_trail import PAGE_MAX, AuditEntry, AuditFilter
from web.auth import requires
from web.errors import BadRequest
from web.pages.nav import AUDITORS
from web.services import services

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE = 100  # rows a page shows
FILTERS = ("entity", "entity_id", "actor", "action", "since", "until")
# Kinds of record the engine audits, offered as suggestions (any kind may be typed).
ENTITIES = (
    "item",
    "lot",
    "work_order",
    "nonconformance",
    "equipment",
    "user",
    "api_token",
    "config_version",
    "config_activation",
    "signature",
)


def trail() -> AuditTrail:
    """The audit facade over the app's database."""
    return AuditTrail(services().config.db)


def site_zone() -> zoneinfo.ZoneInfo:
    """The active site's time zone (UTC before the first deploy)."""
    try:
        _, plant = services().ferrule.plant()
    except NotFound:
        return zoneinfo.ZoneInfo("UTC")
    return zoneinfo.ZoneInfo(plant.site.timezone)


def _moment(text: str, name: str, zone: dt.tzinfo, *, end: bool) -> dt.datetime:
    """A period bound: a date (its start in ``zone``; with ``end`` the next day's start, so the
    day is included) or a date-time with its offset. BadRequest naming the parameter otherwise."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(), zone)
            return start.astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest(
            f"{name}: {text!r} is not a date or a time with its zone; write a date like "
            "2026-11-30 or a time like 2026-11-30T14:00:00Z.",
            field=name,
        )
    return moment.astimezone(dt.UTC)


def read_filter(args: Mapping[str, str], zone: dt.tzinfo) -> AuditFilter:
    """The filter the query parameters ask for; BadRequest (400) naming the parameter when one
    cannot be read or they contradict each other (an id without its kind of record)."""
    given = {name: (args.get(name) or "").strip() or None for name in FILTERS}
    since, until = given.pop("since"), given.pop("until")
    try:
        return AuditFilter(
            **given,
            since=_moment(since, "since", zone, end=False) if since else None,
            until=_moment(until, "until", zone, end=True) if until else None,
        )
    except Invalid as wrong:
        raise BadRequest(wrong.message, field=wrong.field) from None


def read_number(args: Mapping[str, str], name: str, *, default: int | None = None) -> int | None:
    """A positive whole number parameter (``before``, ``limit``); BadRequest otherwise."""
    text = (args.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 2**31 - 1:
        raise BadRequest(f"{name}: {text!r} is not a whole number of 1 or more.", field=name)
    return int(text)


def read_limit(args: Mapping[str, str]) -> int:
    """``limit``: 1 to :data:`PAGE_MAX` rows (default :data:`PAGE`)."""
    limit = read_number(args, "limit", default=PAGE)
    assert limit is not None
    if limit > PAGE_MAX:
        raise BadRequest(f"limit: ask for 1 to {PAGE_MAX} rows at a time.", field="limit")
    return limit


def csv_download(where: AuditFilter) -> Response:
    """The selection as a CSV attachment, streamed as the trail is read."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    rows: Iterator[str] = trail().csv(where)  # reads the trail as it is sent; no request needed
    response = Response(rows, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    return response


# ---------------------------------------------------------------- showing rows


@dataclass(frozen=True, slots=True)
class ValueChange:
    """One value of a row: its name, and what it was and became (None: not there)."""

    name: str
    old: str | None
    new: str | None


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def value_changes(entry: AuditEntry) -> list[ValueChange]:
    """The values a row changed, in name order: each one that differs between old and new."""
    old, new = entry.old or {}, entry.new or {}
    return [
        ValueChange(
            name,
            _shown(old[name]) if name in old else None,
            _shown(new[name]) if name in new else None,
        )
        for name in sorted({*old, *new})
        if old.get(name) != new.get(name) or (name in old) != (name in new)
    ]


def _page(
    where: AuditFilter | None,
    *,
    status: int = 200,
    message: str = "",
    verdict: Verdict | None = None,
) -> Response:
    zone = site_zone()
    before = read_number(request.args, "before") if where is not None else None
    entries = trail().search(where, before=before, limit=PAGE) if where is not None else []
    args = {name: request.args.get(name, "") for name in FILTERS}
    html = render_template(
        "audit.html",
        entries=[(entry, value_changes(entry)) for entry in entries],
        older=entries[-1].seq if len(entries) == PAGE else None,
        args=args,
        query={k: v for k, v in args.items() if v},
        zone=zone,
        entities=ENTITIES,
        message=message,
        paged=before is not None,
        verdict=verdict,
    )
    return Response(html, status=status, mimetype="text/html")


def _search_page(verdict: Verdict | None = None) -> Response:
    try:
        where = read_filter(request.args, site_zone())
        return _page(where, verdict=verdict)
    except (BadRequest, Invalid) as wrong:
        status = 400 if isinstance(wrong, BadRequest) else 422
        return _page(None, status=status, message=wrong.message, verdict=verdict)


@bp.get("/")
@requires(*AUDITORS)
def search() -> ResponseReturnValue:
    """The filter form and the matching rows, newest first, a page at a time."""
    return _search_page()


@bp.get("/export.csv")
@requires(*AUDITORS)
def export() -> ResponseReturnValue:
    """Every row matching the filters, as a CSV download."""
    return csv_download(read_filter(request.args, site_zone()))


@bp.get("/verify")
@requires(*AUDITORS)
def verify() -> ResponseReturnValue:
    """Walk the whole hash chain and say whether it is intact (and the page's search)."""
    return _search_page(verdict=trail().verify())
