"""Stores pages: goods-in (scan the part and the supplier's lot, book the delivery in with its
certificate), the inventory with the lots behind each figure, a lot's page (release, hold,
scrap with the e-signature the site asks for, move, split; its links and certificate), merging
lots, and a work order's kit with its shortages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage

from dsl.units import format_number
from engine.commands.lots import Receipt
from engine.errors import DomainError, Invalid
from engine.facade.materials import Materials
from engine.infra.attachments import Upload
from engine.queries.inventory import ON_HAND
from web.auth import require_caller, requires, signature_input
from web.errors import domain_status
from web.pages.nav import STOCK_READERS, STORES
from web.services import services

bp = Blueprint("materials", __name__, url_prefix="/materials")

DONE = "done"
STATUS_ACTIONS = ("release", "hold", "scrap")
LOT_ROLES = ("supervisor", "quality")  # who releases, holds and scraps from the lot page


def materials() -> Materials:
    """The materials facade of this app."""
    return services().materials


def parse_date(text: str | None, field: str) -> dt.date | None:
    """A YYYY-MM-DD date from a form or query ("" or None: not given)."""
    if not text or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"'{text}' is not a date; write it like 2027-01-31.", field=field) from None


def parse_number(text: str | None, field: str, what: str) -> float | None:
    """A decimal number from a form ("" or None: not given); a comma works as the point."""
    if not text or not text.strip():
        return None
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise Invalid(
            f"{what} '{text}' is not a number; enter it like 12.5.", field=field
        ) from None


def _certificate(upload: FileStorage | None) -> Upload | None:
    if upload is None or not upload.filename:
        return None
    return Upload(upload.filename, upload.mimetype or "", upload.read())


def _page(template: str, status: int = 200, **values: object) -> Response:
    html = render_template(template, request_key=uuid.uuid4().hex, **values)
    return Response(html, status=status, mimetype="text/html")


# ---------------------------------------------------------------- goods-in


def _goods_in(
    form: dict[str, str], status: int = 200, message: str = "", field: str = ""
) -> Response:
    plant = materials().plant()
    inventory = plant.site.inventory
    return _page(
        "material_goods_in.html",
        status,
        parts=sorted(plant.parts.values(), key=lambda p: p.name),
        locations=inventory.locations if inventory else (),
        message=message,
        field=field,
        form=form,
    )


@bp.get("/goods-in")
@requires(*STORES)
def goods_in() -> ResponseReturnValue:
    """The goods-in form: scan the supplier's GS1 label (it fills in what it carries), or scan
    the part, then the supplier's lot, then fill in the rest."""
    scan = request.args.get("scan", "").strip()
    if scan:
        return _scanned_delivery(scan)
    return _goods_in({k: v for k, v in request.args.items() if k in ("part", "supplier_lot")})


def _scanned_delivery(scan: str) -> Response:
    """The goods-in form filled in from a supplier's GS1 label."""
    try:
        found = services().labels.scanned_delivery(scan)
    except DomainError as refused:
        return _goods_in({"scan": scan}, domain_status(refused), refused.message, "scan")
    form = {
        "part": found.part,
        "supplier_lot": found.supplier_lot,
        "quantity": format_number(found.quantity) if found.quantity is not None else "",
        "unit": found.unit,
        "expires_on": found.expires_on.isoformat() if found.expires_on else "",
        "manufactured_on": found.manufactured_on.isoformat() if found.manufactured_on else "",
    }
    if found.part not in materials().plant().parts:
        named = f"GTIN {found.gtin}" if found.gtin else f"part '{found.part}'"
        message = (
            f"The label names {named}, which is no part of this site; choose the part."
            if found.gtin or found.part
            else "The label names no part; choose the part."
        )
        return _goods_in({**form, "part": ""}, 200, message, "part")
    return _goods_in(form)


