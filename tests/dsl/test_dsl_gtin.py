"""A part's or product's ``gtin:``: kept when its check digit is right, reported like any other
mistake (file, line, column, caret, hint) when it is not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dsl.gtin import check_digit, gtin_problem
from dsl.loader import LoadResult


def test_a_declared_gtin_reaches_the_model(
    load_plant: Callable[..., LoadResult], edit: Callable[[str, str, str], dict[str, str]]
) -> None:
    files = edit(
        "materials.yaml",
        "    tracking: serial\n",
        '    tracking: serial\n    gtin: "04012345000108"\n',
    )
    result = load_plant(files)
    assert result.diagnostics == ()
    assert result.plant is not None
    assert result.plant.products["WIDGET"].gtin == "04012345000108"
    assert result.plant.parts["BOLT"].gtin == ""


def test_a_wrong_check_digit_is_an_error_at_the_value(
    load_plant: Callable[..., LoadResult], edit: Callable[[str, str, str], dict[str, str]]
) -> None:
    files = edit(
        "materials.yaml",
        "  BOLT: {tracking: lot, unit: pcs}",
        '  BOLT: {tracking: lot, unit: pcs, gtin: "4006381333932"}',
    )
    result = load_plant(files)
    assert result.render() == (
        "plant/materials.yaml:2:42: error: GTIN '4006381333932' has the check digit 2; it "
        "should be 1\n"
        '      BOLT: {tracking: lot, unit: pcs, gtin: "4006381333932"}\n'
        "                                             ^^^^^^^^^^^^^^^\n"
        "  hint: copy the GTIN from its GS1 record, in quotes"
    )
    assert result.plant is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("4006381333931", ""),
        ("96385074", ""),
        ("12345", "'12345' is not a GTIN: a GTIN has 8, 12, 13 or 14 digits"),
        ("40063813339x1", "'40063813339x1' is not a GTIN: a GTIN has 8, 12, 13 or 14 digits"),
    ],
)
def test_gtin_problems(text: str, problem: str) -> None:
    assert gtin_problem(text) == problem


def test_the_check_digit() -> None:
    assert check_digit("400638133393") == "1"
