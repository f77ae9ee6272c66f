"""acme-harness maintains its crimp press every 90 days or 20,000 strokes of its stroke counter
(press1.strokes); a counter that names no tag, a non-number tag or no ``uses`` is refused with a
message that says so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import dsl
from dsl.model import CareInterval

PLANT = Path(__file__).resolve().parents[2] / "plants" / "acme-harness"
DECLARED = "maintenance: {every: 90 d, uses: 20000, counter: press1.strokes}"


def test_acme_harness_counts_press_strokes_for_maintenance() -> None:
    plant = dsl.load(PLANT).plant
    assert plant is not None
    assert plant.equipment["crimp-press-1"].maintenance == CareInterval(
        90, 7, 20_000, "press1.strokes"
    )
    sim = plant.tag("press1.strokes").sim
    assert sim is not None
    assert (sim.kind, sim.rate_per_s) == ("counter", 0.5)  # the demo's press keeps stroking


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (
            "maintenance: {every: 90 d, uses: 20000, counter: press1.strokez}",
            "unknown tag 'press1.strokez'; did you mean 'press1.strokes'?",
        ),
        (
            "maintenance: {every: 90 d, uses: 20000, counter: press1.fault}",
            "usage counter 'press1.fault' is a bool tag; a counter must be a number tag",
        ),
        (
            "maintenance: {every: 90 d, counter: press1.strokes}",
            "usage counter 'press1.strokes' counts towards uses, but no `uses` is given",
        ),
    ],
)
def test_a_wrong_usage_counter_is_reported_where_it_is_written(
    tmp_path: Path, written: str, message: str
) -> None:
    plant_dir = tmp_path / "acme"
    shutil.copytree(PLANT, plant_dir)
    site = plant_dir / "site.yaml"
    text = site.read_text()
    assert DECLARED in text
    site.write_text(text.replace(DECLARED, written))
    (error,) = dsl.load(plant_dir).errors
    assert error.message == message
    pointed = site.read_text().splitlines()[error.span.line - 1][error.span.col - 1 :]
    assert pointed.startswith(written.split("counter: ")[1].rstrip("}"))
