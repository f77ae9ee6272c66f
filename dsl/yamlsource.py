"""YAML with positions: a small located tree built from PyYAML's event stream.

Every node remembers its span, so the loader can point a diagnostic at the exact line and
column. Scalars stay text (with their quoting style): the schema decides what ``2027-06-30`` or
``0.5 m`` means, not YAML's type resolution. Anchors, aliases and explicit tags are refused
(no alias bombs, no surprises), duplicate keys are errors, and input size and nesting are bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from dsl.diagnostics import Diagnostic, Span, error

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 64

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


Where = tuple[str, int, int, int, int]
"""A span's fields: path, line, col, end_line, end_col."""


@dataclass(frozen=True, slots=True)
class YScalar:
    """A scalar as written: ``text`` is the value, ``style`` None for plain, else the quote or
    block indicator (``'``, ``"``, ``|``, ``>``).

    ``where`` holds the fields of its :attr:`span`, which is made when asked for: a plant has
    hundreds of thousands of scalars and few of them ever appear in the model or a diagnostic.
    """

    text: str
    style: str | None
    where: Where

    @property
    def span(self) -> Span:
        return Span(*self.where)

    @property
    def is_plain(self) -> bool:
        return self.style is None

    @property
    def is_empty(self) -> bool:
        """A plain empty value (``key:`` with nothing after it)."""
        return self.style is None and self.text == ""

    @property
    def text_span(self) -> Span:
        """Where the value's first character stands (inside the quotes for quoted scalars)."""
        path, line, col, end_line, end_col = self.where
        if self.style in ("'", '"') and line == end_line:
            return Span(path, line, col + 1, line, end_col - 1)
        return Span(path, line, col, end_line, end_col)


