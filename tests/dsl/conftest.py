"""Plant-language test helpers: a small valid plant that a test breaks in exactly one place.

``write_plant(tmp_path, {"site.yaml": ...})`` writes it to disk; ``load_plant({...})`` loads it
from memory with the root label ``plant`` so rendered diagnostics are stable. Overrides map a
relative path to new text, or to None to delete the file; ``edit(path, old, new)`` returns the
base plant's files with one replacement (asserting that ``old`` occurs once). Tests use them
through the fixtures of the same names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from dsl import load_files
from dsl.loader import LoadResult

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PLANTS = sorted(p for p in (REPO / "plants").iterdir() if (p / "site.yaml").exists())

SITE = """\
site: demo
timezone: Europe/Berlin
work_centers:
  bench: {description: Assembly bench}
roles:
  quality: {description: Signs releases}
qualifications:
  assembly: {description: Assembly, valid_for: 365 d}
devices:
  press:
    opcua: {endpoint: "opc.tcp://127.0.0.1:4840"}
    tags:
      pressure: {node: "ns=2;s=Press.Pressure", unit: bar, max_age: 2 s}
      target: {node: "ns=2;s=Press.Target", unit: N, writable: true}
  scale:
    modbus: {host: 127.0.0.1, port: 5020}
    tags:
      weight: {holding: 0, type: float32, unit: kg}
equipment:
  press-1:
    device: press
    work_center: bench
    calibration_due: 2030-01-31
    states:
      - running: press.pressure > 1 bar
"""

MATERIALS = """\
parts:
  BOLT: {tracking: lot, unit: pcs}
  WIRE: {tracking: lot, unit: m, shelf_life: 730 d}
products:
  WIDGET:
    tracking: serial
    number_pattern: "W{yy}-{seq:4}"
    routing: widget
    bom:
      - {part: BOLT, qty: 2}
      - {part: WIRE, qty: 0.5 m}
"""

ROUTING = """\
routing: widget
product: WIDGET
operations:
  - id: assemble
    work_center: bench
    equipment: press-1
    qualification: assembly
    instructions: instructions/assemble.md
    interlocks:
      - require: press.pressure between 2 bar and 8 bar
        because: Pressure out of window
    setpoints:
      - {tag: press.target, value: 100 N, tolerance: 2 N}
    consume:
      - {part: BOLT, qty: 2}
      - {part: WIRE, qty: 50 cm, tolerance: 2 %}
    capture: [scale.weight]
    collect:
      length: {type: number, unit: mm, min: 490 mm, max: 0.51 m}
    gates:
      - check: length between 495 mm and 505 mm
        on_fail: hold
  - id: inspect
    collect:
      visual: {type: choice, choices: [ok, scratch]}
    gates:
      - check: visual == "ok" and assemble.length > 0 mm
        on_fail: {rework: assemble, max: 2}
    sign:
      - {role: quality, meaning: Released}
"""

BASE_FILES: dict[str, str] = {
    "site.yaml": SITE,
    "materials.yaml": MATERIALS,
    "routings/widget.yaml": ROUTING,
    "instructions/assemble.md": "# Assemble\n\nPress the bolts in.\n",
}

Overrides = Mapping[str, str | None]


def plant_files(overrides: Overrides | None = None) -> dict[str, str]:
    """The base plant's files with ``overrides`` applied (None deletes a file)."""
    files = dict(BASE_FILES)
    for path, text in (overrides or {}).items():
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
    return files


def edit(path: str, old: str, new: str) -> dict[str, str]:
    """The base plant with ``old`` replaced by ``new`` once in ``path``."""
    text = BASE_FILES[path]
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    return plant_files({path: text.replace(old, new)})


def write_plant(tmp_path: Path, files: Overrides | None = None) -> Path:
    """Write the base plant (with ``files`` applied) to ``tmp_path/plant`` and return it."""
    root = tmp_path / "plant"
    for relative, text in plant_files(files).items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def load_plant(files: Overrides | None = None) -> LoadResult:
    """Load the base plant (with ``files`` applied) from memory, labelled ``plant``."""
    return load_files(plant_files(files), "plant")


# Test modules reach the helpers through these fixtures (several test folders have a conftest,
# so importing "conftest" by name would be ambiguous).


@pytest.fixture(name="load_plant")
def load_plant_fixture() -> Callable[[Overrides | None], LoadResult]:
    return load_plant


@pytest.fixture
def base_files() -> dict[str, str]:
    return dict(BASE_FILES)


@pytest.fixture(name="edit")
def edit_fixture() -> Callable[[str, str, str], dict[str, str]]:
    return edit


@pytest.fixture
def plant_dir(tmp_path: Path) -> Callable[[Overrides | None], Path]:
    """``plant_dir({...})`` writes the base plant with overrides and returns its folder."""
    return lambda files=None: write_plant(tmp_path, files)


@pytest.fixture
def example_plants() -> list[Path]:
    return EXAMPLE_PLANTS
