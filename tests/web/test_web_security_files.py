"""A config version's files are served only as images, PDF and Markdown rendered by Ferrule, with
nosniff, a disposition and a strict policy, to roles that work with the config; uploads refuse
links, paths outside the plant folder and zip bombs while inflating."""

from __future__ import annotations

import base64
import html
import io
import stat
import zipfile
import zlib

import pytest
from flask.testing import FlaskClient
from testdata import ACME
from web_support import Api, alerts_of, sign_in

from dsl.model import Plant
from web.pages import admin, bundles

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR pixels"
PDF = b"%PDF-1.7\n\xe2\xe3\xcf\xd3 a manual"
HTML = b"\xff<html><script>alert(document.cookie)</script></html>"
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'onload="alert(1)"><script>alert(2)</script><rect width="10" height="10" fill="#c33"/>'
    '<a xlink:href="javascript:alert(3)"><text x="1" y="9">7 mm</text></a>'
    '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject></svg>'
)
NOTES = "# Notes\n\n<script>alert(4)</script>\n\n![gauge](img/strip-gauge.svg)\n"
STRICT = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
NOT_SERVED = (
    "Ferrule does not serve instructions/help.html: a config version's files are served as "
    "images (PNG, JPEG, GIF, WebP, SVG), PDF and Markdown only."
)


def _files() -> dict[str, str]:
    files = {
        p.relative_to(ACME).as_posix(): p.read_text()
        for p in ACME.rglob("*")
        if p.is_file() and "tests" not in p.parts
    }
    files["instructions/notes.md"] = NOTES
    return files


def _assets(**extra: bytes) -> dict[str, str]:
    assets = {
        "instructions/img/photo.png": PNG,
        "instructions/manual.pdf": PDF,
        "instructions/help.html": HTML,
        "instructions/img/evil.svg": SVG.encode(),
        **extra,
    }
    return {path: base64.b64encode(data).decode() for path, data in assets.items()}


@pytest.fixture
def version(api: Api, shop: Plant) -> int:
    deployed = api.post("/api/config/versions", "eve", {"files": _files(), "assets": _assets()})
    assert deployed.status_code == 201, deployed.json
    return int(deployed.json["version"]["id"])


def _get(client: FlaskClient, version: int, path: str) -> object:
    return client.get(f"/config/{version}/files/{path}")


