"""GS1 element strings: what a lot or serial label's barcode carries, and what a scanner reads
back from it.

A label encodes application identifiers (AIs): 01 the part's GTIN (or 240, an additional product
id, for a part without one), 10 the lot, 17 the expiry (YYMMDD) and 21 the serial number. In the
barcode, a variable-length field that is not the last ends with FNC1, which a scanner sends as the
ASCII group separator (GS, 0x1d); people read the same data as ``(01)…(10)…``. :func:`parse`
accepts both forms (and a scanner's ``]C1``/``]d2``/``]Q3`` symbology prefix), :func:`encode`
writes the barcode form and :func:`human_readable` the printed one. Pure: no I/O, no database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dsl.gtin import gtin_problem
from engine.errors import Invalid

GS = "\x1d"  # FNC1 as a scanner sends it
SYMBOLOGY_PREFIXES = ("]C1", "]e0", "]d2", "]Q3", "]J1")

GTIN = "01"
LOT = "10"
PRODUCED = "11"
EXPIRY = "17"
SERIAL = "21"
PRODUCT_ID = "240"
CUSTOMER_PART = "241"
COUNTS = ("30", "37")
# net measures: AI 31xd carries the value with d decimals, in the unit of its first three digits
MEASURES = {"310": "kg", "311": "m", "315": "l"}


@dataclass(frozen=True, slots=True)
class Ai:
    """An application identifier: its digits, its data's length (fixed, or at most ``max``) and
    whether its data is digits only."""

    code: str
    title: str
    max_length: int
    fixed: bool
    numeric: bool


_KNOWN = (
    Ai("00", "SSCC", 18, True, True),
    Ai("01", "GTIN", 14, True, True),
    Ai("02", "GTIN of contained trade items", 14, True, True),
    Ai("10", "batch or lot", 20, False, False),
    Ai("11", "production date", 6, True, True),
    Ai("13", "packaging date", 6, True, True),
    Ai("15", "best before date", 6, True, True),
    Ai("17", "expiry date", 6, True, True),
    Ai("20", "variant", 2, True, True),
    Ai("21", "serial number", 20, False, False),
    Ai("22", "consumer product variant", 20, False, False),
    Ai("240", "additional product id", 30, False, False),
    Ai("241", "customer part number", 30, False, False),
    Ai("250", "secondary serial number", 30, False, False),
    Ai("30", "count of items", 8, False, True),
    Ai("37", "count of trade items", 8, False, True),
    Ai("400", "customer's purchase order", 30, False, False),
    *(Ai(f"31{d}{n}", "net measure", 6, True, True) for d in "0123456789" for n in "0123456789"),
)
AIS = {ai.code: ai for ai in _KNOWN}
DATES = frozenset({"11", "13", "15", "17"})

# GS1's character set 82, which every alphanumeric AI may hold
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*")
_BRACKETED = re.compile(r"\((\d{2,4})\)")


@dataclass(frozen=True, slots=True)
class Element:
    """One AI and its data."""

    ai: str
    value: str


@dataclass(frozen=True, slots=True)
class Gs1:
    """A parsed element string, with the AIs a label of Ferrule's carries by name."""

    elements: tuple[Element, ...]

    def get(self, ai: str) -> str | None:
        return next((e.value for e in self.elements if e.ai == ai), None)

    @property
    def gtin(self) -> str | None:
        return self.get(GTIN)

    @property
    def product_id(self) -> str | None:
        return self.get(PRODUCT_ID)

    @property
    def lot(self) -> str | None:
        return self.get(LOT)

    @property
    def serial(self) -> str | None:
        return self.get(SERIAL)

    @property
    def expiry(self) -> dt.date | None:
        text = self.get(EXPIRY)
        return gs1_date(text) if text is not None else None

    @property
    def produced(self) -> dt.date | None:
        text = self.get(PRODUCED)
        return gs1_date(text) if text is not None else None

    @property
    def quantity(self) -> tuple[float, str] | None:
        """The count (AI 30 or 37, unit "") or the net measure (AI 310d kg, 311d m, 315d l) a
        label carries, whichever comes first; None when it carries neither."""
        for element in self.elements:
            if element.ai in COUNTS:
                return float(int(element.value)), ""
            unit = MEASURES.get(element.ai[:3])
            if unit is not None and len(element.ai) == 4:
                return int(element.value) / 10 ** int(element.ai[3]), unit
        return None


class NotGs1(Invalid):
    """A scan that looks like a GS1 element string but is not a valid one."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="scan", code="gs1")


# ---------------------------------------------------------------- check digits and dates


def valid_gtin(text: str) -> bool:
    """True for a GTIN-8, -12, -13 or -14 whose check digit is right."""
    return not gtin_problem(text)


def gtin14(text: str) -> str:
    """A GTIN padded to the 14 digits AI 01 carries."""
    return text.rjust(14, "0")


def yymmdd(day: dt.date) -> str:
    """A date as GS1 writes it."""
    return day.strftime("%y%m%d")


def gs1_date(text: str) -> dt.date:
    """A GS1 YYMMDD date: the century within -49…+50 years of today (GS1's sliding window, taken
    as 2000-2099 here), day 00 meaning the month's last day."""
    year, month, day = 2000 + int(text[:2]), int(text[2:4]), int(text[4:6])
    if not 1 <= month <= 12:
        raise NotGs1(f"'{text}' is not a date: the month {month:02d} is not 01 to 12.")
    if day == 0:
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return following - dt.timedelta(days=1)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise NotGs1(f"'{text}' is not a date: {year}-{month:02d} has no day {day}.") from None


