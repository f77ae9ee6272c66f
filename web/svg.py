"""SVG images made safe to serve: only drawing elements and their geometry and presentation
attributes are kept. Scripts, event handlers, links, foreign content, animation (which can set a
link) and any reference outside the image are dropped; an ``<a>`` is replaced by what it holds.
A file with a DOCTYPE (entities can expand without bound) or that does not parse is refused."""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET

SVG = "http://www.w3.org/2000/svg"
_ELEMENTS = frozenset(
    {
        "svg", "g", "defs", "title", "desc", "symbol", "use", "rect", "circle", "ellipse", "line",
        "polyline", "polygon", "path", "text", "tspan", "linearGradient", "radialGradient",
        "stop", "clipPath", "mask", "marker", "pattern",
    }
)  # fmt: skip
_UNWRAPPED = frozenset({"a", "switch"})
_ATTRIBUTES = frozenset(
    {
        "id", "class", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "d",
        "points", "width", "height", "viewBox", "preserveAspectRatio", "transform", "fill",
        "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
        "stroke-linecap", "stroke-linejoin", "stroke-dasharray", "stroke-dashoffset",
        "stroke-miterlimit", "opacity", "color", "font-family", "font-size", "font-weight",
        "font-style", "text-anchor", "dominant-baseline", "letter-spacing", "dx", "dy",
        "offset", "stop-color", "stop-opacity", "gradientUnits", "gradientTransform", "fx", "fy",
        "clip-path", "clip-rule", "clipPathUnits", "mask", "maskUnits", "markerWidth",
        "markerHeight", "refX", "refY", "orient", "markerUnits", "marker-start", "marker-mid",
        "marker-end", "patternUnits", "patternTransform", "visibility", "display", "version",
        "href", "style",
    }
)  # fmt: skip
_OUTSIDE = re.compile(r"url\(\s*(?!['\"]?#)|javascript:|@import|expression\(", re.IGNORECASE)


class UnsafeSvg(ValueError):
    """An SVG file that cannot be made safe (it has a DOCTYPE, or does not parse)."""


def _local(name: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return "", name


def _keep_attribute(name: str, value: str) -> bool:
    namespace, local = _local(name)
    if namespace or local not in _ATTRIBUTES or _OUTSIDE.search(value):
        return False
    return local != "href" or value.startswith("#")


def _clean(element: ET.Element) -> list[ET.Element]:
    """What ``element`` becomes: itself cleaned, what it holds (unwrapped), or nothing."""
    namespace, local = _local(element.tag)
    if namespace != SVG or (local not in _ELEMENTS and local not in _UNWRAPPED):
        return []
    kept = [cleaned for child in list(element) for cleaned in _clean(child)]
    if local in _UNWRAPPED:
        return kept
    for name, value in list(element.attrib.items()):
        if not _keep_attribute(name, value):
            del element.attrib[name]
    element.tag = local  # written plainly; the root declares the SVG namespace
    element[:] = kept
    return [element]


@functools.lru_cache(maxsize=64)
def sanitized(data: bytes) -> bytes:
    """The SVG ``data`` with only what is safe to draw; UnsafeSvg when it cannot be made so.
    (A version's files never change, so each image is cleaned once per worker.)"""
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise UnsafeSvg("declares a DOCTYPE")
    try:
        root = ET.fromstring(data)  # noqa: S314  (no DOCTYPE, so no entities to expand)
    except ET.ParseError as error:
        raise UnsafeSvg(str(error)) from None
    if _clean(root) != [root] or root.tag != "svg":
        raise UnsafeSvg("its root is not <svg>")
    root.set("xmlns", SVG)
    drawn: bytes = ET.tostring(root, encoding="utf-8")
    return drawn
