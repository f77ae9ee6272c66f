"""One serialization scheme for the engine's result types: frozen dataclasses to JSON and back.

A result type subclasses :class:`Jsonable`. Its fields are written in order, converted by their
declared types: ``datetime``/``date`` as ISO 8601 text, tuples as lists, nested Jsonable values as
objects, ``X | None`` as ``null`` or X; everything else (text, numbers, booleans, plain mappings)
as it is. ``from_json`` reverses this by the same types, so an idempotent retry gets back exactly
the result the first call returned. Computed properties a client needs (``allowed``, ``open``) are
named in ``json_properties``; they are written but not read back. The per-type converters are
worked out once per class, so the hot path does no type inspection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _iso(value: dt.date) -> str:
    return value.isoformat()


def _optional(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _sequence(convert: Convert, build: Callable[[Any], Any]) -> Convert:
    if convert is _same:
        return build
    return lambda values: build(convert(v) for v in values)


def _plain_mapping(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _encode_any(v) for k, v in value.items()}


def _encode_any(value: Any) -> Any:
    """For values typed ``Any``: convert what JSON cannot hold by itself."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode_any(v) for v in value]
    if isinstance(value, Mapping):
        return _plain_mapping(value)
    return value


def _is_optional(hint: Any) -> tuple[bool, Any]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return True, args[0]
    return False, hint


def _encoder(hint: Any) -> Convert:
    optional, inner = _is_optional(hint)
    if optional:
        convert = _encoder(inner)
        return _same if convert is _same else _optional(convert)
    origin = typing.get_origin(inner)
    if origin is tuple or origin is list:
        return _sequence(_encoder(typing.get_args(inner)[0]), list)
    if origin is not None and issubclass(origin, Mapping):
        return _plain_mapping
    if isinstance(inner, type) and hasattr(inner, "to_json"):
        return lambda value: value.to_json()
    if inner in (dt.datetime, dt.date):
        return _iso
    if inner is Any:
        return _encode_any
    return _same


def _decoder(hint: Any) -> Convert:
    optional, inner = _is_optional(hint)
    if optional:
        convert = _decoder(inner)
        return _same if convert is _same else _optional(convert)
    origin = typing.get_origin(inner)
    if origin is tuple:
        return _sequence(_decoder(typing.get_args(inner)[0]), tuple)
    if origin is list:
        return _sequence(_decoder(typing.get_args(inner)[0]), list)
    if origin is not None and issubclass(origin, Mapping):
        return dict
    if isinstance(inner, type) and hasattr(inner, "from_json"):
        return inner.from_json  # type: ignore[no-any-return]
    if inner is dt.datetime:
        return dt.datetime.fromisoformat
    if inner is dt.date:
        return dt.date.fromisoformat
    return _same


Codecs = tuple[tuple[str, Convert, Convert], ...]
_codecs_of: dict[type, Codecs] = {}


def _codecs(cls: type) -> Codecs:
    """(name, encode, decode) for each field of the dataclass ``cls``, worked out once."""
    found = _codecs_of.get(cls)
    if found is None:
        found = _codecs_of[cls] = _work_out(cls)
    return found


def _work_out(cls: type) -> Codecs:
    hints = typing.get_type_hints(cls)
    hidden: frozenset[str] = getattr(cls, "json_hidden", frozenset())
    return tuple(
        (f.name, _encoder(hints[f.name]), _decoder(hints[f.name]))
        for f in dataclasses.fields(cls)
        if f.name not in hidden
    )


class Jsonable:
    """Base of the engine's frozen result dataclasses: ``to_json``/``from_json`` by field types."""

    __slots__ = ()
    json_properties: ClassVar[tuple[str, ...]] = ()
    json_hidden: ClassVar[frozenset[str]] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """The result as plain JSON data (fields in order, then ``json_properties``)."""
        data = {name: encode(getattr(self, name)) for name, encode, _ in _codecs(type(self))}
        for name in self.json_properties:
            data[name] = _encode_any(getattr(self, name))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """The result back from :meth:`to_json`'s data (computed properties are ignored)."""
        return cls(**{name: decode(data[name]) for name, _, decode in _codecs(cls)})
