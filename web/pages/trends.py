"""Trend pages: one recorded tag's values over a period (1 h, 8 h, 24 h, 7 d, or from/to, with
earlier and later), drawn as SVG by the server, with CSV and Parquet downloads; and the trends
the device and equipment pages show for their recorded tags."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from flask import Blueprint, g, render_template, request
from flask.typing import ResponseReturnValue

from engine.errors import NotFound
from engine.facade.historian import Historian
from web.auth import requires
from web.history_export import PERIODS, read_period
from web.pages.nav import EQUIPMENT_READERS
from web.services import services
from web.trend_svg import TrendPlot, trend_plot

bp = Blueprint("trends", __name__, url_prefix="/trends")
DEFAULT_PERIOD = "1h"
T = TypeVar("T")


def historian() -> Historian:
    """The historian facade over the app's database."""
    return Historian(services().config.db)


def site_zone() -> zoneinfo.ZoneInfo:
    """The deployed site's time zone (UTC before the first deploy)."""
    try:
        _, plant = services().ferrule.plant()
    except NotFound:
        return zoneinfo.ZoneInfo("UTC")
    return zoneinfo.ZoneInfo(plant.site.timezone)


def window(
    args: Mapping[str, str], default: str = DEFAULT_PERIOD
) -> tuple[dt.datetime, dt.datetime]:
    """The period the query asks for (``period``, or ``from`` and ``to``), else ``default``
    up to now."""
    now = dt.datetime.now(dt.UTC)
    start, end = read_period(args, now)
    end = end or now
    return start or end - PERIODS[default], end


def plots(keys: Iterable[str], start: dt.datetime, end: dt.datetime) -> list[TrendPlot]:
    """The trends of the recorded tags among ``keys`` (a tag never recorded is left out)."""
    found = historian()
    recorded = {spec.key for spec in found.recorded()}
    zone = site_zone()
    shown: list[TrendPlot] = []
    for key in keys:
        if key not in recorded:
            continue
        try:
            shown.append(trend_plot(found.trend(key, start, end), zone))
        except NotFound:
            continue
    return shown


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def period_links(
    endpoint_args: Mapping[str, str], start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, str]]:
    """Query arguments of the period links (by label): 1 h … 7 d up to now, and the same length
    earlier and later than the shown period."""
    links = {label: {**endpoint_args, "period": label} for label in PERIODS}
    length = end - start
    links["← earlier"] = {**endpoint_args, "from": _stamp(start - length), "to": _stamp(start)}
    links["later →"] = {**endpoint_args, "from": _stamp(end), "to": _stamp(end + length)}
    return links


@bp.get("/<tag>")
@requires(*EQUIPMENT_READERS)
def trend(tag: str) -> ResponseReturnValue:
    """One recorded tag's trend with period links and downloads."""
    start, end = window(request.args)
    found = historian().trend(tag, start, end)
    return render_template(
        "trend.html",
        p=trend_plot(found, site_zone()),
        tag=tag,
        links=period_links({}, start, end),
        start=_stamp(start),
        end=_stamp(end),
    )


RECORD_MARGIN = dt.timedelta(minutes=5)
"""An operation's trend link shows this long before its start and after its end."""


def _cached(name: str, make: Callable[[], T]) -> T:
    """``make()`` once per request under ``name``."""
    store: dict[str, Any] = g.setdefault("trends", {})
    if name not in store:
        store[name] = make()
    return cast(T, store[name])


@bp.app_template_global("recorded_tags")
def recorded_tags() -> frozenset[str]:
    """The tags the deployed plant records (for links to their trends)."""
    return _cached("recorded", lambda: frozenset(s.key for s in historian().recorded()))


@bp.app_template_global("tag_trends")
def tag_trends(keys: Iterable[str]) -> list[TrendPlot]:
    """The trends of the recorded tags among ``keys`` over the period the page's query asks
    for (default the last hour)."""
    start, end = window(request.args)
    return plots(keys, start, end)


@bp.app_template_global("equipment_trends")
def equipment_trends(name: str) -> list[TrendPlot]:
    """The trends of the recorded tags of equipment ``name``'s device (page period, default
    8 h)."""
    start, end = window(request.args, "8h")
    return plots(historian().recorded_for_equipment(name), start, end)


@bp.app_template_global("trend_period_links")
def trend_period_links(default: str = DEFAULT_PERIOD) -> dict[str, dict[str, str]]:
    """Query arguments of a page's period links for its trends (``default`` when the query
    asks for none)."""
    start, end = window(request.args, default)
    return period_links({}, start, end)


@bp.app_template_global("operation_trends")
def operation_trends(
    equipment: str, started_at: dt.datetime, completed_at: dt.datetime
) -> list[tuple[str, dict[str, str]]]:
    """(tag, trend page query) of each recorded tag of ``equipment``, around an operation's
    start and end."""
    keys = _cached(f"equipment:{equipment}", lambda: historian().recorded_for_equipment(equipment))
    around = {
        "from": _stamp(started_at - RECORD_MARGIN),
        "to": _stamp(completed_at + RECORD_MARGIN),
    }
    return [(key, around) for key in keys]
