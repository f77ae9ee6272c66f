"""``/healthz`` (the process answers) and ``/readyz`` (it can do useful work: the database answers,
a config version is active, and the adapter process keeps the tag cache fresh)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, jsonify

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
    source = services().tags
    if not isinstance(source, CacheTagSource):
        return Check("tag_cache", True, "tags come from a fixed source")
    keys = [k for k in source.tag_keys() if not k.startswith("equipment:")]
    if not keys:
        return Check("tag_cache", False, f"no tag cache at {source.path}; is the adapter running?")
    readings = source.read(keys)
    fresh = sum(1 for r in readings.values() if r.quality != "stale")
    if fresh == 0:
        return Check("tag_cache", False, "every tag is stale: the adapter process is not updating")
    return Check("tag_cache", True, f"{fresh} of {len(keys)} tags fresh")


CHECKS = (_database, _config, _tag_cache)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the worker answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: 200 when every check passes, else 503 naming what is wrong."""
    results = [check() for check in CHECKS]
    ready = all(r.ok for r in results)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
    }
    return jsonify(body), 200 if ready else 503
