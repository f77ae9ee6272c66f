"""Quality pages: the nonconformance queue, a signed disposition, and the trace of a unit or lot
(its full history with config versions and signatures, genealogy backward and forward)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.access.signatures import DISPOSITION_MEANINGS
from engine.commands.deviations import DEVIATION_MEANING, DeviationInput
from engine.commands.first_articles import APPROVED as FIRST_ARTICLE_APPROVED
from engine.commands.first_articles import REJECTED as FIRST_ARTICLE_REJECTED
from engine.commands.nonconformances import NonconformanceInfo
from engine.errors import DomainError, Forbidden, Invalid, NotFound
from engine.floor.review_board import REJECTION_MEANING
from engine.infra.attachments import Upload
from engine.queries.genealogy import Genealogy, TracedLot, TracedRun, UsedIn
from engine.queries.nc_pareto import DIMENSIONS
from engine.records.production import DISPOSITIONS
from web.auth import require_caller, requires, signature_input
from web.errors import domain_status
from web.pages.nav import QUALITY, READERS, REVIEW_BOARD
from web.services import services

bp = Blueprint("quality", __name__, url_prefix="/quality")

DECISIONS = {
    "use_as_is": "Use as is",
    "rework": "Rework at an operation",
    "repair": "Repair, then go on",
    "scrap": "Scrap",
    "return_to_vendor": "Return to supplier",
}
assert set(DECISIONS) == set(DISPOSITIONS)


@bp.get("/")
@requires(*REVIEW_BOARD)
def queue() -> ResponseReturnValue:
    """Open nonconformances first (with dispositions waiting for signatures), then the recently
    decided ones."""
    found = services().ferrule.nonconformances()
    return render_template(
        "quality.html",
        open=[n for n in found if n.open],
        decided=[n for n in found if not n.open][:20],
        message="",
        first_article_meanings=(FIRST_ARTICLE_APPROVED, FIRST_ARTICLE_REJECTED),
        request_key=uuid.uuid4().hex,
    )


def _nc_page(nc_id: int, status: int = 200, message: str = "", field_name: str = "") -> Response:
    ferrule = services().ferrule
    nc = ferrule.nonconformance(nc_id)
    item = ferrule.item(nc.item) if nc.item is not None else None
    operations: list[str] = []
    if item is not None:
        routing = ferrule.version_plant(item.config_version_id).routing_for(item.product)
        operations = [op.id for op in routing.operations]
    html = render_template(
        "nonconformance.html",
        nc=nc,
        item=item,
        operations=operations,
        decisions=DECISIONS,
        meanings=DISPOSITION_MEANINGS,
        sign_meanings=(*DISPOSITION_MEANINGS, REJECTION_MEANING),
        form=request.form if request.method == "POST" else {},
        message=message,
        field=field_name,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/nc/<int:nc_id>")
@requires(*REVIEW_BOARD)
def nonconformance(nc_id: int) -> ResponseReturnValue:
    """One nonconformance: its dispositions and signatures, and the form the caller can use."""
    return _nc_page(nc_id)


def _nc_command(
    nc_id: int, run: Callable[[], NonconformanceInfo], done: Callable[[NonconformanceInfo], str]
) -> ResponseReturnValue:
    """Run a command on the nonconformance; back to the queue with what happened, or to its
    page with the refusal beside the field it concerns."""
    try:
        nc = run()
    except Invalid as bad:
        return _nc_page(nc_id, 422, bad.message, bad.field or "")
    except Forbidden as refused:
        return _nc_page(nc_id, domain_status(refused), refused.message, "password")
    except DomainError as refused:
        return _nc_page(nc_id, 409, refused.message)
    flash(done(nc), "done")
    return redirect(url_for("quality.nonconformance", nc_id=nc_id), 303)


def _outcome(nc: NonconformanceInfo, actor: str) -> str:
    pending = nc.pending
    if pending is not None:
        return (
            f"NC-{nc.id:04d}: {DECISIONS[pending.decision].lower()} signed by {actor}; waiting "
            f"for the signature of {', '.join(pending.missing_roles)}."
        )
    if nc.decision is None:
        return f"NC-{nc.id:04d}: the disposition was rejected by {actor}; propose another."
    target = f" at '{nc.target_operation}'" if nc.target_operation else ""
    said = DECISIONS[nc.decision].lower()
    return f"NC-{nc.id:04d} on {nc.subject}: {said}{target}, signed by {actor}."


def _quantity(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise Invalid(
            f"'{text}' is not a quantity; enter it like 12.5.", field="quantity"
        ) from None


@bp.post("/nc/<int:nc_id>/disposition")
@requires(*REVIEW_BOARD)
def disposition(nc_id: int) -> ResponseReturnValue:
    """Propose a disposition; the caller signs with their password and a meaning."""
    actor = require_caller().username
    form = request.form
    decision = form.get("decision", "")
    return _nc_command(
        nc_id,
        lambda: services().ferrule.disposition(
            actor=actor,
            nonconformance_id=nc_id,
            decision=decision,
            reason=form.get("reason", ""),
            signature=signature_input(actor, form.get("password", ""), form.get("meaning", "")),
            target_operation=(form.get("target_operation") or None)
            if decision == "rework"
            else None,
            quantity=_quantity(form.get("quantity", "")),
            idempotency_key=form.get("request_key") or None,
        ),
        lambda nc: _outcome(nc, actor),
    )


@bp.post("/nc/<int:nc_id>/signatures")
@requires(*REVIEW_BOARD)
def sign_disposition(nc_id: int) -> ResponseReturnValue:
    """Sign (or reject) the disposition waiting for the caller's role."""
    actor = require_caller().username
    form = request.form
    return _nc_command(
        nc_id,
        lambda: services().ferrule.sign_disposition(
            actor=actor,
            nonconformance_id=nc_id,
            signature=signature_input(actor, form.get("password", ""), form.get("meaning", "")),
            reason=form.get("reason", ""),
            idempotency_key=form.get("request_key") or None,
        ),
        lambda nc: _outcome(nc, actor),
    )


