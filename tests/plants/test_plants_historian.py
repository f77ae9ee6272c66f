"""acme-harness records its press pressure (0.5 bar deadband), its tester's resistance and ready
signal in the tag historian, keeps them 90 days and downsamples after 7 days to 1-minute buckets."""

from __future__ import annotations

from pathlib import Path

import dsl
from dsl.model import HistoryPolicy

PLANT = Path(__file__).resolve().parents[2] / "plants" / "acme-harness"


def test_acme_harness_records_its_press_and_tester() -> None:
    plant = dsl.load(PLANT).plant
    assert plant is not None
    recorded = {
        tag.key: (tag.history.every_s, tag.history.deadband, tag.history.heartbeat_s)
        for tag in plant.all_tags()
        if tag.history is not None
    }
    assert recorded == {
        "press1.pressure": (1.0, 0.5, 600.0),
        "tester.resistance": (1.0, 0.2, 300.0),
        "tester.ready": (1.0, 0.0, 600.0),
    }
    policy = plant.site.history
    assert policy is not None
    assert policy == HistoryPolicy(90 * 86400.0, 7 * 86400.0, 60.0, policy.span)
