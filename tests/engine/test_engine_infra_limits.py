"""The input limits on their own: lengths, characters and quantities, with their messages."""

from __future__ import annotations

import pytest

from engine.errors import Invalid
from engine.infra.limits import (
    NAME_MAX,
    TEXT_MAX,
    check_names,
    check_quantity,
    check_texts,
    problem,
)


def test_names_are_one_line_of_at_most_200_characters() -> None:
    check_names(number="x" * NAME_MAX, lot=None)
    with pytest.raises(Invalid) as long:
        check_names(number="ok", lot="x" * (NAME_MAX + 1))
    assert (long.value.message, long.value.field) == (
        "The lot is 201 characters long; at most 200 are allowed.",
        "lot",
    )
    assert problem("a\tb", NAME_MAX, multiline=False) == (
        "contains a control character (U+0009) at position 2; remove it"
    )


def test_texts_keep_newlines_and_tabs_but_no_other_control_character() -> None:
    check_texts(reason="line one\n\tline two\r\n" + "x" * (TEXT_MAX - 20))
    for bad, code in (("\x00", "0000"), ("\x1b", "001B"), ("\x7f", "007F"), ("\x85", "0085")):
        with pytest.raises(Invalid) as refused:
            check_texts(reason=f"ab{bad}")
        assert refused.value.message == (
            f"The reason contains a control character (U+{code}) at position 3; remove it."
        )
    assert problem("é€😀", TEXT_MAX, multiline=True) is None
    assert problem("\udfff", TEXT_MAX, multiline=True) == (
        "contains an unpaired surrogate (U+DFFF) at position 1, which is not text; send valid UTF-8"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (-1.5, "-1.5"),
        (float("nan"), "nan"),
        (True, "1"),
        ("twelve", "'twelve'"),
        (None, "None"),
    ],
)
def test_a_quantity_is_a_finite_number_above_zero(value: object, shown: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_quantity(value, "Received quantity", "kg")
    assert (
        refused.value.message == f"Received quantity must be a number more than 0 kg; got {shown}."
    )
    assert refused.value.field == "quantity"
    assert check_quantity(2, "Received quantity") == check_quantity("2", "Received quantity") == 2.0
