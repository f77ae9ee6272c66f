"""Prometheus metrics: requests, latencies, interlock blocks, device quality.

Only a caller holding the ``metrics`` role may read them (tag names describe the plant): a
scraper sends ``Authorization: Bearer <token>`` of a user with that role.

Counters and histograms are per process; under gunicorn (``ferrule serve``) the environment
variable PROMETHEUS_MULTIPROC_DIR is set before this module is imported, so every worker writes its
samples to files there and ``/metrics`` sums them over all workers. Device quality is not kept in
any worker: it is read from the shared tag cache when ``/metrics`` is scraped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.access.people import METRICS
from engine.floor.tagsource import TagValue
from web.api_oee import OeeCollector
from web.auth import requires
from web.services import services
from web.tags import CacheTagSource

_OWN = CollectorRegistry()  # this process's metrics (used directly outside multiprocess mode)

REQUESTS = Counter(
    "ferrule_http_requests",
    "HTTP requests answered, by endpoint and status.",
    ["method", "endpoint", "status"],
    registry=_OWN,
)
LATENCY = Histogram(
    "ferrule_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "endpoint"],
    registry=_OWN,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INTERLOCK_BLOCKS = Counter(
    "ferrule_interlock_blocks",
    "Operation starts refused by an interlock, by operation.",
    ["operation"],
    registry=_OWN,
)
QUALITIES = ("good", "bad", "stale")

bp = Blueprint("metrics", __name__)


class TagQualityCollector(Collector):
    """Reports each tag's quality and age from the shared cache at scrape time."""

    def __init__(self, read_all: Callable[[], dict[str, TagValue]]) -> None:
        self._read_all = read_all

    def collect(self) -> Iterator[GaugeMetricFamily]:
        quality = GaugeMetricFamily(
            "ferrule_tag_quality", "1 for the tag's current quality.", labels=["tag", "quality"]
        )
        age = GaugeMetricFamily(
            "ferrule_tag_age_seconds", "Seconds since the tag's value was received.", labels=["tag"]
        )
        now = time.time()
        for key, reading in sorted(self._read_all().items()):
            for name in QUALITIES:
                quality.add_metric([key, name], 1.0 if reading.quality == name else 0.0)
            age.add_metric([key], now - reading.receive_time.timestamp())
        yield quality
        yield age


def _all_tags() -> dict[str, TagValue]:
    source = services().tags
    if not isinstance(source, CacheTagSource):
        return {}
    return dict(source.read([k for k in source.tag_keys() if not k.startswith("equipment:")]))


@bp.get("/metrics")
@requires(METRICS)
def metrics() -> Response:
    """The Prometheus text exposition of every worker's metrics plus device quality."""
    registry = CollectorRegistry()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(_OWN))
    registry.register(TagQualityCollector(_all_tags))
    registry.register(OeeCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _Forward(Collector):
    """Exposes another registry's metrics through this one."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        yield from self._source.collect()


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("request_started")
    if started is not None and request.endpoint != "metrics.metrics":
        endpoint = request.endpoint or "unknown"
        LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    return response


def init_metrics(app: Flask) -> None:
    """Count and time every request, and serve ``/metrics``."""
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)