# ---------------------------------------------------------------- encoding


def _checked(element: Element) -> Element:
    ai = AIS.get(element.ai)
    if ai is None:
        raise Invalid(f"AI ({element.ai}) is not one Ferrule writes.", field="ai")
    value = element.value
    what = f"({ai.code}) {ai.title} '{value}'"
    if not value:
        raise Invalid(f"{what}: is empty.", field=ai.code)
    if ai.fixed and len(value) != ai.max_length:
        raise Invalid(f"{what}: must have {ai.max_length} characters.", field=ai.code)
    if len(value) > ai.max_length:
        raise Invalid(
            f"{what}: is longer than the {ai.max_length} characters a GS1 barcode may carry.",
            field=ai.code,
        )
    if ai.numeric and not (value.isascii() and value.isdigit()):
        raise Invalid(f"{what}: must be digits only.", field=ai.code)
    if not _CSET82.fullmatch(value):
        raise Invalid(
            f"{what}: holds a character a GS1 barcode cannot carry; use letters, digits and "
            "!\"%&'()*+,-./:;<=>?_ only.",
            field=ai.code,
        )
    if ai.code in (GTIN, "02") and not valid_gtin(value):
        raise Invalid(f"{what}: the check digit is wrong.", field=ai.code)
    if ai.code in DATES:
        gs1_date(value)
    return element


def ordered(elements: Sequence[Element]) -> list[Element]:
    """The elements checked, fixed-length fields first (they need no separator), in the order
    given otherwise: the order a barcode carries them in."""
    checked = [_checked(e) for e in elements]
    return sorted(checked, key=lambda e: not AIS[e.ai].fixed)


def encode(elements: Sequence[Element], separator: str = GS) -> str:
    """The element string a barcode carries, without its leading FNC1: each variable-length field
    but the last ends with ``separator`` (the FNC1). Invalid names the first bad field."""
    in_order = ordered(elements)
    parts: list[str] = []
    for index, element in enumerate(in_order):
        parts.append(element.ai + element.value)
        if not AIS[element.ai].fixed and index < len(in_order) - 1:
            parts.append(separator)
    return "".join(parts)


def human_readable(elements: Sequence[Element]) -> str:
    """The text printed under a barcode: ``(01)09501101530003(10)L-42``."""
    return "".join(f"({e.ai}){e.value}" for e in ordered(elements))


# ---------------------------------------------------------------- parsing


def looks_like_gs1(text: str) -> bool:
    """True when a scan is meant as a GS1 element string (prefix, separator or brackets), so a
    plain serial or lot number is never taken for one."""
    return (
        text.startswith(SYMBOLOGY_PREFIXES)
        or GS in text
        or text.startswith("(")
        or (text.startswith(GTIN) and len(text) > 16 and valid_gtin(text[2:16]))
    )


def parse(text: str) -> Gs1:
    """The elements of a scanned GS1 string (see the module docstring); NotGs1 says what is wrong
    with one that is not valid."""
    for prefix in SYMBOLOGY_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    text = text.strip(GS)
    if text.startswith("("):
        return Gs1(tuple(_checked_scan(e) for e in _bracketed(text)))
    elements: list[Element] = []
    rest = text
    while rest:
        ai = _ai_at(rest)
        spec = AIS[ai]
        body = rest[len(ai) :]
        if spec.fixed:
            value, rest = body[: spec.max_length], body[spec.max_length :]
        else:
            value, _, rest = body.partition(GS)
        rest = rest.lstrip(GS)
        elements.append(_checked_scan(Element(ai, value)))
    if not elements:
        raise NotGs1("The scan is empty; scan the label's barcode again.")
    return Gs1(tuple(elements))


def _ai_at(text: str) -> str:
    for size in (2, 3, 4):
        if text[:size] in AIS:
            return text[:size]
    raise NotGs1(
        f"'{text[:4]}' does not start a GS1 application identifier Ferrule knows; "
        "scan the label's barcode again, or type the number without brackets."
    )


def _bracketed(text: str) -> list[Element]:
    pieces = _BRACKETED.split(text)
    if pieces[0]:
        raise NotGs1(f"'{text}' must start with an AI in brackets, like (10).")
    found = [Element(pieces[i], pieces[i + 1]) for i in range(1, len(pieces), 2)]
    for element in found:
        if element.ai not in AIS:
            raise NotGs1(f"({element.ai}) is not a GS1 application identifier Ferrule knows.")
    return found


def _checked_scan(element: Element) -> Element:
    try:
        return _checked(element)
    except NotGs1:
        raise
    except Invalid as bad:
        raise NotGs1(f"The scanned label is not valid: {bad.message}") from None


def scanned_number(text: str) -> str:
    """The serial (AI 21) or else the lot (AI 10) a GS1 scan names; any other scan as it is."""
    if not looks_like_gs1(text):
        return text
    data = parse(text)
    number = data.serial or data.lot
    if number is None:
        raise NotGs1(
            "The scanned label names no serial number (21) or lot (10); scan the unit's or "
            "lot's own label."
        )
    return number
