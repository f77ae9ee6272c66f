"""Quality pages: the nonconformance queue, a signed disposition, and the trace of a unit or lot
(its full history with config versions and signatures, genealogy backward and forward)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.access.signatures import DISPOSITION_MEANINGS
from engine.errors import DomainError, Forbidden, Invalid, NotFound
from engine.queries.genealogy import Genealogy, TracedLot, TracedRun, UsedIn
from engine.records.production import DISPOSITIONS
from web.auth import require_caller, requires, signature_input
from web.errors import domain_status
from web.pages.nav import QUALITY, READERS
from web.services import services

bp = Blueprint("quality", __name__, url_prefix="/quality")

DECISIONS = {
    "use_as_is": "Use as is",
    "rework": "Rework at an operation",
    "scrap": "Scrap",
    "return_to_vendor": "Return to vendor",
}
assert set(DECISIONS) == set(DISPOSITIONS)


@bp.get("/")
@requires(*QUALITY)
def queue() -> ResponseReturnValue:
    """Open nonconformances first, then the recently decided ones."""
    found = services().ferrule.nonconformances()
    return render_template(
        "quality.html",
        open=[n for n in found if n.open],
        decided=[n for n in found if not n.open][:20],
        message="",
    )


def _nc_page(nc_id: int, status: int = 200, message: str = "", field_name: str = "") -> Response:
    ferrule = services().ferrule
    nc = ferrule.nonconformance(nc_id)
    item = ferrule.item(nc.item)
    routing = ferrule.version_plant(item.config_version_id).routing_for(item.product)
    html = render_template(
        "nonconformance.html",
        nc=nc,
        item=item,
        operations=[op.id for op in routing.operations],
        decisions=DECISIONS,
        meanings=DISPOSITION_MEANINGS,
        form=request.form if request.method == "POST" else {},
        message=message,
        field=field_name,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/nc/<int:nc_id>")
@requires(*QUALITY)
def nonconformance(nc_id: int) -> ResponseReturnValue:
    """One nonconformance with the disposition form and what the signature will bind."""
    return _nc_page(nc_id)


@bp.post("/nc/<int:nc_id>/disposition")
@requires(*QUALITY)
def disposition(nc_id: int) -> ResponseReturnValue:
    """Decide the nonconformance; the caller signs with their password and a meaning."""
    actor = require_caller().username
    form = request.form
    decision = form.get("decision", "")
    try:
        nc = services().ferrule.disposition(
            actor=actor,
            nonconformance_id=nc_id,
            decision=decision,
            reason=form.get("reason", ""),
            signature=signature_input(actor, form.get("password", ""), form.get("meaning", "")),
            target_operation=(form.get("target_operation") or None)
            if decision == "rework"
            else None,
            idempotency_key=form.get("request_key") or None,
        )
    except Invalid as bad:
        return _nc_page(nc_id, 422, bad.message, bad.field or "")
    except Forbidden as refused:
        return _nc_page(nc_id, domain_status(refused), refused.message, "password")
    except DomainError as refused:
        return _nc_page(nc_id, 409, refused.message)
    said = DECISIONS[nc.decision or decision].lower()
    target = f" at '{nc.target_operation}'" if nc.target_operation else ""
    flash(f"NC-{nc.id:04d} on {nc.item}: {said}{target}, signed by {actor}.", "done")
    return redirect(url_for("quality.queue"), 303)


@dataclass
class Node:
    """One item in a genealogy tree with what was built into it."""

    number: str
    product: str
    status: str
    config_version_id: int | None = None
    lots: list[TracedLot] = field(default_factory=list)
    runs: list[TracedRun] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    via: str | None = None


def backward_tree(trace: Genealogy) -> Node:
    """The backward genealogy as a tree: the root, its sub-assemblies, their lots and runs."""
    nodes = {
        i.number: Node(i.number, i.product, i.status, i.config_version_id) for i in trace.items
    }
    for traced in trace.items:
        if traced.parent is not None and traced.parent in nodes:
            nodes[traced.parent].children.append(nodes[traced.number])
    for lot in trace.lots:
        nodes[lot.used_by].lots.append(lot)
    for run in trace.runs:
        nodes[run.item].runs.append(run)
    return nodes[trace.root]


def forward_tree(used: Sequence[UsedIn]) -> list[Node]:
    """Where a lot went: the items that consumed it directly, each with the items it went into."""
    nodes = {u.number: Node(u.number, u.product, u.status, via=u.via) for u in used}
    roots: list[Node] = []
    for u in used:
        if u.via is not None and u.via in nodes:
            nodes[u.via].children.append(nodes[u.number])
        else:
            roots.append(nodes[u.number])
    return roots


@bp.get("/trace")
@requires(*READERS)
def trace() -> ResponseReturnValue:
    """A unit or lot's history and backward genealogy, or a part lot's forward trace."""
    ferrule = services().ferrule
    number = request.args.get("number", "").strip()
    part = request.args.get("part", "").strip()
    lot = request.args.get("lot", "").strip()
    context: dict[str, object] = {"number": number, "part": part, "lot": lot, "message": ""}
    status = 200
    try:
        if number:
            context["item"] = ferrule.item(number)
            context["history"] = ferrule.history(number)
            context["tree"] = backward_tree(ferrule.genealogy(number))
        elif part and lot:
            context["forward"] = forward_tree(ferrule.where_used(part, lot))
    except NotFound as missing:
        context["message"] = missing.message
        status = 404
    html = render_template("trace.html", **context)
    return Response(html, status=status, mimetype="text/html")
