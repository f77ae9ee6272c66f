"""The Flask application factory: wires the engine's facades (over one database), the adapters' tag
cache and the web layer's blueprints into one WSGI app. gunicorn calls :func:`create_app` once in
every worker. Behind ``trusted_proxies`` reverse proxies, werkzeug's ProxyFix takes the client's
address, scheme and host from that many X-Forwarded-* hops (and no more, so a client cannot
forge them).

A bundle's config tests (the config page's review, and a deploy under change control) run as
``python -m engine.configtest`` in a child process (:func:`run_config_tests`): the web layer calls
no engine code but the facades, and a child process can be stopped after
:data:`CONFIG_TEST_SECONDS`, before gunicorn's worker timeout would kill the worker."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from adapters.control import ControlClient, socket_next_to
from engine.commands.changecontrol import ConfigTestResult
from engine.errors import Conflict
from engine.facade.access import Access
from engine.facade.config import BundleTester, Config
from engine.facade.dispatch import Dispatch
from engine.facade.equipment import EquipmentCare
from engine.facade.inspection import Inspection
from engine.facade.labels import Labels
from engine.facade.materials import Materials
from engine.facade.production import Ferrule
from engine.facade.recalls import Recalls
from engine.facade.tools import Tools
from engine.floor.tagsource import SetpointWriter, TagSource
from engine.infra.db import Database
from web.api import bp as api_bp
from web.api_dispatch import bp as api_dispatch_bp
from web.api_equipment import bp as api_equipment_bp
from web.api_erp import bp as api_erp_bp
from web.api_event_rules import bp as api_event_rules_bp
from web.api_events import bp as api_events_bp
from web.api_history import bp as api_history_bp
from web.api_inspection import bp as api_inspection_bp
from web.api_maintenance import bp as api_maintenance_bp
from web.api_materials import bp as api_materials_bp
from web.api_oee import bp as api_oee_bp
from web.api_quality import bp as api_quality_bp
from web.api_records import bp as api_records_bp
from web.api_spc import bp as api_spc_bp
from web.api_tools import bp as api_tools_bp
from web.api_users import bp as api_users_bp
from web.auth import init_auth
from web.errors import register_error_handlers
from web.headers import init_headers
from web.health import bp as health_bp
from web.labels import api_bp as labels_api_bp
from web.labels import bp as labels_bp
from web.limits import init_limits
from web.metrics import init_metrics
from web.pages import register_pages
from web.pages.audit import bp as audit_bp
from web.services import Services
from web.settings import Settings
from web.tags import CacheTagSource

log = logging.getLogger("ferrule.web")

CONFIG_TEST_SECONDS = 25  # below the 30 s after which gunicorn kills a busy worker
CONFIG_TEST_COMMAND = (sys.executable, "-m", "engine.configtest")


def run_config_tests(
    files: Mapping[str, str], assets: Mapping[str, bytes], label: str
) -> ConfigTestResult:
    """Run a bundle's config tests in a child process (``python -m engine.configtest``) for at
    most :data:`CONFIG_TEST_SECONDS`; Conflict when it takes longer or fails to run."""
    request = {
        "files": dict(files),
        "assets": {path: base64.b64encode(data).decode() for path, data in assets.items()},
        "label": label,
    }
    try:
        done = subprocess.run(
            CONFIG_TEST_COMMAND,
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=CONFIG_TEST_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Conflict(
            f"The config tests took longer than {CONFIG_TEST_SECONDS} s, more than a web request "
            "may; run them with `ferrule test PLANT_DIR` and deploy with `ferrule deploy "
            "PLANT_DIR` (--approver USER under change control).",
            code="config_tests_timeout",
        ) from None
    if done.returncode != 0:
        log.error("config tests failed to run", extra={"stderr": done.stderr[-4000:]})
        raise Conflict(
            "The config tests could not be run (the error was logged); run `ferrule test "
            "PLANT_DIR` to see why.",
            code="config_tests_not_run",
        )
    return ConfigTestResult.from_json(json.loads(done.stdout))


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    tags: TagSource | None = None,
    setpoints: SetpointWriter | None = None,
    config_tester: BundleTester = run_config_tests,
) -> Flask:
    """A Ferrule web app. Tests pass their own database, tag source and setpoint writer (and may
    pass a config tester); by default they come from the settings: the database URL, and the
    adapter process's tag cache and control socket (``<tag cache>.sock``)."""
    settings = settings or Settings.from_env()
    app = Flask("web")
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        PERMANENT_SESSION_LIFETIME=settings.session_timeout,
        SESSION_COOKIE_NAME="ferrule_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    database = db or Database.from_url(settings.database_url)
    tag_source = tags or CacheTagSource(settings.tag_cache)
    setpoints = setpoints or ControlClient(socket_next_to(settings.tag_cache))
    app.extensions["ferrule"] = Services(
        settings=settings,
        tags=tag_source,
        ferrule=Ferrule(database, tag_source, setpoints),
        access=Access(database),
        config=Config(database, tester=config_tester),
        dispatch=Dispatch(database),
        labels=Labels(database),
        equipment=EquipmentCare(database, tag_source, setpoints),
        materials=Materials(database),
        tools=Tools(database, tag_source, setpoints),
        recalls=Recalls(database),
        inspection=Inspection(database, tag_source, setpoints),
    )
    register_error_handlers(app)
    init_limits(app)
    init_headers(app)
    init_metrics(app)
    init_auth(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_records_bp)
    app.register_blueprint(api_spc_bp)
    app.register_blueprint(api_history_bp)
    app.register_blueprint(api_users_bp)
    app.register_blueprint(api_dispatch_bp)
    app.register_blueprint(api_equipment_bp)
    app.register_blueprint(api_maintenance_bp)
    app.register_blueprint(api_events_bp)
    app.register_blueprint(api_erp_bp)
    app.register_blueprint(api_event_rules_bp)
    app.register_blueprint(api_materials_bp)
    app.register_blueprint(api_tools_bp)
    app.register_blueprint(api_inspection_bp)
    app.register_blueprint(api_quality_bp)
    app.register_blueprint(api_oee_bp)
    app.register_blueprint(labels_api_bp)
    app.register_blueprint(labels_bp)
    register_pages(app)
    app.register_blueprint(audit_bp)
    app.before_request(_tag_request)
    app.after_request(_access_log)
    return app


def _tag_request() -> None:
    g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]
    g.access_started = time.perf_counter()


def _access_log(response: Response) -> Response:
    started = g.get("access_started")
    caller = g.get("caller")
    log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "request_id": g.get("request_id"),
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "user": caller.username if caller is not None else None,
        },
    )
    response.headers["X-Request-Id"] = str(g.get("request_id", ""))
    return response
