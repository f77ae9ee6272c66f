"""Errors as people and programs see them: JSON for the API, an HTML page for browsers.

Engine errors map to statuses by kind: NotFound 404, Conflict 409, Blocked 409, a signature not
checked for too many failed sign-ins 429, Forbidden 403, Invalid 422. The web layer adds its own:
a malformed request 400 (naming the field), no or bad credentials 401, a role that may not do this
403, an address too long 414, too many failed sign-ins 429. A 405 names the allowed methods in
``Allow``.
Every body is ``{"error": code, "message": text, ...}``; ``field`` names the offending input.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Flask, Response, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from engine.access.signatures import SignatureThrottled
from engine.errors import Blocked, Conflict, DomainError, Forbidden, Invalid, NotFound

log = logging.getLogger(__name__)

DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Blocked, 409),
    (SignatureThrottled, 429),
    (Forbidden, 403),
    (Invalid, 422),
)


class WebError(Exception):
    """A request the web layer refuses before the engine sees it."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class BadRequest(WebError):
    """The request body or a parameter is malformed."""


class Unauthenticated(WebError):
    """No valid session or API token."""

    status = 401
    code = "unauthenticated"


class NotPermitted(WebError):
    """Signed in, but none of the caller's roles may do this."""

    status = 403
    code = "forbidden"


class UriTooLong(WebError):
    """The address is longer than Ferrule reads."""

    status = 414
    code = "uri_too_long"


class TooManyAttempts(WebError):
    """Too many failed sign-ins; wait before trying again."""

    status = 429
    code = "too_many_attempts"


MACHINE_PATHS = frozenset({"/api", "/metrics", "/readyz", "/healthz"})


def wants_json() -> bool:
    """API paths, the probes and metrics (and clients that prefer JSON) get JSON errors;
    browsers get pages."""
    if request.path.startswith("/api/") or request.path in MACHINE_PATHS:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def domain_status(error: DomainError) -> int:
    """The HTTP status for an engine error."""
    return next((s for kind, s in DOMAIN_STATUS if isinstance(error, kind)), 400)


def _respond(status: int, body: dict[str, object]) -> Response:
    if wants_json():
        response = jsonify(body)
    else:
        html = render_template("error.html", status=status, message=body.get("message", ""))
        response = Response(html, mimetype="text/html")
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ferrule"'
    return response


def _on_domain_error(error: DomainError) -> Response:
    return _respond(domain_status(error), error.to_json())


def _on_web_error(error: WebError) -> ResponseReturnValue:
    if isinstance(error, Unauthenticated) and not wants_json():
        return redirect(f"/signin?next={quote(request.full_path.rstrip('?'))}", 303)
    return _respond(error.status, error.to_json())


def _on_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = error.description or error.name
    if status == 404:
        message = f"There is no page at {request.path}; check the address."
    elif status == 405:
        message = f"{request.method} is not allowed on {request.path}."
    code = error.name.lower().replace(" ", "_")
    response = _respond(status, {"error": code, "message": message})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def _on_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.path, "method": request.method})
    message = (
        "Something went wrong on the server; the error was logged. Try again, or tell an admin."
    )
    return _respond(500, {"error": "internal", "message": message})


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(DomainError, _on_domain_error)
    app.register_error_handler(WebError, _on_web_error)
    app.register_error_handler(HTTPException, _on_http_error)
    app.register_error_handler(Exception, _on_unexpected)