@bp.post("/nc/<int:nc_id>/capa")
@requires(*QUALITY)
def link_capa(nc_id: int) -> ResponseReturnValue:
    """Link the nonconformance to a CAPA of the site's QMS."""
    form = request.form
    return _nc_command(
        nc_id,
        lambda: services().ferrule.link_capa(
            actor=require_caller().username,
            nonconformance_id=nc_id,
            capa=form.get("capa", ""),
            url=form.get("url") or None,
            idempotency_key=form.get("request_key") or None,
        ),
        lambda nc: f"NC-{nc.id:04d} is handled under CAPA {nc.capa}.",
    )


@bp.post("/nc/<int:nc_id>/photos")
@requires(*REVIEW_BOARD, "operator")
def add_photo(nc_id: int) -> ResponseReturnValue:
    """Keep a photo of the defect (a tablet's camera)."""
    given = request.files.get("photo")
    if given is None or not given.filename:
        return _nc_page(nc_id, 422, "Choose a photo to add.", "photo")
    upload = Upload(given.filename, given.mimetype or "", given.read())
    return _nc_command(
        nc_id,
        lambda: services().ferrule.add_nonconformance_photo(
            actor=require_caller().username, nonconformance_id=nc_id, photo=upload
        ),
        lambda nc: f"NC-{nc.id:04d}: photo added.",
    )


@bp.get("/nc/<int:nc_id>/photos/<sha256>")
@requires(*REVIEW_BOARD, "operator", "admin")
def photo(nc_id: int, sha256: str) -> ResponseReturnValue:
    """A photo of the nonconformance, as stored (its type told by its bytes)."""
    stored = services().ferrule.nonconformance_photo(nc_id, sha256)
    response = Response(stored.content, mimetype=stored.media_type)
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["ETag"] = f'"{sha256}"'
    return response


@bp.route("/nc/new", methods=["GET", "POST"])
@requires(*REVIEW_BOARD, "operator")
def open_nonconformance() -> ResponseReturnValue:
    """Open a nonconformance by hand on a unit or lot being made, a lot of material (a supplier
    lot too) or a machine."""
    form = request.form if request.method == "POST" else request.args
    if request.method == "POST":
        kind = form.get("subject", "item")
        try:
            nc = services().ferrule.open_nonconformance(
                actor=require_caller().username,
                defect_code=form.get("defect_code", ""),
                description=form.get("description", ""),
                item=(form.get("item") or "").strip() if kind == "item" else None,
                part=(form.get("part") or "").strip() if kind == "lot" else None,
                lot=(form.get("lot") or "").strip() if kind == "lot" else None,
                equipment=(form.get("equipment") or "").strip() if kind == "equipment" else None,
                quantity=_quantity(form.get("quantity", "")),
                idempotency_key=form.get("request_key") or None,
            )
        except DomainError as refused:
            return _open_page(
                form, refused.message, getattr(refused, "field", "") or "", domain_status(refused)
            )
        flash(f"NC-{nc.id:04d} opened on {nc.subject}.", "done")
        return redirect(url_for("quality.nonconformance", nc_id=nc.id), 303)
    return _open_page(form, "", "", 200)


