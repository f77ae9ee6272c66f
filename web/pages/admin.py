"""Engineer and admin pages: config versions with their diff, upload → review → deploy,
rollback, users (add, grant roles and qualifications with their training record; on a user's own
page deactivate or reactivate, reset the password, revoke a role, a qualification or an API
token), and device status with live values.

A review shows an uploaded bundle's diagnostics, what it changes in the active version (a unified
diff per text file, "changed" for a binary file) and its own config tests' result. Under change
control (site.yaml's ``change_control``) the deploy form asks for the approver's e-signature and
is offered only when the tests pass; the engine decides again when the bundle is deployed."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import zlib
from collections.abc import Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from dsl.model import ChangeControl
from engine.access.signatures import SignatureInput, SignatureRefused
from engine.commands.versions import ConfigRejected
from engine.errors import DomainError, Forbidden, Invalid, NotFound
from engine.infra.attachments import MAX_ATTACHMENT, Upload
from web.auth import require_caller, requires, signature_input
from web.errors import BadRequest, domain_status
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
    config = services().config
    html = render_template(
        "admin_config.html",
        versions=config.versions(),
        approvals=config.approvals(),
        control=context.pop("control", None) or config.change_control(),
        message=message,
        **context,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/config")
@requires(*CONFIGURERS)
def config() -> ResponseReturnValue:
    """Deployed versions (the active one marked, with their approvals), diff, upload, rollback."""
    return _versions_page()


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
    changes = services().config.changes(old_id, new_id)
    return _versions_page(diff=changes, a=old_id, b=new_id)


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


def _review_page(
    bundle: Bundle, note: str, status: int = 0, message: str = "", field_name: str = ""
) -> Response:
    """The checked bundle: its diagnostics, what it changes in the active version, its config
    tests' result and, when it may be deployed, the deploy form (with the approver's signature
    under change control). ``status`` 0: 200, or 422 when the bundle has errors."""
    review = services().config.review(bundle.files, bundle.assets)
    result = review.result
    ok = result.plant is not None
    control = review.change_control
    tests_pass = review.tests is not None and review.tests.ok and review.tests.cases > 0
    deployable = ok and (control is None or tests_pass)
    caller = require_caller()
    at_field = field_name in ("approver", "password") and deployable and control is not None
    return _versions_page(
        status or (200 if ok else 422),
        "" if at_field else message,
        checked=True,
        ok=ok,
        site=result.plant.site.name if result.plant is not None else "",
        diagnostics="\n\n".join(d.render(result.sources) for d in result.diagnostics),
        count=len(result.diagnostics),
        packed=_pack(bundle),
        file_count=len(bundle.files) + len(bundle.assets),
        note=note,
        review=review,
        deployable=deployable,
        control=control,
        approver=request.form.get("approver", "")
        if request.form.get("approver") is not None
        else _default_approver(caller.username, caller.roles, control),
        field=field_name,
        field_message=message if at_field else "",
    )


def _default_approver(username: str, roles: frozenset[str], control: ChangeControl | None) -> str:
    """The caller, when they may approve their own deploy; otherwise nobody (someone types in)."""
    if control is None or control.two_person or control.approver not in roles:
        return ""
    return username


@bp.post("/config/upload")
@requires(*CONFIGURERS)
def upload() -> ResponseReturnValue:
    """Check an uploaded bundle and show every diagnostic, what it changes and its config tests;
    deploy it at once when asked, clean, and no approval is needed."""
    bundle = _posted_bundle()
    note = request.form.get("note", "")
    if request.form.get("action") == "deploy":
        control = services().config.change_control()
        if control is None:
            return _deploy(bundle, note)
        return _review_page(
            bundle,
            note,
            message=f"Deploys are under change control: check the changes and the config tests "
            f"below, then a user with the role '{control.approver}' signs to deploy.",
        )
    return _review_page(bundle, note)


def _posted_approval() -> SignatureInput | None:
    """The approver's signature from a deploy or rollback form (None when none was given)."""
    form = request.form
    approver = form.get("approver", "").strip()
    if not approver and not form.get("password"):
        return None
    return signature_input(approver, form.get("password", ""), form.get("meaning", ""))


def _deploy(bundle: Bundle, note: str) -> ResponseReturnValue:
    approval = _posted_approval()
    try:
        deployed = services().config.deploy(
            actor=require_caller().username,
            source=bundle.files,
            assets=bundle.assets,
            note=note,
            approval=approval,
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
    except (Forbidden, Invalid) as refused:
        where = "password" if isinstance(refused, SignatureRefused) else _field_of(refused)
        return _review_page(bundle, note, domain_status(refused), refused.message, where)
    except DomainError as refused:
        return _versions_page(409, refused.message)
    version = deployed.version
    said = "deployed and active" if deployed.created else "already stored; re-activated"
    signed = deployed.approval
    by = f", approved by {signed.username} ({signed.role})" if signed is not None else ""
    flash(f"Version {version.id} ({version.content_hash[:12]}) {said}{by}.", DONE)
    return redirect(url_for("admin.config"), 303)


def _field_of(refused: DomainError) -> str:
    """Which part of the deploy form a refusal is about: the approver, or the field it names."""
    field_name = getattr(refused, "field", None) or ""
    if field_name.startswith("approval") or refused.code in APPROVER_REFUSALS:
        return "approver"
    return field_name


APPROVER_REFUSALS = frozenset({"approval_required", "two_person", "signature_role"})


@bp.post("/config/deploy")
@requires(*CONFIGURERS)
def deploy() -> ResponseReturnValue:
    """Deploy a bundle (uploaded, or checked a moment ago); errors refuse it, and so do failing
    config tests or a missing or refused approval under change control."""
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
            actor=require_caller().username,
            version_id=version_id,
            reason=reason,
            approval=_posted_approval(),
        )
    except (Forbidden, Invalid) as refused:
        return _versions_page(domain_status(refused), refused.message)
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
                actor=actor,
                username=username,
                qualification=form.get("qualification", ""),
                evidence=form.get("evidence", "").strip(),
                evidence_file=_uploaded("file"),
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


