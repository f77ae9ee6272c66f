"""Tools pages: every tool and fixture with its life used, calibration due and status, and a
tool's card (signed calibration and status forms, its calibrations, the units made with it and
one button to hold them all)."""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.commands.calibration import CARE_MEANINGS, CARE_ROLES, CalibrationInput
from engine.errors import DomainError, Forbidden, Invalid
from web.auth import require_caller, requires, signature_input
from web.errors import domain_status
from web.pages.nav import EQUIPMENT_READERS, HOLDERS
from web.services import services

bp = Blueprint("tools", __name__, url_prefix="/tools")

DONE = "done"


@bp.get("/")
@requires(*EQUIPMENT_READERS)
def overview() -> ResponseReturnValue:
    """Every tool: type, status, cycles against its life, calibration due."""
    return render_template("tools_list.html", tools=services().tools.tools())


def _card(
    tool: str, status: int = 200, message: str = "", field: str = "", form: str = ""
) -> Response:
    roles = require_caller().roles
    facade = services().tools
    html = render_template(
        "tools_card.html",
        card=facade.tool(tool),
        made=facade.units_made_with(tool),
        meanings=CARE_MEANINGS,
        may_record=bool(roles & set(CARE_ROLES)),
        may_hold=bool(roles & set(HOLDERS)),
        today=dt.date.today().isoformat(),
        form=request.form if request.method == "POST" else {},
        failed_form=form,
        message=message,
        field=field,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


def _refused(tool: str, error: DomainError, form: str) -> Response:
    if isinstance(error, Invalid):
        return _card(tool, 422, error.message, error.field or "", form)
    if isinstance(error, Forbidden):
        return _card(tool, domain_status(error), error.message, "password", form)
    return _card(tool, 409, error.message, "", form)


@bp.get("/<tool>")
@requires(*EQUIPMENT_READERS)
def card(tool: str) -> ResponseReturnValue:
    """One tool's card."""
    return _card(tool)


@bp.post("/<tool>/calibration")
@requires(*CARE_ROLES)
def calibrate(tool: str) -> ResponseReturnValue:
    """Record a signed calibration of the tool."""
    actor = require_caller().username
    form = request.form
    try:
        try:
            performed_on = dt.date.fromisoformat(form.get("performed_on", ""))
        except ValueError:
            raise Invalid(
                "Give the day it was performed, like 2027-03-01.", field="performed_on"
            ) from None
        recorded = services().tools.record_calibration(
            actor=actor,
            tool=tool,
            given=CalibrationInput(
                result=form.get("result", ""),
                performed_on=performed_on,
                performed_by=form.get("performed_by", ""),
                certificate=form.get("certificate", ""),
                note=form.get("note", ""),
            ),
            signature=signature_input(actor, form.get("password", ""), form.get("meaning", "")),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as error:
        return _refused(tool, error, "calibration")
    due = f"next due {recorded.next_due}" if recorded.next_due else "it may not be used"
    flash(f"Calibration #{recorded.id} of tool {tool}: {recorded.result}; {due}.", DONE)
    return redirect(url_for("tools.card", tool=tool), 303)


@bp.post("/<tool>/status")
@requires(*CARE_ROLES)
def change_status(tool: str) -> ResponseReturnValue:
    """Hold, release or retire the tool, signed."""
    actor = require_caller().username
    form = request.form
    try:
        state = services().tools.change_status(
            actor=actor,
            tool=tool,
            action=form.get("action", ""),
            reason=form.get("reason", ""),
            signature=signature_input(actor, form.get("password", ""), form.get("meaning", "")),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as error:
        return _refused(tool, error, "status")
    flash(f"Tool {tool} is now {state.status}.", DONE)
    return redirect(url_for("tools.card", tool=tool), 303)


@bp.post("/<tool>/hold-units")
@requires(*HOLDERS)
def hold_units(tool: str) -> ResponseReturnValue:
    """Hold every unit and lot made with the tool."""
    try:
        result = services().tools.hold_units(
            actor=require_caller().username,
            tool=tool,
            reason=request.form.get("reason", ""),
            idempotency_key=request.form.get("request_key") or None,
        )
    except DomainError as error:
        return _refused(tool, error, "hold")
    text = f"{len(result.held):,} units and lots made with {tool} put on hold"
    if result.skipped:
        text += f"; {len(result.skipped):,} skipped (first: {result.skipped[0].reason})"
    flash(text + ".", DONE)
    return redirect(url_for("tools.card", tool=tool), 303)
