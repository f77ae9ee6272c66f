"""The browser pages: operator station, supervisor, quality and engineer/admin, each a blueprint
of thin views over the engine's facades, rendered from the deployed plant model."""

from __future__ import annotations

from flask import Flask, redirect
from flask.typing import ResponseReturnValue

from web.auth import require_caller
from web.errors import NotPermitted
from web.instructions import bp as instructions_bp
from web.pages.admin import bp as admin_bp
from web.pages.dispatch import bp as dispatch_bp
from web.pages.equipment import bp as equipment_bp
from web.pages.events import bp as events_bp
from web.pages.inspection import bp as inspection_bp
from web.pages.maintenance import bp as maintenance_bp
from web.pages.materials import bp as materials_bp
from web.pages.nav import START_PAGES, nav_links
from web.pages.oee import bp as oee_bp
from web.pages.operator import bp as operator_bp
from web.pages.quality import bp as quality_bp
from web.pages.records import bp as records_bp
from web.pages.spc import bp as spc_bp
from web.pages.supervisor import bp as supervisor_bp
from web.pages.tools import bp as tools_bp
from web.pages.trends import bp as trends_bp


def home() -> ResponseReturnValue:
    """Send a signed-in person to the first page their roles may use."""
    caller = require_caller()
    target = next((page for role, page in START_PAGES if role in caller.roles), None)
    if target is None:
        raise NotPermitted(
            f"You are signed in as {caller.username} but hold no role yet; ask an admin to "
            "grant you one."
        )
    return redirect(target, 303)


def register_pages(app: Flask) -> None:
    """Add every page blueprint, the start page and the navigation helper to ``app``."""
    for blueprint in (
        operator_bp,
        supervisor_bp,
        dispatch_bp,
        quality_bp,
        records_bp,
        spc_bp,
        trends_bp,
        oee_bp,
        equipment_bp,
        tools_bp,
        maintenance_bp,
        materials_bp,
        inspection_bp,
        admin_bp,
        events_bp,
        instructions_bp,
    ):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", "home", home)
    app.jinja_env.globals["nav_links"] = nav_links
