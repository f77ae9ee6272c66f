"""GS1 element strings: encode → parse round-trips (property tests), both scanned forms, the
check digit, dates, and the messages a bad scan gets."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsl.gtin import check_digit
from engine.errors import Invalid
from engine.floor import gs1
from engine.floor.gs1 import Element

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


def _alnum(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=CSET82, min_size=1, max_size=size)


def _gtin() -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=13, max_size=13).map(
        lambda body: body + check_digit(body)
    )


LABELS = st.fixed_dictionaries(
    {},
    optional={
        "01": _gtin(),
        "240": _alnum(30),
        "10": _alnum(20),
        "17": st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)).map(gs1.yymmdd),
        "21": _alnum(20),
    },
).filter(bool)


@given(LABELS)
def test_encode_then_parse_gives_back_every_element(fields: dict[str, str]) -> None:
    elements = [Element(ai, value) for ai, value in fields.items()]
    parsed = gs1.parse("]C1" + gs1.encode(elements))
    assert {(e.ai, e.value) for e in parsed.elements} == set(fields.items())


@given(LABELS.filter(lambda f: not any("(" in v for v in f.values())))
def test_the_printed_form_parses_back_too(fields: dict[str, str]) -> None:
    elements = [Element(ai, value) for ai, value in fields.items()]
    parsed = gs1.parse(gs1.human_readable(elements))
    assert {(e.ai, e.value) for e in parsed.elements} == set(fields.items())


@given(st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
def test_a_date_round_trips(day: dt.date) -> None:
    assert gs1.gs1_date(gs1.yymmdd(day)) == day


def test_fixed_fields_come_first_and_only_inner_variable_fields_end_with_fnc1() -> None:
    elements = [Element("10", "L-42"), Element("21", "SN1"), Element("01", "09501101530003")]
    assert gs1.encode(elements) == "0109501101530003" + "10L-42\x1d" + "21SN1"
    assert gs1.human_readable(elements) == "(01)09501101530003(10)L-42(21)SN1"


def test_a_scan_gives_the_named_fields() -> None:
    scanned = gs1.parse("]C1240TERM-22\x1d10L-2611-007\x1d17270131")
    assert (scanned.product_id, scanned.lot, scanned.expiry) == (
        "TERM-22",
        "L-2611-007",
        dt.date(2027, 1, 31),
    )
    assert scanned.serial is None and scanned.gtin is None


def test_day_00_is_the_last_day_of_the_month() -> None:
    assert gs1.gs1_date("280200") == dt.date(2028, 2, 29)


def test_the_gtin_check_digit() -> None:
    assert gs1.valid_gtin("09501101530003")
    assert not gs1.valid_gtin("09501101530004")
    assert gs1.gtin14("9501101530003") == "09501101530003"


def test_scanned_number_prefers_the_serial_and_leaves_plain_numbers_alone() -> None:
    assert gs1.scanned_number("(240)HA-100(21)HA2611-00001") == "HA2611-00001"
    assert gs1.scanned_number("]C1240HA-100\x1d10B-7") == "B-7"
    assert gs1.scanned_number("HA2611-00001") == "HA2611-00001"
    assert gs1.scanned_number("010950110153000321SN-9") == "SN-9"  # no prefix, no separator


@pytest.mark.parametrize(
    ("scan", "message"),
    [
        (
            "(01)09501101530004",
            "The scanned label is not valid: (01) GTIN '09501101530004': the check digit is wrong.",
        ),
        ("(17)271301", "'271301' is not a date: the month 13 is not 01 to 12."),
        ("(17)270230", "'270230' is not a date: 2027-02 has no day 30."),
        ("(99)X", "(99) is not a GS1 application identifier Ferrule knows."),
        (
            "]C1990X",
            "'990X' does not start a GS1 application identifier Ferrule knows; scan the "
            "label's barcode again, or type the number without brackets.",
        ),
        (
            "(240)HA-100",
            "The scanned label names no serial number (21) or lot (10); scan the "
            "unit's or lot's own label.",
        ),
    ],
)
def test_a_bad_scan_says_what_is_wrong(scan: str, message: str) -> None:
    with pytest.raises(gs1.NotGs1) as refused:
        gs1.scanned_number(scan)
    assert refused.value.message == message


def test_a_value_a_barcode_cannot_carry_is_refused_when_encoding() -> None:
    with pytest.raises(Invalid) as refused:
        gs1.encode([Element("10", "LOT #7")])
    assert refused.value.message == (
        "(10) batch or lot 'LOT #7': holds a character a GS1 barcode cannot carry; use letters, "
        "digits and !\"%&'()*+,-./:;<=>?_ only."
    )
    with pytest.raises(Invalid, match="longer than the 20 characters"):
        gs1.encode([Element("21", "S" * 21)])


def test_a_suppliers_label_gives_its_quantity_and_production_date() -> None:
    weighed = gs1.parse("(01)09501101020917(10)S-77(17)270131(11)260901(3102)012550")
    assert (weighed.quantity, weighed.produced, weighed.expiry) == (
        (125.5, "kg"),
        dt.date(2026, 9, 1),
        dt.date(2027, 1, 31),
    )
    counted = gs1.parse("]C1" + "11260901241TERM-22" + gs1.GS + "10S-88" + gs1.GS + "30500")
    assert (counted.quantity, counted.get(gs1.CUSTOMER_PART), counted.lot) == (
        (500.0, ""),
        "TERM-22",
        "S-88",
    )
    assert gs1.parse("(10)S-1").quantity is None