def test_images_are_served_as_what_they_are_with_a_strict_policy(
    client: FlaskClient, version: int
) -> None:
    sign_in(client, "anna")
    image = _get(client, version, "instructions/img/photo.png")
    assert image.status_code == 200  # type: ignore[attr-defined]
    assert image.get_data() == PNG  # type: ignore[attr-defined]
    headers = image.headers  # type: ignore[attr-defined]
    assert (
        headers["Content-Type"],
        headers["Content-Disposition"],
        headers["X-Content-Type-Options"],
        headers["Content-Security-Policy"],
    ) == ("image/png", 'inline; filename="photo.png"', "nosniff", STRICT)
    pdf = _get(client, version, "instructions/manual.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"  # type: ignore[attr-defined]
    assert pdf.headers["Content-Disposition"] == (  # type: ignore[attr-defined]
        'attachment; filename="manual.pdf"'
    )


def test_a_file_of_another_type_is_not_served(client: FlaskClient, version: int) -> None:
    for user in ("anna", "eve"):
        sign_in(client, user)
        refused = _get(client, version, "instructions/help.html")
        assert refused.status_code == 403  # type: ignore[attr-defined]
        assert alerts_of(refused) == [NOT_SERVED]
        assert b"alert(document.cookie)" not in refused.get_data()  # type: ignore[attr-defined]


def test_svg_is_served_without_scripts_handlers_or_links(client: FlaskClient, version: int) -> None:
    sign_in(client, "anna")
    image = _get(client, version, "instructions/img/evil.svg")
    assert image.status_code == 200  # type: ignore[attr-defined]
    assert image.headers["Content-Type"] == "image/svg+xml"  # type: ignore[attr-defined]
    assert image.headers["Content-Security-Policy"] == STRICT  # type: ignore[attr-defined]
    body = image.get_data(as_text=True)  # type: ignore[attr-defined]
    for unsafe in ("script", "onload", "javascript", "foreignObject", "alert"):
        assert unsafe not in body
    assert '<rect width="10" height="10" fill="#c33"' in body
    assert "7 mm" in body


def test_markdown_is_rendered_by_ferrule_with_raw_html_escaped(
    client: FlaskClient, version: int
) -> None:
    sign_in(client, "anna")
    page = _get(client, version, "instructions/notes.md")
    assert page.status_code == 200  # type: ignore[attr-defined]
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"  # type: ignore[attr-defined]
    text = page.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "<script>alert(4)" not in text
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in text
    assert f'<img src="/config/{version}/files/instructions/img/strip-gauge.svg"' in text


def test_only_roles_that_work_with_the_config_get_its_files(
    client: FlaskClient, version: int
) -> None:
    sign_in(client, "nobody")
    refused = _get(client, version, "instructions/img/photo.png")
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert alerts_of(refused) == [
        "This needs the role admin or engineer or operator or quality or supervisor; nobody has "
        "no role. Ask an admin to grant the role."
    ]
    sign_in(client, "anna")
    assert _get(client, version, "site.yaml").status_code == 403  # type: ignore[attr-defined]
    sign_in(client, "eve")
    config = _get(client, version, "site.yaml")
    assert config.status_code == 200  # type: ignore[attr-defined]
    assert config.headers["Content-Type"] == "text/plain; charset=utf-8"  # type: ignore[attr-defined]
    assert config.headers["Cache-Control"] == "no-store"  # type: ignore[attr-defined]


def test_a_bundle_whose_only_change_is_an_image_is_deployed(api: Api, version: int) -> None:
    other = _assets(**{"instructions/img/photo.png": PNG + b" brighter"})
    again = api.post("/api/config/versions", "eve", {"files": _files(), "assets": other})
    assert again.status_code == 201, again.json
    assert (again.json["created"], again.json["version"]["id"]) == (True, version + 1)


# ---------------------------------------------------------------- uploads


def _upload(client: FlaskClient, archive: io.BytesIO) -> object:
    csrf = sign_in(client, "eve")
    return client.post(
        "/admin/config/upload",
        data={"csrf_token": csrf, "action": "check", "bundle": (archive, "acme.zip")},
        content_type="multipart/form-data",
    )


def _zip(entries: dict[str, bytes], links: dict[str, str] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries.items():
            archive.writestr(path, data)
        for path, target in (links or {}).items():
            info = zipfile.ZipInfo(path)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    buffer.seek(0)
    return buffer


def _acme_entries() -> dict[str, bytes]:
    return {f"acme-harness/{path}": text.encode() for path, text in _files().items()}


def test_an_uploaded_zip_with_a_link_is_refused_naming_it(client: FlaskClient, shop: Plant) -> None:
    archive = _zip(
        _acme_entries(), links={"acme-harness/instructions/img/key.png": "../../var/secret_key"}
    )
    refused = _upload(client, archive)
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert alerts_of(refused) == [
        "instructions/img/key.png is a symbolic link in the zip; Ferrule takes only regular "
        "files. Zip the plant folder without links."
    ]


def test_an_uploaded_zip_reaching_outside_the_plant_folder_is_refused(
    client: FlaskClient, shop: Plant
) -> None:
    archive = _zip({**_acme_entries(), "acme-harness/../../etc/cron.d/x": b"* * * * * root x"})
    refused = _upload(client, archive)
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert alerts_of(refused) == [
        "The zip entry 'acme-harness/../../etc/cron.d/x' points outside the plant folder; zip "
        "the plant folder itself."
    ]


def test_a_zip_bomb_is_stopped_while_inflating(
    client: FlaskClient, shop: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundles, "MAX_INFLATED", 1024 * 1024)
    inflated: list[int] = []
    original = zipfile.ZipExtFile.read

    def counting(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        data = original(self, n)
        inflated.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    bomb = _zip({**_acme_entries(), "acme-harness/instructions/img/zeros.png": bytes(50 << 20)})
    refused = _upload(client, bomb)
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert alerts_of(refused) == [
        "The zip inflates to more than 1 MiB; a plant bundle is far smaller. Check that you chose "
        "the right file."
    ]
    assert sum(inflated) <= 2 * 1024 * 1024  # it stopped soon after the limit, not at 50 MiB


def test_a_zip_with_too_many_files_is_refused_not_cut_short(
    client: FlaskClient, shop: Plant
) -> None:
    many = {f"acme-harness/instructions/n{i}.md": b"x" for i in range(2001)}
    refused = _upload(client, _zip({**_acme_entries(), **many}))
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert alerts_of(refused) == [
        "The zip holds more than 2000 files; a plant bundle has far fewer. Check that you chose "
        "the right file."
    ]


def test_a_checked_bundle_field_cannot_inflate_without_bound(
    client: FlaskClient, shop: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin, "MAX_PACKED", 1024 * 1024)
    raw = b'{"files": {"site.yaml": "' + b"x" * (20 << 20) + b'"}, "assets": {}}'
    packed = base64.b64encode(zlib.compress(raw, 9)).decode()
    csrf = sign_in(client, "eve")
    refused = client.post("/admin/config/deploy", data={"csrf_token": csrf, "bundle": packed})
    assert refused.status_code == 400
    assert [html.unescape(a) for a in alerts_of(refused)] == [
        "The checked bundle in this form is damaged or too large; upload the bundle again."
    ]
