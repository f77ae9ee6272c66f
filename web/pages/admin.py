"""Engineer and admin pages: config versions with their diff, upload → validation → deploy,
rollback, users and roles, and device status with live values."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
import json
import zlib

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.commands.versions import ConfigRejected
from engine.errors import DomainError, Invalid
from web.auth import require_caller, requires
from web.errors import BadRequest
from web.interlocks import TagShown, tag_shown
from web.pages.bundles import MAX_INFLATED, Bundle, read_bundle
from web.pages.nav import ADMINS, CONFIGURERS, DEVICE_WATCHERS
from web.services import services

bp = Blueprint("admin", __name__, url_prefix="/admin")

DONE = "done"
# a checked bundle travels as zlib'd JSON with base64 assets: a third more than its files
MAX_PACKED = MAX_INFLATED * 4 // 3 + 1024 * 1024


# ---------------------------------------------------------------- config versions


def _versions_page(status: int = 200, message: str = "", **context: object) -> Response:
    html = render_template(
        "admin_config.html",
        versions=services().config.versions(),
        message=message,
        **context,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/config")
@requires(*CONFIGURERS)
def config() -> ResponseReturnValue:
    """Deployed versions (the active one marked), diff, upload and rollback."""
    return _versions_page()


def diff_lines(
    db_a: tuple[dict[str, str], str], db_b: tuple[dict[str, str], str]
) -> list[tuple[str, list[str]]]:
    """A unified diff per changed file: (path, lines) for the files of two versions."""
    (old, old_label), (new, new_label) = db_a, db_b
    changed: list[tuple[str, list[str]]] = []
    for path in sorted(set(old) | set(new)):
        lines = list(
            difflib.unified_diff(
                old.get(path, "").splitlines(),
                new.get(path, "").splitlines(),
                fromfile=f"{old_label}/{path}" if path in old else "/dev/null",
                tofile=f"{new_label}/{path}" if path in new else "/dev/null",
                lineterm="",
            )
        )
        if lines:
            changed.append((path, lines))
    return changed


def _version_id(name: str) -> int:
    text = request.args.get(name, "")
    if not text.isdigit():
        raise BadRequest(f"Choose the version to compare ('{name}' must be a version number).")
    return int(text)


@bp.get("/config/diff")
@requires(*CONFIGURERS)
def diff() -> ResponseReturnValue:
    """The difference between two versions, file by file."""
    old_id, new_id = _version_id("a"), _version_id("b")
    config = services().config
    old_files, old_assets = config.version_files(old_id)
    new_files, new_assets = config.version_files(new_id)
    changed = diff_lines((old_files, f"v{old_id}"), (new_files, f"v{new_id}"))
    assets = sorted(
        p for p in set(old_assets) | set(new_assets) if old_assets.get(p) != new_assets.get(p)
    )
    return _versions_page(diff=changed, changed_assets=assets, a=old_id, b=new_id)


def _pack(bundle: Bundle) -> str:
    """The bundle as one form value, so the deploy step needs no server-side state."""
    assets = {p: base64.b64encode(d).decode() for p, d in bundle.assets.items()}
    raw = json.dumps({"files": bundle.files, "assets": assets}).encode()
    return base64.b64encode(zlib.compress(raw)).decode()


def _unpack(packed: str) -> Bundle:
    """The bundle :func:`_pack` made, inflated no further than :data:`MAX_PACKED`."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(packed, validate=True), MAX_PACKED)
        if inflater.unconsumed_tail:
            raise ValueError("larger than a bundle")
        data = json.loads(raw)
        files = {str(p): str(t) for p, t in data["files"].items()}
        assets = {str(p): base64.b64decode(d, validate=True) for p, d in data["assets"].items()}
        return Bundle(files, assets)
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,
        zlib.error,
        binascii.Error,
    ):
        raise BadRequest(
            "The checked bundle in this form is damaged or too large; upload the bundle again.",
            field="bundle",
        ) from None


def _posted_bundle() -> Bundle:
    packed = request.form.get("bundle", "")
    return _unpack(packed) if packed else read_bundle(request.files.getlist("bundle"))


@bp.post("/config/upload")
@requires(*CONFIGURERS)
def upload() -> ResponseReturnValue:
    """Check an uploaded bundle and show every diagnostic; deploy it when asked and clean."""
    bundle = _posted_bundle()
    note = request.form.get("note", "")
    if request.form.get("action") == "deploy":
        return _deploy(bundle, note)
    result = services().config.check(bundle.files, bundle.assets)
    rendered = "\n\n".join(d.render(result.sources) for d in result.diagnostics)
    return _versions_page(
        422 if result.plant is None else 200,
        checked=True,
        ok=result.plant is not None,
        site=result.plant.site.name if result.plant is not None else "",
        diagnostics=rendered,
        count=len(result.diagnostics),
        packed=_pack(bundle),
        file_count=len(bundle.files) + len(bundle.assets),
        note=note,
    )


