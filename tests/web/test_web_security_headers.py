"""Security headers on every response, no inline script or style in the templates, Secure cookies
and a trusted proxy by setting, the secret key's length, private files, and health and metrics
that tell details only to the ``metrics`` role."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import subprocess
import sys
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pages_support import release_unit
from web_support import Api, csrf_of, sign_in

from dsl.model import Plant
from engine.floor.tagsource import StaticTagSource, TagReading, TagValue
from engine.infra import audit
from engine.infra.db import Database
from web import demo
from web.app import create_app
from web.settings import Settings, SettingsError
from web.tags import CacheTagSource

WEB = Path(__file__).resolve().parents[2] / "web"
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _security_headers(response: object) -> dict[str, str]:
    headers = response.headers  # type: ignore[attr-defined]
    names = (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
    )
    return {name: headers.get(name) for name in names}


EXPECTED = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def test_every_response_carries_the_security_headers(
    line_client: FlaskClient, line_app: Flask
) -> None:
    unit = release_unit(line_app)
    anonymous = [line_client.get("/signin"), line_client.get("/api/me"), line_client.get("/nope")]
    sign_in(line_client, "anna")
    pages = [line_client.get(f"/station/{unit}"), line_client.get(f"/api/items/{unit}")]
    for response in (*anonymous, *pages):
        assert _security_headers(response) == EXPECTED
    for response in pages:  # pages and answers with records are never stored
        assert response.headers["Cache-Control"] == "no-store"
    assert "no-store" not in line_client.get("/static/ferrule.css").headers.get("Cache-Control", "")


def test_templates_and_scripts_have_no_inline_script_or_style() -> None:
    for template in sorted((WEB / "templates").glob("*.html")):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert not re.search(r"\sstyle\s*=", text), template.name
        assert "javascript:" not in text, template.name


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        var_dir=tmp_path,
        database_url="unused",
        secret_key="k" * 32,
        session_timeout=dt.timedelta(minutes=30),
        tag_cache=tmp_path / "tags.mmap",
        **changes,  # type: ignore[arg-type]
    )


def test_cookies_are_secure_by_default_and_not_in_the_demo(tmp_path: Path) -> None:
    env = {"FERRULE_VAR": str(tmp_path), "FERRULE_SECRET_KEY": "k" * 32}
    assert Settings.from_env(env).secure_cookies is True
    assert Settings.from_env({**env, "FERRULE_SECURE_COOKIES": "0"}).secure_cookies is False
    assert demo.child_environment({}, tmp_path, "sqlite://")["FERRULE_SECURE_COOKIES"] == "0"


def test_a_secure_session_cookie_over_https(
    tmp_path: Path, db: Database, tags: StaticTagSource
) -> None:
    app = create_app(_settings(tmp_path, secure_cookies=True), db=db, tags=tags)
    response = app.test_client().get("/signin", base_url="https://ferrule.example")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ferrule_session=")
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "; SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(
    tmp_path: Path, db: Database, users: object, tags: StaticTagSource
) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}
    for hops, address in ((0, "127.0.0.1"), (1, "203.0.113.5")):
        app = create_app(_settings(tmp_path, trusted_proxies=hops), db=db, tags=tags)
        client = app.test_client()
        form = {"username": "quinn", "password": "wrong", "csrf_token": csrf_of(client)}
        assert client.post("/signin", data=form, headers=forwarded).status_code == 401
        with db.session() as session:
            last = audit.history(session, "user", "quinn")[-1]
        assert last["new"] == {"address": address}
    assert (
        Settings.from_env(
            {"FERRULE_SECRET_KEY": "k" * 32, "FERRULE_TRUSTED_PROXIES": "2"}
        ).trusted_proxies
        == 2
    )
    with pytest.raises(SettingsError) as bad:
        Settings.from_env({"FERRULE_SECRET_KEY": "k" * 32, "FERRULE_TRUSTED_PROXIES": "many"})
    assert str(bad.value) == (
        "FERRULE_TRUSTED_PROXIES='many' is not a number of proxies; set it to how many reverse "
        "proxies stand in front of Ferrule (0 when none)"
    )


def test_a_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as short:
        Settings.from_env({"FERRULE_SECRET_KEY": "test-secret", "FERRULE_VAR": str(tmp_path)})
    assert str(short.value) == (
        "FERRULE_SECRET_KEY is 11 bytes long; use at least 32 random bytes, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_hex(32))'`"
    )
    with pytest.raises(SettingsError):
        replace(_settings(tmp_path), secret_key="short")


def test_the_database_and_var_folder_are_private(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRULE_")}
    ferrule = Path(sys.executable).parent / "ferrule"
    subprocess.run(
        [str(ferrule), "db", "upgrade"], cwd=tmp_path, env=env, check=True, capture_output=True
    )
    var = tmp_path / "var"
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE((var / "ferrule.db").stat().st_mode) == 0o600


# ---------------------------------------------------------------- health and metrics


def test_readiness_details_and_metrics_need_the_metrics_role(
    api: Api, client: FlaskClient, db: Database, plant: Plant, users: object
) -> None:
    open_ = client.get("/readyz")
    assert open_.status_code == 200
    assert open_.json == {
        "status": "ready",
        "checks": {"database": {"ok": True}, "config": {"ok": True}, "tag_cache": {"ok": True}},
    }
    assert db.url not in open_.get_data(as_text=True)
    assert client.get("/metrics").status_code == 401
    sign_in(client, "ada")
    assert client.get("/metrics").status_code == 403
    token = {"Authorization": f"Bearer {api.metrics_token()}"}
    detailed = client.get("/readyz", headers=token).json
    assert detailed is not None
    assert detailed["checks"]["database"] == {"ok": True, "detail": db.url}
    assert client.get("/metrics", headers=token).status_code == 200


class _Readings(CacheTagSource):
    """A tag cache holding fixed readings (no file)."""

    def __init__(self, qualities: Mapping[str, str]) -> None:
        super().__init__(Path("/nonexistent"))
        self._qualities = qualities

    def tag_keys(self) -> tuple[str, ...]:
        return tuple(self._qualities)

    def read(self, keys: Collection[str]) -> Mapping[str, TagValue]:
        now = dt.datetime.now(dt.UTC)
        return {k: TagReading(None, self._qualities[k], None, now) for k in keys}


def test_readiness_does_not_call_bad_tags_fresh(
    tmp_path: Path, db: Database, plant: Plant, api: Api
) -> None:
    token = {"Authorization": f"Bearer {api.metrics_token()}"}
    for qualities, ok, detail in (
        (
            {"press1.pressure": "bad", "tester.ready": "bad"},
            False,
            "no tag has a good value (2 bad, 0 stale): is the adapter process running and are "
            "the devices connected?",
        ),
        (
            {"press1.pressure": "good", "tester.ready": "stale", "tester.resistance": "bad"},
            True,
            "1 of 3 tags good (1 bad, 1 stale)",
        ),
    ):
        app = create_app(_settings(tmp_path), db=db, tags=_Readings(qualities))
        answer = app.test_client().get("/readyz", headers=token)
        assert answer.status_code == (200 if ok else 503)
        assert answer.json["checks"]["tag_cache"] == {"ok": ok, "detail": detail}  # type: ignore[index]
