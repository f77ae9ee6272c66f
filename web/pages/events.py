"""The event outbox for admins: dead letters (events a webhook kept refusing) and the button that
replays one. The publisher (``ferrule publish``) sends a replayed event on its next round."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from engine.errors import DomainError, NotFound
from engine.facade.events import Events
from web.auth import require_caller, requires
from web.pages.admin import DONE
from web.pages.nav import ADMINS
from web.services import services

bp = Blueprint("events", __name__, url_prefix="/admin/events")


def outbox() -> Events:
    """The events facade over the app's database."""
    return Events(services().config.db)


def _page(status: int = 200, message: str = "") -> Response:
    html = render_template(
        "events_dead_letters.html", letters=outbox().dead_letters(), message=message
    )
    return Response(html, status=status)


@bp.get("/")
@requires(*ADMINS)
def dead_letters() -> ResponseReturnValue:
    return _page()


@bp.post("/dead-letters/<int:dead_letter_id>/replay")
@requires(*ADMINS)
def replay(dead_letter_id: int) -> ResponseReturnValue:
    try:
        outbox().replay(dead_letter_id, actor=require_caller().username)
    except DomainError as refused:
        return _page(404 if isinstance(refused, NotFound) else 409, refused.message)
    flash(f"Dead letter #{dead_letter_id} is queued: the publisher sends it again.", DONE)
    return redirect(url_for("events.dead_letters"), 303)