@bp.post("/goods-in")
@requires(*STORES)
def receive() -> ResponseReturnValue:
    """Book a delivery in; the form comes back with the problem next to its field."""
    form = request.form.to_dict()
    try:
        quantity = parse_number(form.get("quantity"), "quantity", "The quantity")
        if quantity is None:
            raise Invalid("Enter the quantity delivered.", field="quantity")
        receipt = Receipt(
            part=form.get("part", "").strip(),
            supplier_lot=form.get("supplier_lot", ""),
            quantity=quantity,
            unit=form.get("unit", "").strip() or None,
            number=form.get("number", "").strip() or None,
            supplier=form.get("supplier", ""),
            manufactured_on=parse_date(form.get("manufactured_on"), "manufactured_on"),
            expires_on=parse_date(form.get("expires_on"), "expires_on"),
            location=form.get("location", "").strip() or None,
        )
        lot = materials().receive(
            actor=require_caller().username,
            receipt=receipt,
            certificate=_certificate(request.files.get("certificate")),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as refused:
        field = refused.field if isinstance(refused, Invalid) else ""
        form.pop("request_key", None)
        return _goods_in(form, domain_status(refused), refused.message, field or "")
    where = f" at {lot.location}" if lot.location else ""
    flash(f"Lot {lot.number} of {lot.part} booked in{where}: {lot.status.replace('_', ' ')}.", DONE)
    return redirect(url_for("materials.lot", part=lot.part, number=lot.number), 303)


# ---------------------------------------------------------------- inventory


@bp.get("/")
@requires(*STOCK_READERS)
def inventory() -> ResponseReturnValue:
    """Stock per part, location and status, each with its lots; filters by part and location."""
    part = request.args.get("part", "").strip() or None
    location = request.args.get("location", "").strip() or None
    status = request.args.get("status", "").strip()
    rows = materials().inventory(
        part=part, location=location, statuses=(status,) if status else ON_HAND
    )
    plant = materials().plant()
    return _page(
        "material_inventory.html",
        rows=rows,
        parts=sorted(plant.parts),
        locations=plant.site.inventory.locations if plant.site.inventory else (),
        statuses=ON_HAND,
        chosen={"part": part or "", "location": location or "", "status": status},
    )


@bp.post("/expire")
@requires(*LOT_ROLES)
def expire() -> ResponseReturnValue:
    """Mark every lot past its expiry date expired."""
    swept = materials().expire_due(actor=require_caller().username)
    flash(f"{len(swept.lots)} lot(s) marked expired.", DONE)
    return redirect(url_for("materials.inventory"), 303)


# ---------------------------------------------------------------- one lot


def _lot_page(part: str, number: str, status: int = 200, message: str = "") -> Response:
    store = materials()
    signatures = {action: store.signature_meaning(action) for action in STATUS_ACTIONS}
    plant = store.plant()
    return _page(
        "material_lot.html",
        status,
        detail=store.lot(part, number),
        signatures=signatures,
        locations=plant.site.inventory.locations if plant.site.inventory else (),
        sampled=part in plant.parts and plant.parts[part].sample is not None,
        message=message,
    )


@bp.get("/lots/<part>/<number>")
@requires(*STOCK_READERS)
def lot(part: str, number: str) -> ResponseReturnValue:
    """A lot: status, quantities, dates, location, certificate, links, and its actions."""
    return _lot_page(part, number)


@bp.get("/lots")
@requires(*STOCK_READERS)
def find_lot() -> ResponseReturnValue:
    """Open the lot scanned or typed (part and lot number)."""
    part = request.args.get("part", "").strip()
    number = request.args.get("number", "").strip()
    if not part or not number:
        return redirect(url_for("materials.inventory"), 303)
    return redirect(url_for("materials.lot", part=part, number=number), 303)


@bp.get("/lots/<part>/<number>/certificate")
@requires(*STOCK_READERS)
def certificate(part: str, number: str) -> ResponseReturnValue:
    """The lot's certificate of analysis, as it was uploaded."""
    detail = materials().lot(part, number)
    if not detail.lot.certificate_sha256:
        raise Invalid(f"Lot {number} of {part} has no certificate of analysis.")
    stored = materials().certificate(detail.lot.certificate_sha256)
    response = Response(stored.content, mimetype=stored.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{stored.filename}"'
    response.headers["ETag"] = f'"{detail.lot.certificate_sha256}"'
    return response


def _lot_command(
    part: str, number: str, done: str, run: Callable[[], object]
) -> ResponseReturnValue:
    """Run a lot command; back to the lot page with what happened, or with the refusal."""
    try:
        result = run()
    except DomainError as refused:
        return _lot_page(part, number, domain_status(refused), refused.message)
    flash(done, DONE)
    target = getattr(result, "number", number)
    return redirect(url_for("materials.lot", part=part, number=target), 303)


@bp.post("/lots/<part>/<number>/status")
@requires(*LOT_ROLES)
def change_status(part: str, number: str) -> ResponseReturnValue:
    """Release, hold or scrap (all or a quantity), with the signature the site asks for."""
    form = request.form
    action = form.get("action", "")
    if action not in STATUS_ACTIONS:
        return _lot_page(part, number, 400, f"Choose release, hold or scrap, not '{action}'.")
    signer = form.get("signer", "").strip()

    def run() -> object:
        quantity = parse_number(form.get("quantity"), "quantity", "The quantity to scrap")
        return materials().change_status(
            actor=require_caller().username,
            action=action,  # type: ignore[arg-type]
            part=part,
            lot=number,
            reason=form.get("reason", ""),
            quantity=quantity,
            signatures=(
                [signature_input(signer, form.get("password", ""), form.get("meaning", ""))]
                if signer
                else []
            ),
            idempotency_key=form.get("request_key") or None,
        )

    return _lot_command(part, number, f"Lot {number}: {action} recorded.", run)


@bp.post("/lots/<part>/<number>/move")
@requires(*STORES)
def move(part: str, number: str) -> ResponseReturnValue:
    """Move the lot to another location."""
    location = request.form.get("location", "")
    return _lot_command(
        part,
        number,
        f"Lot {number} moved to {location}.",
        lambda: materials().move(
            actor=require_caller().username, part=part, lot=number, location=location,
            reason=request.form.get("reason", ""),
            idempotency_key=request.form.get("request_key") or None,
        ),
    )  # fmt: skip


@bp.post("/lots/<part>/<number>/split")
@requires(*STORES)
def split(part: str, number: str) -> ResponseReturnValue:
    """Split a quantity off into a new lot (opened after the split)."""
    form = request.form

    def run() -> object:
        quantity = parse_number(form.get("quantity"), "quantity", "The quantity to split off")
        if quantity is None:
            raise Invalid("Enter the quantity to split off.", field="quantity")
        return materials().split(
            actor=require_caller().username, part=part, lot=number, quantity=quantity,
            new_number=form.get("new_number", ""), reason=form.get("reason", ""),
            idempotency_key=form.get("request_key") or None,
        )  # fmt: skip

    return _lot_command(part, number, f"Split off lot {form.get('new_number', '')}.", run)


@bp.post("/merge")
@requires(*STORES)
def merge() -> ResponseReturnValue:
    """Merge lots of one part (numbers separated by commas or spaces) into a new lot."""
    form = request.form
    part = form.get("part", "").strip()
    numbers = form.get("lots", "").replace(",", " ").split()
    first = numbers[0] if numbers else ""
    try:
        merged = materials().merge(
            actor=require_caller().username, part=part, lots_merged=numbers,
            new_number=form.get("new_number", ""), reason=form.get("reason", ""),
            idempotency_key=form.get("request_key") or None,
        )  # fmt: skip
    except DomainError as refused:
        if first:
            return _lot_page(part, first, domain_status(refused), refused.message)
        raise
    flash(f"Merged {', '.join(numbers)} into lot {merged.number}.", DONE)
    return redirect(url_for("materials.lot", part=part, number=merged.number), 303)


# ---------------------------------------------------------------- kits


@bp.get("/kits")
@requires(*STORES)
def kits() -> ResponseReturnValue:
    """Open the kit of the work order scanned or typed."""
    number = request.args.get("work_order", "").strip()
    if number:
        return redirect(url_for("materials.kit", number=number), 303)
    return _page("material_kit.html", kit=None, message="")


@bp.get("/kits/<number>")
@requires(*STORES)
def kit(number: str) -> ResponseReturnValue:
    """A work order's kit: needed, reserved, free and short per BOM line."""
    return _page("material_kit.html", kit=materials().kit(number), message="")


@bp.post("/kits/<number>")
@requires(*STORES)
def reserve(number: str) -> ResponseReturnValue:
    """Reserve free stock for the kit, or give it back (``give_back``)."""
    actor = require_caller().username
    key = request.form.get("request_key") or None
    if request.form.get("give_back"):
        materials().unreserve_kit(actor=actor, work_order=number, idempotency_key=key)
        flash(f"Kit of {number} given back.", DONE)
    else:
        found = materials().reserve_kit(actor=actor, work_order=number, idempotency_key=key)
        short = [f"{line.part} {line.short:g} {line.unit}" for line in found.lines if line.short]
        flash(
            f"Kit of {number} reserved" + (f"; short: {', '.join(short)}." if short else "."), DONE
        )
    return redirect(url_for("materials.kit", number=number), 303)
