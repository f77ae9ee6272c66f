"""Security headers on every response: a content security policy that allows no inline script
(every script and style is a static file), no framing, no MIME sniffing, a same-origin referrer,
HSTS over HTTPS, and ``no-store`` for everything but static files and a version's immutable
images (pages and answers carry production records). A view may set a stricter policy or its
own caching first; it is kept."""

from __future__ import annotations

from flask import Flask, Response, request

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000"


def _secure(response: Response) -> Response:
    headers = response.headers
    headers.update(ALWAYS)
    headers.setdefault("Content-Security-Policy", POLICY)
    headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    return response


def init_headers(app: Flask) -> None:
    """Add the headers to every response of ``app``."""
    app.after_request(_secure)
