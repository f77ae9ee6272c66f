"""Every page checks the caller's roles: a walk over pages × users, and sign-in for strangers."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pages_support import release_unit
from web_support import USERS, sign_in

# page → roles that may open it
PAGES: dict[str, tuple[str, ...]] = {
    "/station/": ("operator", "supervisor"),
    "/station/{unit}": ("operator", "supervisor"),
    "/station/{unit}/panel": ("operator", "supervisor"),
    "/supervisor/": ("supervisor", "admin"),
    "/supervisor/holds": ("supervisor", "quality"),
    "/quality/": ("quality", "engineer", "supervisor", "stores", "maintenance"),
    "/quality/nc/new": ("quality", "engineer", "supervisor", "stores", "maintenance", "operator"),
    "/quality/pareto": ("supervisor", "quality", "engineer", "admin"),
    "/quality/deviations": ("supervisor", "quality", "engineer", "admin"),
    "/quality/trace?number={unit}": ("supervisor", "quality", "engineer", "admin"),
    "/inspections/?part=TERM-22": ("supervisor", "quality", "engineer", "admin"),
    "/admin/config": ("engineer", "admin"),
    "/admin/devices": ("supervisor", "engineer", "admin"),
    "/admin/users": ("admin",),
}


def test_every_page_lets_in_exactly_its_roles(line_client: FlaskClient, line_app: Flask) -> None:
    unit = release_unit(line_app)
    for username, roles in USERS.items():
        client = line_app.test_client()
        sign_in(client, username)
        for page, allowed in PAGES.items():
            status = client.get(page.format(unit=unit)).status_code
            expected = 200 if set(roles) & set(allowed) else 403
            assert status == expected, (username, page, status)


@pytest.mark.parametrize("page", ["/station/", "/quality/", "/admin/config", "/supervisor/"])
def test_a_stranger_is_sent_to_sign_in(client: FlaskClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/signin?next={page}"


def test_the_start_page_sends_each_role_to_its_work(
    line_app: Flask, line_client: FlaskClient
) -> None:
    landing = {
        "anna": "/station",
        "sam": "/supervisor",
        "quinn": "/quality",
        "eve": "/admin/config",
    }
    for username, target in landing.items():
        client = line_app.test_client()
        sign_in(client, username)
        assert client.get("/").headers["Location"] == target
    client = line_app.test_client()
    sign_in(client, "nobody")
    response = client.get("/")
    assert response.status_code == 403
    assert "You are signed in as nobody but hold no role yet; ask an admin to grant you one." in (
        response.get_data(as_text=True)
    )


def test_the_navigation_shows_only_the_callers_pages(line_client: FlaskClient) -> None:
    sign_in(line_client, "anna")
    page = line_client.get("/station/").get_data(as_text=True)
    nav = page.split('<nav aria-label="Pages">')[1].split("</nav>")[0]
    assert '<a href="/station" aria-current="page">Station</a>' in nav
    for hidden in ("/quality", "/admin", "/supervisor"):
        assert f'href="{hidden}' not in nav
