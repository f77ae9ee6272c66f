"""``history`` of a tag (what the historian records) and of the site (retention, downsampling):
loaded into the model, mistakes reported like a compiler with a fix."""

from __future__ import annotations

from collections.abc import Callable

from dsl.loader import LoadResult
from dsl.model import HistoryPolicy

PRESSURE = '      pressure: {node: "ns=2;s=Press.Pressure", unit: bar, max_age: 2 s}'
Edit = Callable[[str, str, str], dict[str, str]]


def _pressure(history: str) -> tuple[str, str, str]:
    return ("site.yaml", PRESSURE, PRESSURE[:-1] + f", history: {history}}}")


def test_a_tag_history_is_loaded_with_its_deadband_in_the_tags_unit(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    result = load_plant(edit(*_pressure("{every: 2 s, deadband: 50 kPa, heartbeat: 5 min}")))
    assert result.plant is not None, result.render()
    history = result.plant.tag("press.pressure").history
    assert history is not None
    assert (history.every_s, history.deadband, history.heartbeat_s) == (2.0, 0.5, 300.0)
    defaults = load_plant(edit(*_pressure("{}"))).plant
    assert defaults is not None
    plain = defaults.tag("press.pressure").history
    assert plain is not None
    assert (plain.every_s, plain.deadband, plain.heartbeat_s) == (1.0, 0.0, 600.0)
    assert defaults.tag("press.target").history is None
    assert defaults.site.history is None


def test_a_deadband_in_another_dimension_is_reported_at_its_unit(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    result = load_plant(edit(*_pressure("{every: 1 s, deadband: 0.5 N}")))
    assert result.plant is None
    line = PRESSURE[:-1] + ", history: {every: 1 s, deadband: 0.5 N}}"
    assert result.render() == (
        "plant/site.yaml:13:110: error: deadband of tag 'pressure' is in N (force), but the tag "
        f"is in bar (pressure)\n    {line}\n{' ' * 113}^\n  hint: write the deadband in bar"
    )


def test_deadband_and_history_mistakes_are_reported_with_a_fix(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    cases = {
        "{deadband: 0.5}": (
            "deadband of tag 'pressure' needs a unit of pressure, like '0.5 bar'",
            None,
        ),
        "{deadband: -1 bar}": (
            "a deadband cannot be negative, found -1 bar",
            "write 0 to store every change",
        ),
        "{every: 10 s, heartbeat: 5 s}": (
            "heartbeat (5 s) must not be shorter than every (10 s)",
            "the heartbeat is the longest time without a stored value",
        ),
        "{every: 0 s}": (
            "'every' must be more than 0, found '0 s'",
            "use e.g. 1 s",
        ),
    }
    for history, expected in cases.items():
        result = load_plant(edit(*_pressure(history)))
        assert [(d.message, d.hint) for d in result.diagnostics] == [expected], history


def test_a_string_or_bool_tag_is_refused_what_does_not_apply(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    text = load_plant(
        edit(
            "site.yaml",
            PRESSURE,
            PRESSURE
            + '\n      mode: {node: "ns=2;s=Press.Mode", type: string, history: {every: 1 s}}'
            + '\n      fault: {node: "ns=2;s=Press.Fault", type: bool, history: {deadband: 1}}',
        )
    )
    assert [(d.message, d.hint) for d in text.diagnostics] == [
        (
            "tag 'mode' holds string values, which the historian does not record",
            "history records number and bool tags",
        ),
        (
            "tag 'fault' is a bool tag; a deadband applies to number tags",
            "remove the deadband: a bool tag is stored whenever it changes",
        ),
    ]


SITE_HISTORY = "history:\n  keep: {keep}\n  downsample: {{after: {after}, to: {to}}}\n"


def _site(base_files: dict[str, str], keep: str, after: str, to: str) -> dict[str, str]:
    return {
        "site.yaml": base_files["site.yaml"] + SITE_HISTORY.format(keep=keep, after=after, to=to)
    }


def test_the_site_history_policy_is_loaded(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    result = load_plant(_site(base_files, "90 d", "7 d", "1 min"))
    assert result.plant is not None, result.render()
    policy = result.plant.site.history
    assert policy is not None
    assert (policy.keep_s, policy.downsample_after_s, policy.downsample_to_s) == (
        90 * 86400.0,
        7 * 86400.0,
        60.0,
    )
    kept_only = load_plant({"site.yaml": base_files["site.yaml"] + "history: {keep: 30 d}\n"})
    assert kept_only.plant is not None
    assert kept_only.plant.site.history == HistoryPolicy(
        30 * 86400.0,
        span=kept_only.plant.site.history.span if kept_only.plant.site.history else None,
    )


def test_site_history_mistakes_are_reported_like_a_compiler(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    too_late = load_plant(_site(base_files, "5 d", "7 d", "1 min"))
    assert too_late.render() == (
        "plant/site.yaml:28:23: error: downsample after 7 d must be shorter than keep (5 d)\n"
        "      downsample: {after: 7 d, to: 1 min}\n"
        "                          ^^^\n"
        "  hint: values older than keep are deleted, so they would never be downsampled"
    )
    cases = {
        ("90 d", "1 h", "2 h"): "downsample to 2 h buckets must be shorter than after (1 h)",
        ("90 d", "7 d", "7 min"): "downsample to 7 min does not divide a day into whole buckets",
        ("90 d", "7 d", "1 kg"): "'to' must be a duration with a unit, like '5 s', found '1 kg'",
    }
    for (keep, after, to), message in cases.items():
        result = load_plant(_site(base_files, keep, after, to))
        assert [d.message for d in result.diagnostics] == [message]
