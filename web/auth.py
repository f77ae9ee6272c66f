"""Who is calling, and may they: sign-in and sign-out, sessions with a timeout, CSRF tokens, API
tokens, and the role checks every page and endpoint declares with :func:`requires`.

A browser signs in with a password and gets a signed session cookie naming the user and the
sign-in's audit row, so any worker serves any request; it expires after the configured minutes of
inactivity (a live-update stream a board keeps open is not activity), and ends on the server at
once when the user signs out anywhere or their password, roles or account change
(:mod:`engine.access.sessions`). Every form carries a CSRF token (``{{ csrf_field() }}``); scripts
calling the API from a signed-in page send it as the ``X-CSRF-Token`` header. Machine clients send
``Authorization: Bearer <token>``; a token acts as its user but only within its roles. Roles and
the session's end are read from the database on each request (one query, through the access
facade), so a revoked role takes effect at once.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    redirect,
    render_template,
    request,
    session,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from engine.access.signatures import SignatureInput
from web.errors import NotPermitted, TooManyAttempts, Unauthenticated
from web.services import services

P = ParamSpec("P")
R = TypeVar("R")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SEEN_REFRESH_S = 60  # rewrite the session's last-seen stamp at most once a minute
ENDED = (
    "Your session was ended (a sign-out, or a change to your password, roles or account); "
    "sign in again."
)

bp = Blueprint("auth", __name__)


@dataclass(frozen=True, slots=True)
class Caller:
    """The person (or machine client) behind a request, with the roles it may use now."""

    username: str
    roles: frozenset[str]
    via: Literal["session", "token"]


def current_caller() -> Caller | None:
    """The signed-in caller of this request, or None (loaded once per request)."""
    if "caller" not in g:
        g.caller = _load_caller()
    caller: Caller | None = g.caller
    return caller


def require_caller() -> Caller:
    """The caller, or :class:`Unauthenticated` saying how to sign in."""
    caller = current_caller()
    if caller is None:
        if g.get("session_expired"):
            raise Unauthenticated("Your session timed out; sign in again.")
        if g.get("session_ended"):
            raise Unauthenticated(ENDED)
        raise Unauthenticated("Sign in first (API clients: send 'Authorization: Bearer <token>').")
    return caller


def requires(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Allow the view only to callers holding one of ``roles`` (none given: any signed-in)."""
    allowed = frozenset(roles)

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            caller = require_caller()
            if allowed and not caller.roles & allowed:
                held = ", ".join(sorted(caller.roles)) or "no role"
                raise NotPermitted(
                    f"This needs the role {' or '.join(sorted(allowed))}; {caller.username} has "
                    f"{held}. Ask an admin to grant the role."
                )
            return view(*args, **kwargs)

        guarded.required_roles = allowed  # type: ignore[attr-defined]
        return guarded

    return decorate


def _load_caller() -> Caller | None:
    header = request.headers.get("Authorization", "")
    if header:
        return _token_caller(header)
    username = session.get("user")
    if not isinstance(username, str):
        return None
    now = time.time()
    seen = float(session.get("seen", 0))
    if now - seen > services().settings.session_timeout.total_seconds():
        session.clear()
        g.session_expired = True
        return None
    since = session.get("since")
    roles = services().access.session_roles(username, since) if isinstance(since, int) else None
    if roles is None:
        session.clear()
        g.session_ended = True
        return None
    if now - seen > SEEN_REFRESH_S and not _live_stream():
        session["seen"] = now
    return Caller(username, roles, "session")


def _live_stream() -> bool:
    """Whether the request is a live-update stream (server-sent events, which the browser
    reopens on its own): not activity, so a board left open does not keep its session alive."""
    return "text/event-stream" in request.headers.get("Accept", "")


def _token_caller(header: str) -> Caller:
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    token = services().access.token_caller(secret.strip())
    if token is None:
        raise Unauthenticated(
            "The API token is unknown, revoked or expired; ask an admin for a new one."
        )
    return Caller(token.username, token.roles, "token")


def client_address() -> str:
    """Where the request comes from (the client's, behind trusted proxies: see web.settings)."""
    return request.remote_addr or "unknown"


def signature_input(username: str, password: str, meaning: str) -> SignatureInput:
    """A signature as typed, sent by the caller of this request from its address (the engine
    throttles and audits it as such)."""
    return SignatureInput(
        username, password, meaning, caller=require_caller().username, address=client_address()
    )


def signature_inputs(given: Iterable[Mapping[str, str]]) -> list[SignatureInput]:
    """The signatures of a JSON body's ``signatures`` list (username, password, meaning each),
    as :func:`signature_input` makes them."""
    return [signature_input(s["username"], s["password"], s["meaning"]) for s in given]


# ---------------------------------------------------------------- CSRF


def csrf_token() -> str:
    """This session's CSRF token (created on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_field() -> Markup:
    """The hidden input every POST form includes: ``{{ csrf_field() }}``."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token())


def _check_csrf() -> None:
    """Refuse an unsafe request that relies on the session cookie without the session's token."""
    if request.method not in UNSAFE_METHODS or "Authorization" in request.headers:
        return
    if request.path.startswith("/api/") and "user" not in session:
        return  # no ambient credentials: the endpoint itself answers 401
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise NotPermitted(
            "This form has expired or did not come from Ferrule; reload the page and try again."
        )


# ---------------------------------------------------------------- sign-in and sign-out


def _safe_next(target: str | None) -> str:
    """Only redirect to a path on this site (never to another host)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _signin_page(message: str = "", status: int = 200, username: str = "") -> Response:
    html = render_template(
        "signin.html",
        message=message,
        username=username,
        next=_safe_next(request.values.get("next")),
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/signin")
def signin_form() -> Response:
    """The sign-in form."""
    return _signin_page()


@bp.post("/signin")
def signin() -> ResponseReturnValue:
    """Check the password (throttled by the engine), start a session."""
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return _signin_page("Enter your username and password.", 400, username)
    tried = services().access.sign_in(
        username=username, password=password, address=client_address()
    )
    if tried.refused:
        raise TooManyAttempts(tried.refused)
    if not tried.ok:
        return _signin_page("Wrong username or password.", 401, username)
    session.clear()  # a fresh session (and CSRF token) after sign-in: no session fixation
    session.permanent = True
    session["user"] = username
    session["since"] = tried.session
    session["seen"] = time.time()
    return redirect(_safe_next(request.form.get("next")), 303)


@bp.post("/signout")
def signout() -> ResponseReturnValue:
    """End this session and every other session of the caller."""
    caller = current_caller()
    if caller is not None and caller.via == "session":
        services().access.sign_out(caller.username)
    session.clear()
    return redirect("/signin", 303)


def init_auth(app: Flask) -> None:
    """Register the sign-in routes, the CSRF check and the template helpers on ``app``."""
    app.register_blueprint(bp)
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_caller"] = current_caller
