"""``/healthz`` (the process answers) and ``/readyz`` (it can do useful work: the database answers,
a config version is active, and the adapter process keeps tag values good).

Anyone may ask, a load balancer above all; only a caller holding the ``metrics`` role is told the
details (the database's address, the active version, tag counts), since they describe the plant."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flask import Blueprint, Response, jsonify

from engine.access.people import METRICS
from web.auth import current_caller
from web.services import services
from web.tags import CacheTagSource

bp = Blueprint("health", __name__)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def _database() -> Check:
    try:
        url = services().ferrule.ping()
    except Exception as exc:  # any failure means "not ready"; the detail says which
        return Check("database", False, f"cannot reach the database: {exc.__class__.__name__}")
    return Check("database", True, url)


def _config() -> Check:
    try:
        version = services().config.active_version()
    except Exception as exc:  # the database check reports why
        return Check("config", False, f"cannot read the active version: {exc.__class__.__name__}")
    if version is None:
        return Check("config", False, "no plant config deployed; run `ferrule deploy PLANT_DIR`")
    return Check("config", True, f"version {version.id} of site {version.site}")


def _tag_cache() -> Check:
    """Ready while at least one tag has a good value: a bad value is current but unusable, and
    every value turns bad or stale when the adapter process stops."""
    source = services().tags
    if not isinstance(source, CacheTagSource):
        return Check("tag_cache", True, "tags come from a fixed source")
    keys = [k for k in source.tag_keys() if not k.startswith("equipment:")]
    if not keys:
        return Check("tag_cache", False, f"no tag cache at {source.path}; is the adapter running?")
    count = Counter(reading.quality for reading in source.read(keys).values())
    others = f"{count['bad']} bad, {count['stale']} stale"
    if not count["good"]:
        return Check(
            "tag_cache",
            False,
            f"no tag has a good value ({others}): is the adapter process running and are the "
            "devices connected?",
        )
    return Check("tag_cache", True, f"{count['good']} of {len(keys)} tags good ({others})")


CHECKS = (_database, _config, _tag_cache)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the worker answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: 200 when every check passes, else 503; the details only for ``metrics``."""
    results = [check() for check in CHECKS]
    ready = all(r.ok for r in results)
    caller = current_caller()
    detailed = caller is not None and METRICS in caller.roles
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {
            r.name: {"ok": r.ok, "detail": r.detail} if detailed else {"ok": r.ok} for r in results
        },
    }
    return jsonify(body), 200 if ready else 503
