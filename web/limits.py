"""What a request may be, checked at the door so that odd values get the API's JSON error and
never reach the database: the address's length, ids in the address, and JSON bodies (finite
numbers only, bounded nesting, no lone surrogates)."""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from flask import Flask, request
from werkzeug.routing import IntegerConverter, Map

from web.errors import BadRequest, UriTooLong

MAX_URL = 2048
MAX_ID = 2**31 - 1  # the largest id the database stores (an INTEGER column on PostgreSQL)
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_FINITE = (
    "The request body holds a number that is not finite (NaN, Infinity or beyond 1.8e308); send "
    "finite numbers."
)


class IdConverter(IntegerConverter):
    """``<int:…>`` in a route: digits up to :data:`MAX_ID` (a longer id is simply not found)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, *args, **{"max": MAX_ID, **kwargs})


def _refuse_long_urls() -> None:
    length = len(request.full_path.rstrip("?"))
    if length > MAX_URL:
        raise UriTooLong(
            f"The address is {length} characters long; Ferrule takes at most {MAX_URL}."
        )


class _NotFinite(ValueError):
    """NaN, Infinity or a number beyond a float's range in a JSON body."""


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NotFinite(text)
    return number


def _constant(name: str) -> NoReturn:
    raise _NotFinite(name)


def _too_deep() -> BadRequest:
    return BadRequest(
        f"The request body nests deeper than {MAX_DEPTH} levels; send a flatter body."
    )


def read_json(raw: bytes) -> Any:
    """The JSON value of a request body; BadRequest saying what is wrong with it."""
    try:
        data = json.loads(raw, parse_constant=_constant, parse_float=_finite)
    except _NotFinite:
        raise BadRequest(_NOT_FINITE) from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise BadRequest(
            "The request body is not valid JSON; check quotes, commas and brackets."
        ) from None
    _check_values(data)
    return data


def _check_values(data: Any) -> None:
    """BadRequest when ``data`` nests deeper than :data:`MAX_DEPTH`, or names a string holding a
    lone surrogate (it is not text, and no database can store it)."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while pending:
        value, path = pending.pop()
        if len(path) > MAX_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            for key, item in value.items():
                _text(key, path)
                pending.append((item, (*path, key)))
        elif isinstance(value, list):
            pending.extend((item, (*path, str(index))) for index, item in enumerate(value))
        elif isinstance(value, str):
            _text(value, path)


def _text(value: str, path: tuple[str, ...]) -> None:
    found = _SURROGATE.search(value)
    if found is not None:
        where = ".".join(path)
        raise BadRequest(
            f"{where or 'body'}: the text holds a lone surrogate (U+{ord(found.group()):04X}); "
            "send valid Unicode text.",
            field=where or None,
        )


def init_limits(app: Flask) -> None:
    """Bound ids in routes (before any route is added) and the address's length on ``app``."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_refuse_long_urls)
