"""acme-harness with crimping that needs a crimp applicator scanned (engine and web tests of tools
and fixtures): applicator-22 with a life of 2 crimps, and a pin gauge of another type."""

from __future__ import annotations

import shutil
from pathlib import Path

from testdata import ACME

GAUGE_TYPE = """  gauge-5:
    kind: pin gauge
    units: [G-5]
"""


def tool_plant_dir(tmp_path: Path) -> Path:
    """A copy of acme-harness under ``tmp_path`` whose crimp operation needs an applicator-22."""
    plant_dir = tmp_path / "acme-tools"
    shutil.copytree(ACME, plant_dir)
    site = plant_dir / "site.yaml"
    text = site.read_text().replace("    life: 250000 ", "    life: 2 ")
    site.write_text(
        text.replace("    units: [A-17, A-18]\n", "    units: [A-17, A-18]\n" + GAUGE_TYPE)
    )
    routing = plant_dir / "routings" / "harness-a.yaml"
    needs = "    equipment: crimp-press-1\n"
    routing.write_text(routing.read_text().replace(needs, needs + "    tool: applicator-22\n"))
    return plant_dir