def _uploaded(name: str) -> Upload | None:
    """The file posted as ``name`` (None when none was chosen), read no further than one byte
    past what the engine accepts, so that it can say how much too large it is."""
    posted = request.files.get(name)
    if posted is None or not posted.filename:
        return None
    content = posted.stream.read(MAX_ATTACHMENT + 1)
    return Upload(posted.filename, posted.mimetype or "", content)


# ---------------------------------------------------------------- one user


def _user_page(username: str, status: int = 200, message: str = "") -> Response:
    """One user: status, roles, qualifications with their evidence, API tokens, and the forms
    to deactivate or reactivate, reset the password and revoke each role, qualification and
    token. NotFound (404) for an unknown user."""
    access = services().access
    user = access.user(username)
    html = render_template(
        "admin_user.html",
        user=user,
        tokens=[t for t in access.tokens() if t.username == username],
        password_policy=access.password_policy(),
        today=dt.date.today(),
        message=message,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/users/<username>")
@requires(*ADMINS)
def user(username: str) -> ResponseReturnValue:
    """One user, with what an admin can change about them."""
    return _user_page(username)


def _changed(username: str, done: str, change: Callable[[str], object]) -> ResponseReturnValue:
    """Run ``change`` with the caller as actor; back to the user's page with ``done`` or, when
    refused, with the refusal (an unknown user stays a 404)."""
    try:
        change(require_caller().username)
    except NotFound:
        raise
    except DomainError as refused:
        return _user_page(username, domain_status(refused), refused.message)
    flash(done, DONE)
    return redirect(url_for("admin.user", username=username), 303)


def _reason() -> str:
    return request.form.get("reason", "")


@bp.post("/users/<username>/deactivate")
@requires(*ADMINS)
def deactivate(username: str) -> ResponseReturnValue:
    """Deactivate a user: their sessions and tokens end at once; their records stay."""
    return _changed(
        username,
        f"{username} is deactivated; their sessions and API tokens have ended.",
        lambda actor: services().access.deactivate(
            actor=actor, username=username, reason=_reason()
        ),
    )


@bp.post("/users/<username>/reactivate")
@requires(*ADMINS)
def reactivate(username: str) -> ResponseReturnValue:
    """Let a deactivated user sign in again."""
    return _changed(
        username,
        f"{username} is active again.",
        lambda actor: services().access.reactivate(
            actor=actor, username=username, reason=_reason()
        ),
    )


@bp.post("/users/<username>/password")
@requires(*ADMINS)
def reset_password(username: str) -> ResponseReturnValue:
    """Set a new password for a user; their sessions and tokens end."""
    return _changed(
        username,
        f"{username} has a new password; their sessions and API tokens have ended.",
        lambda actor: services().access.reset_password(
            actor=actor, username=username, password=request.form.get("password", "")
        ),
    )


@bp.post("/users/<username>/roles/<role>/revoke")
@requires(*ADMINS)
def revoke_role(username: str, role: str) -> ResponseReturnValue:
    """Take a role away; the user's sessions and tokens end."""
    return _changed(
        username,
        f"{username} no longer has the role {role}; their sessions and API tokens have ended.",
        lambda actor: services().access.revoke_role(
            actor=actor, username=username, role=role, reason=_reason()
        ),
    )


@bp.post("/users/<username>/qualifications/<qualification>/revoke")
@requires(*ADMINS)
def revoke_qualification(username: str, qualification: str) -> ResponseReturnValue:
    """Withdraw a qualification from today on."""
    return _changed(
        username,
        f"{username} is no longer qualified for {qualification}.",
        lambda actor: services().access.revoke_qualification(
            actor=actor, username=username, qualification=qualification, reason=_reason()
        ),
    )


@bp.get("/users/<username>/evidence/<sha256>")
@requires(*ADMINS)
def evidence(username: str, sha256: str) -> ResponseReturnValue:
    """The scan of a training record attached to one of the user's qualifications."""
    found = services().access.evidence_file(username=username, sha256=sha256)
    response = Response(found.content, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{sha256[:12]}-evidence"'
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@requires(*ADMINS)
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke an API token, back to its user's page."""
    token = services().access.revoke_token(actor=require_caller().username, token_id=token_id)
    if token is None:
        raise NotFound(f"There is no API token {token_id}; it may have been deleted.")
    flash(f"Token {token_id} ({token.name}) is revoked.", DONE)
    return redirect(url_for("admin.user", username=token.username), 303)


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
