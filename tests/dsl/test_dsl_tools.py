"""Tools and fixtures in the plant language: tool types with their ids, life and calibration,
an operation naming the type it needs, and each mistake reported like a compiler does."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from dsl.loader import LoadResult
from dsl.model import CareInterval

Load = Callable[[Mapping[str, str | None] | None], LoadResult]
TOOLS = """
tools:
  applicator-22:
    kind: crimp applicator
    life: {life}
    calibration: {{every: 180 d}}
    units: [A-17, A-18]
  gauge:
    units: {gauge_units}
"""


@pytest.fixture
def plant_with_tools(base_files: dict[str, str], load_plant: Load) -> Callable[..., LoadResult]:
    """The base plant with two tool types, its ``assemble`` operation needing ``operation_tool``."""

    def load(
        *, life: str = "250000", gauge_units: str = "[G-1]", operation_tool: str = "applicator-22"
    ) -> LoadResult:
        site = base_files["site.yaml"] + TOOLS.format(life=life, gauge_units=gauge_units)
        routing = base_files["routings/widget.yaml"].replace(
            "    equipment: press-1\n", f"    equipment: press-1\n    tool: {operation_tool}\n"
        )
        return load_plant({"site.yaml": site, "routings/widget.yaml": routing})

    return load


def test_a_tool_type_is_built_with_its_ids_life_and_calibration(
    plant_with_tools: Callable[..., LoadResult],
) -> None:
    result = plant_with_tools()
    assert result.plant is not None, result.render()
    applicator = result.plant.tools["applicator-22"]
    assert (applicator.kind, applicator.units, applicator.life_cycles) == (
        "crimp applicator", ("A-17", "A-18"), 250000,
    )  # fmt: skip
    assert (applicator.warn_at, applicator.calibration) == (0.9, CareInterval(180, 7))
    assert result.plant.tool_type_of("A-18") is applicator
    assert result.plant.tool_type_of("A-99") is None
    assert result.plant.routings["widget"].operation("assemble").tool == "applicator-22"
    gauge = result.plant.tools["gauge"]
    assert (gauge.kind, gauge.life_cycles, gauge.warn_at, gauge.calibration) == (
        "tool", None, 0.9, None,
    )  # fmt: skip


def test_an_unknown_tool_type_gets_a_did_you_mean(
    plant_with_tools: Callable[..., LoadResult],
) -> None:
    result = plant_with_tools(operation_tool="aplicator-22")
    assert result.render() == (
        "plant/routings/widget.yaml:7:11: error: unknown tool 'aplicator-22'; did you mean "
        "'applicator-22'?\n"
        "        tool: aplicator-22\n"
        "              ^^^^^^^^^^^^"
    )


def test_a_life_of_zero_or_in_words_is_refused(plant_with_tools: Callable[..., LoadResult]) -> None:
    zero = plant_with_tools(life="0")
    assert [d.message for d in zero.errors] == ["'life' must be 1 or more, found '0'"]
    words = plant_with_tools(life="many")
    assert [d.message for d in words.errors] == ["'life' must be a whole number, found 'many'"]


def test_a_tool_id_listed_twice_is_an_error(plant_with_tools: Callable[..., LoadResult]) -> None:
    result = plant_with_tools(gauge_units="[G-1, A-17]")
    assert result.render() == (
        "plant/site.yaml:34:18: error: tool id 'A-17' is listed twice\n"
        "        units: [G-1, A-17]\n"
        "                     ^^^^\n"
        "  hint: first listed at plant/site.yaml:32:13; a tool id names one physical tool"
    )
