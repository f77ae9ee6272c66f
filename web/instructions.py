"""Work instructions: an operation's Markdown rendered to HTML, and the files of a deployed config
version served by path (the images and documents the instructions show).

Markdown is rendered with raw HTML disabled, so an instruction file cannot inject markup or
scripts. Relative image paths resolve against the Markdown file's folder and point at the
version's own files; an image the version does not hold is shown as its alt text.

A version's files are served to the roles that work with it, and only as what Ferrule can vouch
for: images (PNG, JPEG, GIF, WebP; SVG once sanitized, :mod:`web.svg`) inline, PDF as a download,
Markdown rendered by Ferrule; the plant config's own text files as plain text, to engineers and
admins. Any other file is refused, whatever its name says. Each answer names its type exactly,
forbids sniffing another, and carries a policy that runs nothing. A version never changes, so its
images are cached long.
"""

from __future__ import annotations

import posixpath
import re
import weakref
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, url_for
from markdown_it import MarkdownIt
from markupsafe import Markup

from engine.errors import NotFound
from engine.facade.config import Config
from web.auth import require_caller, requires
from web.errors import NotPermitted
from web.services import services
from web.svg import UnsafeSvg, sanitized

bp = Blueprint("instructions", __name__)

# Whoever works with a version's instructions (every role of a plant), and who may read its
# text files (the plant config itself).
INSTRUCTION_READERS = ("operator", "supervisor", "quality", "engineer", "admin")
CONFIG_READERS = frozenset({"engineer", "admin"})
IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
DOCUMENTS = {".pdf": "application/pdf"}
STRICT = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
_IMMUTABLE = "private, max-age=31536000, immutable"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

_markdown = MarkdownIt("commonmark", {"html": False})
_paths: weakref.WeakKeyDictionary[Config, dict[int, frozenset[str]]] = weakref.WeakKeyDictionary()


def version_paths(config: Config, version_id: int) -> frozenset[str]:
    """Every file path a version holds, text and binary (read once: versions never change)."""
    known = _paths.setdefault(config, {})
    if version_id not in known:
        texts, assets = config.version_files(version_id)
        known[version_id] = frozenset(texts) | frozenset(assets)
    return known[version_id]


def _resolve(document: str, src: str) -> str | None:
    """The version path an image reference points at, or None when it leaves the bundle or
    names another site."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc or src.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(document), parts.path))
    return None if joined.startswith("..") else joined


@lru_cache(maxsize=256)
def _render(version_id: int, document: str, text: str, files: frozenset[str]) -> str:
    tokens = _markdown.parse(text)
    for token in tokens:
        for child in token.children or ():
            if child.type != "image":
                continue
            target = _resolve(document, str(child.attrGet("src") or ""))
            if target is None or target not in files:
                child.type = "text"
                child.tag = ""
                child.content = f"[image not in this config version: {child.content}]"
                continue
            child.attrSet(
                "src", url_for("instructions.version_file", version_id=version_id, path=target)
            )
            child.attrSet("loading", "lazy")
    html: str = _markdown.renderer.render(tokens, _markdown.options, {})
    return html


def render_instructions(version_id: int, document: str, text: str, files: frozenset[str]) -> Markup:
    """The HTML of the Markdown ``text`` of ``document`` (a path in the version), safe to embed.

    ``files`` are the paths the version holds (images are looked up there)."""
    return Markup(_render(version_id, document, text, files))  # noqa: S704  (raw HTML is off)


def _file(body: bytes, content_type: str, path: str, disposition: str, cache: str) -> Response:
    """One file as served: its exact type, no sniffing, a policy that runs nothing."""
    name = _UNSAFE_NAME.sub("_", posixpath.basename(path))
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Content-Security-Policy"] = STRICT
    response.headers["Cache-Control"] = cache
    return response


def _page(version_id: int, path: str, text: str) -> Response:
    """A Markdown file as a page rendered by Ferrule."""
    html = render_template(
        "instructions.html",
        path=path,
        version_id=version_id,
        body=render_instructions(
            version_id, path, text, version_paths(services().config, version_id)
        ),
    )
    return Response(html, mimetype="text/html")


def _svg(path: str, data: bytes) -> Response:
    try:
        safe = sanitized(data)
    except UnsafeSvg:
        raise NotPermitted(
            f"{path} is not an SVG image Ferrule can serve safely (it has a DOCTYPE, or does not "
            "parse); export it again as plain SVG."
        ) from None
    return _file(safe, "image/svg+xml", path, "inline", _IMMUTABLE)


@bp.get("/config/<int:version_id>/files/<path:path>")
@requires(*INSTRUCTION_READERS)
def version_file(version_id: int, path: str) -> Response:
    """One file of a deployed version, as the module docstring says."""
    texts, assets = services().config.version_files(version_id)
    if path not in texts and path not in assets:
        listed = len(texts) + len(assets)
        raise NotFound(
            f"Config version {version_id} has no file '{path}' (it holds {listed} files); "
            "check the path in the instructions."
        )
    data = assets[path] if path in assets else texts[path].encode()
    extension = posixpath.splitext(path)[1].lower()
    if extension == ".svg":
        return _svg(path, data)
    if extension in IMAGES:
        return _file(data, IMAGES[extension], path, "inline", _IMMUTABLE)
    if extension in DOCUMENTS:
        return _file(data, DOCUMENTS[extension], path, "attachment", _IMMUTABLE)
    if path in texts and extension == ".md":
        return _page(version_id, path, texts[path])
    if path in texts:
        if not require_caller().roles & CONFIG_READERS:
            raise NotPermitted(
                f"{path} is part of the plant config; only an engineer or admin may read it."
            )
        return _file(data, "text/plain; charset=utf-8", path, "inline", "no-store")
    raise NotPermitted(
        f"Ferrule does not serve {path}: a config version's files are served as images (PNG, "
        "JPEG, GIF, WebP, SVG), PDF and Markdown only."
    )
