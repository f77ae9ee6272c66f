"""Random mutations of the example plants' YAML always give a LoadResult: diagnostics or a
model, never an uncaught exception or a hang."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsl
from dsl.loader import read_folder

REPO = Path(__file__).resolve().parents[2]
PLANTS = sorted(p for p in (REPO / "plants").iterdir() if (p / "site.yaml").exists())
SOURCES = [(plant, read_folder(plant)[0]) for plant in PLANTS]
YAML_FILES = [
    (index, path)
    for index, (_, files) in enumerate(SOURCES)
    for path in sorted(files)
    if path.endswith(".yaml") and not path.startswith("tests/")
]
REPLACEMENTS = ["", "x", "0", "-1", "true", "[", "]", "{", "}", ":", "- ", "&a", "*a", "'", '"',
                "65536", "1e999", "5 furlong", "2027-02-30", "\t", "#", "a: b: c", "null", "~",
                "and", "press1.pressure >", "\u00e9", "    ", "|"]  # fmt: skip


def mutate(text: str, data: st.DataObject) -> str:
    lines = text.split("\n")
    kind = data.draw(st.sampled_from(["delete", "duplicate", "swap", "flip", "replace", "indent"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "swap":
        j = data.draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "indent":
        lines[i] = data.draw(st.sampled_from(["  ", " ", "\t"])) + lines[i]
    elif lines[i]:
        col = data.draw(st.integers(0, len(lines[i]) - 1))
        if kind == "flip":
            char = data.draw(st.characters(codec="utf-8", exclude_categories=("Cs",)))
            lines[i] = lines[i][:col] + char + lines[i][col + 1 :]
        else:
            end = data.draw(st.integers(col, len(lines[i])))
            lines[i] = lines[i][:col] + data.draw(st.sampled_from(REPLACEMENTS)) + lines[i][end:]
    return "\n".join(lines)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_plants_load_to_a_result(data: st.DataObject) -> None:
    plant_index, path = data.draw(st.sampled_from(YAML_FILES))
    folder, files = SOURCES[plant_index]
    mutated = dict(files)
    for _ in range(data.draw(st.integers(1, 3))):
        mutated[path] = mutate(mutated[path], data)
    result = dsl.load_files(mutated, folder.name)
    assert isinstance(result, dsl.LoadResult)
    if result.plant is None:
        assert result.errors
    for diagnostic in result.diagnostics:
        assert diagnostic.span.path.startswith(folder.name + "/")
        assert diagnostic.render(result.sources)
