"""Work instructions: an operation's Markdown rendered to HTML, and the files of a deployed config
version served by path (the images the instructions show).

Markdown is rendered with raw HTML disabled, so an instruction file cannot inject markup or
scripts. Relative image paths resolve against the Markdown file's folder and point at the
version's own files; an image the version does not hold is shown as its alt text. A version never
changes, so its files are served with a long cache lifetime.
"""

from __future__ import annotations

import mimetypes
import posixpath
import weakref
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Blueprint, Response, url_for
from markdown_it import MarkdownIt
from markupsafe import Markup

from engine.errors import NotFound
from engine.facade.config import Config
from web.auth import require_caller
from web.errors import NotPermitted
from web.services import services

bp = Blueprint("instructions", __name__)

# Whoever may read a version's text files (the plant config itself), not only its images.
CONFIG_READERS = frozenset({"engineer", "admin"})
_TYPES = {".svg": "image/svg+xml", ".md": "text/markdown; charset=utf-8"}
_SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

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


def _content_type(path: str) -> str:
    extension = posixpath.splitext(path)[1].lower()
    if extension in _TYPES:
        return _TYPES[extension]
    guessed = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


@bp.get("/config/<int:version_id>/files/<path:path>")
def version_file(version_id: int, path: str) -> Response:
    """One file of a deployed version: images for anyone signed in, the config itself for
    engineers and admins. Only files the version holds are served."""
    caller = require_caller()
    texts, assets = services().config.version_files(version_id)
    content_type = _content_type(path)
    if path in assets:
        body = assets[path]
    elif path in texts:
        if not content_type.startswith("image/") and not caller.roles & CONFIG_READERS:
            raise NotPermitted(
                f"{path} is part of the plant config; only an engineer or admin may read it."
            )
        body = texts[path].encode()
    else:
        listed = len(texts) + len(assets)
        raise NotFound(
            f"Config version {version_id} has no file '{path}' (it holds {listed} files); "
            "check the path in the instructions."
        )
    response = Response(body, content_type=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    if path.lower().endswith(".svg"):
        response.headers["Content-Security-Policy"] = _SVG_POLICY
    return response