def _deploy(bundle: Bundle, note: str) -> ResponseReturnValue:
    try:
        deployed = services().config.deploy(
            actor=require_caller().username, source=bundle.files, assets=bundle.assets, note=note
        )
    except ConfigRejected as rejected:
        return _versions_page(
            422,
            rejected.message,
            checked=True,
            ok=False,
            diagnostics=rejected.render(),
            count=len(rejected.diagnostics),
        )
    except DomainError as refused:
        return _versions_page(409, refused.message)
    version = deployed.version
    said = "deployed and active" if deployed.created else "already stored; re-activated"
    flash(f"Version {version.id} ({version.content_hash[:12]}) {said}.", DONE)
    return redirect(url_for("admin.config"), 303)


@bp.post("/config/deploy")
@requires(*CONFIGURERS)
def deploy() -> ResponseReturnValue:
    """Deploy a bundle (uploaded, or checked a moment ago); errors refuse it."""
    return _deploy(_posted_bundle(), request.form.get("note", ""))


@bp.post("/config/versions/<int:version_id>/rollback")
@requires(*CONFIGURERS)
def rollback(version_id: int) -> ResponseReturnValue:
    """Re-activate an older version (reason required)."""
    reason = request.form.get("reason", "").strip()
    if not reason:
        return _versions_page(422, f"Give a reason to roll back to version {version_id}.")
    try:
        services().config.rollback(
            actor=require_caller().username, version_id=version_id, reason=reason
        )
    except DomainError as refused:
        return _versions_page(409, refused.message)
    flash(f"Version {version_id} is active again.", DONE)
    return redirect(url_for("admin.config"), 303)


# ---------------------------------------------------------------- users


def _users_page(status: int = 200, message: str = "") -> Response:
    access = services().access
    _, plant = services().ferrule.plant()
    html = render_template(
        "admin_users.html",
        users=access.users(),
        roles=access.roles(),
        qualifications=sorted(plant.qualifications),
        password_policy=access.password_policy(),
        today=dt.date.today(),
        message=message,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/users")
@requires(*ADMINS)
def users() -> ResponseReturnValue:
    """Users with their roles and qualifications; add users and grant roles."""
    return _users_page()


def _user_command(done: str, command: str) -> ResponseReturnValue:
    form = request.form
    actor = require_caller().username
    username = form.get("username", "").strip()
    access = services().access
    try:
        if command == "add":
            access.add_user(
                actor=actor,
                username=username,
                full_name=form.get("full_name", "").strip(),
                password=form.get("password", ""),
            )
        elif command == "role":
            access.grant_role(actor=actor, username=username, role=form.get("role", ""))
        else:
            access.grant_qualification(
                actor=actor, username=username, qualification=form.get("qualification", "")
            )
    except DomainError as refused:
        return _users_page(422 if isinstance(refused, Invalid) else 409, refused.message)
    flash(done.format(**{**form.to_dict(), "username": username}), DONE)
    return redirect(url_for("admin.users"), 303)


@bp.post("/users")
@requires(*ADMINS)
def add_user() -> ResponseReturnValue:
    return _user_command("User {username} added.", "add")


@bp.post("/users/role")
@requires(*ADMINS)
def grant_role() -> ResponseReturnValue:
    return _user_command("{username} now has the role {role}.", "role")


@bp.post("/users/qualification")
@requires(*ADMINS)
def grant_qualification() -> ResponseReturnValue:
    return _user_command("{username} is qualified for {qualification}.", "qualification")


# ---------------------------------------------------------------- devices


def _devices() -> list[tuple[str, str, str, list[TagShown]]]:
    """(device, protocol, description, live tags) of the active config."""
    ferrule = services().ferrule
    _, plant = ferrule.plant()
    return [
        (
            device.name,
            device.protocol,
            device.description,
            [
                tag_shown(r)
                for r in ferrule.live_readings(plant, [t.key for t in device.tags.values()])
            ],
        )
        for device in plant.devices.values()
    ]


@bp.get("/devices")
@requires(*DEVICE_WATCHERS)
def devices() -> ResponseReturnValue:
    """Every device's tags with live value, quality and age (refreshed every second)."""
    return render_template("admin_devices.html", devices=_devices())


@bp.get("/devices/live")
@requires(*DEVICE_WATCHERS)
def devices_live() -> ResponseReturnValue:
    """The device table alone, for the page's live refresh."""
    return render_template("_devices.html", devices=_devices())