def _open_page(form: Mapping[str, str], message: str, field_name: str, status: int) -> Response:
    _, plant = services().ferrule.plant()
    policy = plant.site.quality
    html = render_template(
        "nonconformance_new.html",
        form=form,
        codes=dict(policy.defect_codes) if policy is not None else {},
        equipment=sorted(plant.equipment),
        message=message,
        field=field_name,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/pareto")
@requires(*READERS)
def pareto() -> ResponseReturnValue:
    """A Pareto chart of nonconformances over a period, by a dimension."""
    by = request.args.get("by", "defect_code")
    given = request.args.get("days", "30")
    days = int(given) if given.isdigit() else 30
    until = dt.datetime.now(dt.UTC)
    found = services().ferrule.nonconformance_pareto(
        by=by, since=until - dt.timedelta(days=days), until=until
    )
    return render_template("nc_pareto.html", pareto=found, days=days, dimensions=DIMENSIONS)


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


# ---------------------------------------------------------------- planned deviations


def _deviations_page(form: Mapping[str, str], message: str = "", status: int = 200) -> Response:
    ferrule = services().ferrule
    _, plant = ferrule.plant()
    now = dt.datetime.now(dt.UTC)
    html = render_template(
        "quality_deviations.html",
        deviations=ferrule.deviations(),
        now=now,
        gates=[
            (product, op.id, gate.name)
            for product in plant.products
            for op in plant.routing_for(product).operations
            for gate in op.gates
        ],
        meaning=DEVIATION_MEANING,
        form=form,
        message=message,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/deviations")
@requires(*READERS)
def deviations() -> ResponseReturnValue:
    """Planned deviations: in force, ended, and (for quality) the form to approve one."""
    return _deviations_page({})


def _instant(text: str, field_name: str) -> dt.datetime:
    """A local date and time from the form (the browser's datetime-local), taken as UTC."""
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        raise Invalid("Give a date and time, like 2026-12-01T06:00.", field=field_name) from None


@bp.post("/deviations")
@requires(*QUALITY)
def approve_deviation() -> ResponseReturnValue:
    """Approve a planned deviation; the caller signs it."""
    actor = require_caller().username
    form = request.form
    product, operation, gate = (form.get("gate") or "||").split("|", 2)
    try:
        given = DeviationInput(
            product=product,
            operation=operation,
            gate=gate,
            subject=form.get("subject", "").strip(),
            low=_quantity(form.get("low", "")) or 0.0,
            high=_quantity(form.get("high", "")) or 0.0,
            work_orders=tuple(
                w.strip() for w in form.get("work_orders", "").split(",") if w.strip()
            ),
            valid_from=_instant(form.get("valid_from", ""), "valid_from"),
            valid_until=_instant(form.get("valid_until", ""), "valid_until"),
            reason=form.get("reason", ""),
        )
        found = services().ferrule.approve_deviation(
            actor=actor,
            given=given,
            signature=signature_input(actor, form.get("password", ""), form.get("meaning", "")),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as refused:
        return _deviations_page(form, refused.message, domain_status(refused))
    flash(f"{found.number} approved and signed by {actor}.", "done")
    return redirect(url_for("quality.deviations"), 303)


@bp.post("/deviations/<int:deviation_id>/withdraw")
@requires(*QUALITY)
def withdraw_deviation(deviation_id: int) -> ResponseReturnValue:
    """End a deviation before its time."""
    try:
        found = services().ferrule.withdraw_deviation(
            actor=require_caller().username,
            deviation_id=deviation_id,
            reason=request.form.get("reason", ""),
        )
    except DomainError as refused:
        return _deviations_page({}, refused.message, domain_status(refused))
    flash(f"{found.number} withdrawn.", "done")
    return redirect(url_for("quality.deviations"), 303)


# ---------------------------------------------------------------- first articles


@bp.post("/first-article")
@requires(*QUALITY)
def decide_first_article() -> ResponseReturnValue:
    """Approve or reject a first article; the caller signs, the meaning says which."""
    actor = require_caller().username
    form = request.form
    item = form.get("item", "").strip()
    try:
        decided = services().ferrule.decide_first_article(
            actor=actor,
            item=item,
            operation=form.get("operation", "").strip(),
            signature=signature_input(actor, form.get("password", ""), form.get("meaning", "")),
            note=form.get("note", ""),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as refused:
        flash(refused.message, "error")
        return redirect(url_for("quality.queue"), 303)
    said = "approved" if decided.approved else "rejected"
    flash(
        f"First article {decided.item} at '{decided.operation}' {said}, signed by {actor}.", "done"
    )
    return redirect(url_for("quality.queue"), 303)