@dataclass(frozen=True, slots=True)
class YSeq:
    items: tuple[YNode, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class YMap:
    """A mapping; keys are scalars (their text is unique, duplicates were reported)."""

    entries: tuple[tuple[YScalar, YNode], ...]
    span: Span
    _index: dict[str, tuple[YScalar, YNode]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """Each entry by its key's text (the tree builder passes the one it made anyway)."""

    def __post_init__(self) -> None:
        if not self._index:
            self._index.update({entry[0].text: entry for entry in self.entries})

    def get(self, key: str) -> YNode | None:
        entry = self._index.get(key)
        return None if entry is None else entry[1]

    def key(self, key: str) -> YScalar | None:
        """The key scalar itself (for spans pointing at ``key:``)."""
        entry = self._index.get(key)
        return None if entry is None else entry[0]

    def __contains__(self, key: str) -> bool:
        return key in self._index


YNode = YScalar | YSeq | YMap


def describe(node: YNode) -> str:
    """What a node is, in words, for "expected X, found Y" messages."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    if node.is_empty:
        return "nothing"
    text = node.text if len(node.text) <= 40 else node.text[:37] + "..."
    return f"'{text}'"


# ---------------------------------------------------------------- building from events


_SCALAR = yaml.ScalarEvent
_MAPPING_START, _MAPPING_END = yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQUENCE_START, _SEQUENCE_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent


class _Refused(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


def _span(path: str, event: yaml.Event) -> Span:
    start, end = event.start_mark, event.end_mark
    assert start is not None and end is not None
    return Span(path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _check_event(path: str, event: yaml.Event) -> None:
    anchor = getattr(event, "anchor", None)
    if isinstance(event, yaml.AliasEvent) or anchor is not None:
        raise _Refused(
            error(
                _span(path, event),
                "YAML anchors and aliases (&name, *name) are not supported",
                "write the value out in full where it is needed",
            )
        )
    if getattr(event, "tag", None) is not None:
        raise _Refused(
            error(
                _span(path, event),
                f"YAML tags such as '{event.tag}' are not supported",  # type: ignore[attr-defined]
                "remove the tag; values are read as text and checked against the plant schema",
            )
        )


class _Builder:
    """Turns a flat event stream into a located tree without recursion."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def build(self, next_event: Callable[[], yaml.Event | None]) -> YNode | None:
        """Pull every event of the stream and return the document's root.

        Scalars are by far the most common events, so they are tested first and built inline.
        """
        # Each open collection: its start line and column, whether it is a mapping, and its
        # children so far (a mapping's keys and values alternate).
        stack: list[tuple[int, int, bool, list[YNode]]] = []
        root: YNode | None = None
        documents = 0
        path = self.path
        while True:
            # Typed loosely: the branches below dispatch on the exact event type and read its
            # fields without isinstance checks or asserts, as this runs once per YAML event.
            event: Any = next_event()
            kind = type(event)
            if kind is _SCALAR:
                if event.anchor is not None or event.tag is not None:
                    _check_event(path, event)
                start, end = event.start_mark, event.end_mark
                node: YNode = YScalar(
                    event.value,
                    event.style or None,
                    (path, start.line + 1, start.column + 1, end.line + 1, end.column + 1),
                )
            elif kind is _MAPPING_START or kind is _SEQUENCE_START:
                if event.anchor is not None or event.tag is not None:
                    _check_event(path, event)
                if len(stack) >= MAX_DEPTH:
                    message = f"the YAML is nested more than {MAX_DEPTH} levels deep"
                    raise _Refused(error(_span(path, event), message))
                start = event.start_mark
                stack.append((start.line + 1, start.column + 1, kind is _MAPPING_START, []))
                continue
            elif kind is _MAPPING_END or kind is _SEQUENCE_END:
                line, col, is_map, items = stack.pop()
                end = event.end_mark
                span = Span(path, line, col, end.line + 1, end.column + 1)
                node = self._mapping(items, span) if is_map else YSeq(tuple(items), span)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Refused(
                        error(
                            _span(path, event),
                            "a plant file holds one YAML document, found a second one",
                            "remove the '---' line, or move the second document to its own file",
                        )
                    )
                continue
            elif kind is yaml.AliasEvent:
                _check_event(path, event)
                continue
            elif event is None or kind is yaml.StreamEndEvent:
                return root
            else:
                continue
            if stack:
                stack[-1][3].append(node)
            else:
                root = node

    def _mapping(self, items: list[YNode], span: Span) -> YMap:
        entries: list[tuple[YScalar, YNode]] = []
        index: dict[str, tuple[YScalar, YNode]] = {}
        for key, value in zip(items[0::2], items[1::2], strict=True):
            if not isinstance(key, YScalar):
                self.diagnostics.append(
                    error(key.span, "a mapping key must be a plain name, found " + describe(key))
                )
                continue
            first = index.get(key.text)
            if first is not None:
                self.diagnostics.append(
                    error(
                        key.span,
                        f"duplicate key '{key.text}'",
                        f"'{key.text}' is already set at line {first[0].span.line}; "
                        "keep one of them",
                    )
                )
                continue
            entry = (key, value)
            index[key.text] = entry
            entries.append(entry)
        return YMap(tuple(entries), span, index)


# ---------------------------------------------------------------- syntax errors

_REWORDED: tuple[tuple[str, str, str | None], ...] = (
    (
        "mapping values are not allowed",
        "unexpected ':' here",
        "put text that contains ': ' in quotes, or check this line's indentation",
    ),
    (
        "did not find expected key",
        "expected 'key: value' here",
        "check this line's indentation against the lines above it",
    ),
    (
        "could not find expected ':'",
        "expected ':' after a key",
        "write 'key: value', or quote text that spans lines",
    ),
    (
        "did not find expected '-' indicator",
        "expected a list item ('- ...') here",
        "check this line's indentation against the list above it",
    ),
    (
        "did not find expected ',' or ']'",
        "expected ',' or ']' in this [ ... ] list",
        None,
    ),
    (
        "did not find expected ',' or '}'",
        "expected ',' or '}' in this { ... } mapping",
        None,
    ),
    (
        "found unexpected end of stream",
        "the file ends inside a quoted text",
        "close the quote",
    ),
    (
        "block sequence entries are not allowed",
        "unexpected list item ('- ') here",
        "start the list on its own line, indented under its key",
    ),
    (
        "did not find expected node content",
        "expected a value here",
        None,
    ),
    (
        "found undefined alias",
        "YAML anchors and aliases (&name, *name) are not supported",
        None,
    ),
)


def _syntax_diagnostic(path: str, text: str, exc: yaml.YAMLError) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = str(getattr(exc, "problem", None) or exc)
    if mark is not None and text[mark.index : mark.index + 1] == "\t":
        return error(
            Span.point(path, line, col),
            "tab characters are not allowed in YAML indentation",
            "indent with spaces",
        )
    for needle, message, hint in _REWORDED:
        if needle in problem:
            return error(Span.point(path, line, col), message, hint)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return error(Span.point(path, line, col), message)


# ---------------------------------------------------------------- entry point


def parse_yaml(text: str, path: str) -> tuple[YNode | None, list[Diagnostic]]:
    """Parse one YAML file into a located tree; problems come back as diagnostics.

    The tree is None when the file cannot be read as YAML at all, or is empty.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        return None, [
            error(
                Span.point(path, 1, 1),
                f"file is too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})",
                "split it into several files",
            )
        ]
    builder = _Builder(path)
    loader = _Loader(text)
    try:
        root = builder.build(loader.get_event)
    except _Refused as refused:
        return None, [*builder.diagnostics, refused.diagnostic]
    except yaml.YAMLError as exc:
        return None, [*builder.diagnostics, _syntax_diagnostic(path, text, exc)]
    finally:
        loader.dispose()
    if isinstance(root, YScalar) and root.is_empty:
        root = None
    return root, builder.diagnostics
