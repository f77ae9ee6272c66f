"""A part's ``sample: {aql, level}`` (AQL receiving inspection, ANSI/ASQ Z1.4): loaded into the
model, and every mistake reported like a compiler does, with the values the tables have."""

from __future__ import annotations

from collections.abc import Callable

from dsl.loader import LoadResult
from dsl.model import AqlSampling

PLAIN = "BOLT: {tracking: lot, unit: pcs}"


def _with(base_files: dict[str, str], sample: str) -> dict[str, str]:
    materials = base_files["materials.yaml"]
    assert materials.count(PLAIN) == 1
    return {
        "materials.yaml": materials.replace(
            PLAIN, "BOLT: {tracking: lot, unit: pcs, sample: " + sample + "}"
        )
    }


def test_a_parts_aql_sampling_is_loaded(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    sample = "{aql: 0.65, level: S-3, skip: {after: 10, every: 3}, reduced: allowed, release: true}"
    result = load_plant(_with(base_files, sample))
    assert result.plant is not None, result.render()
    loaded = result.plant.parts["BOLT"].sample
    assert loaded is not None
    assert loaded == AqlSampling(
        aql="0.65", level="S-3", span=loaded.span, skip_after=10, skip_every=3,
        reduced_allowed=True, release=True,
    )  # fmt: skip
    plain = load_plant(_with(base_files, "{aql: 1, level: II}"))
    assert plain.plant is not None
    assert plain.plant.parts["BOLT"].sample == AqlSampling(
        aql="1.0",
        level="II",
        span=plain.plant.parts["BOLT"].sample.span,  # type: ignore[union-attr]
    )


def test_aql_sampling_mistakes_name_the_values_the_tables_have(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    result = load_plant(
        _with(base_files, "{aql: 1.2, level: IV, skip: {after: 0, every: 1}, reduced: yes}")
    )
    assert result.plant is None
    assert [(d.message, d.hint) for d in result.diagnostics] == [
        (
            "AQL 1.2 is not in the Z1.4 tables",
            "use one of 0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, "
            "1.5, 2.5, 4.0, 6.5, 10, 15, 25, 40, 65, 100, 150, 250, 400, 650, 1000",
        ),
        (
            "inspection level 'IV' is not in Z1.4",
            "use one of S-1, S-2, S-3, S-4, I, II, III (II is the usual one)",
        ),
        ("'after' must be 1 or more, found '0'", None),
        ("'every' must be 2 or more, found '1'", None),
        ("'reduced' must be allowed or never, found 'yes'", None),
    ]
    missing = load_plant(_with(base_files, "{aql: 1.0}"))
    assert [d.message for d in missing.diagnostics] == [
        "part 'BOLT' is missing the required key 'level'"
    ]
