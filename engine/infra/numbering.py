"""Serial and lot numbers from a product's ``number_pattern``.

Placeholders: ``{yyyy}``, ``{yy}``, ``{mm}``, ``{dd}`` (the site's date at release), ``{seq:N}``
(a sequence zero-padded to N digits) and ``{wo}`` (the work order number). The sequence counts per
product and per *scope*: the pattern with everything but ``{seq}`` filled in, so
``HA{yy}{mm}-{seq:5}`` starts again at 00001 each month and numbers never repeat.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{([a-z]+)(?::(\d+))?\}")
_DATE_PARTS = {"yyyy": "%Y", "yy": "%y", "mm": "%m", "dd": "%d"}


class PatternError(ValueError):
    """A number pattern uses a placeholder Ferrule does not know."""


@dataclass(frozen=True, slots=True)
class NumberPattern:
    """A pattern bound to a date and work order, ready to number items."""

    scope: str
    template: str

    def render(self, seq: int) -> str:
        """The number for sequence value ``seq``."""
        return self.template.format(seq=seq)


def bind(pattern: str, *, day: dt.date, work_order: str) -> NumberPattern:
    """Fill every placeholder except ``{seq:N}``; the scope names the sequence to draw from."""
    pieces: list[str] = []
    scope: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(pattern):
        literal = pattern[last : match.start()].replace("{", "{{").replace("}", "}}")
        pieces.append(literal)
        scope.append(pattern[last : match.start()])
        name, width = match.group(1), match.group(2)
        if name in _DATE_PARTS:
            text = day.strftime(_DATE_PARTS[name])
        elif name == "wo":
            text = work_order
        elif name == "seq":
            pieces.append("{seq:0%dd}" % int(width or 1))  # noqa: UP031
            scope.append("{seq}")
            last = match.end()
            continue
        else:
            raise PatternError(
                f"unknown placeholder '{{{name}}}' in number pattern '{pattern}'; "
                "use {yyyy} {yy} {mm} {dd} {seq:N} or {wo}"
            )
        pieces.append(text.replace("{", "{{").replace("}", "}}"))
        scope.append(text)
        last = match.end()
    tail = pattern[last:]
    pieces.append(tail.replace("{", "{{").replace("}", "}}"))
    scope.append(tail)
    if "{seq}" not in scope:
        raise PatternError(
            f"number pattern '{pattern}' has no {{seq:N}}; add one so that numbers never repeat"
        )
    return NumberPattern(scope="".join(scope), template="".join(pieces))
