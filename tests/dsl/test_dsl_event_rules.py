"""``event_rules:`` in site.yaml: what the loader builds, and the mistakes it reports like a
compiler (line:col, caret, did-you-mean, hint), type-checked like interlocks and setpoints."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dsl.loader import LoadResult
from dsl.model import RateLimit

RULES = """\
event_rules:
  overpressure:
    when: press.pressure > 9 bar
    for: 5 s
    then:
      - hold: press-1
      - notify: quality
      - write: press.target
        value: 0 N
    because: Pressure above the die's rating
    rearm: press.pressure < 7 bar
    at_most: 2 per 10 min
"""
LAST_SITE_LINE = "      - running: press.pressure > 1 bar\n"
RULES_LINE = 26
"""The line of ``event_rules:``, right after the base site.yaml's last line (line 25)."""

Load = Callable[[dict[str, str] | None], LoadResult]
Edit = Callable[[str, str, str], dict[str, str]]


def _with(load_plant: Load, edit: Edit, old: str, new: str) -> LoadResult:
    assert RULES.count(old) == 1, old
    rules = RULES.replace(old, new)
    return load_plant(edit("site.yaml", LAST_SITE_LINE, LAST_SITE_LINE + rules))


def test_an_event_rule_is_compiled_with_its_actions_timer_rearm_and_rate(
    load_plant: Load, edit: Edit
) -> None:
    result = _with(load_plant, edit, "for: 5 s", "for: 5 s")
    assert result.plant is not None, result.render()
    rule = result.plant.event_rules["overpressure"]
    assert (rule.when.source, rule.for_s, rule.because) == (
        "press.pressure > 9 bar",
        5.0,
        "Pressure above the die's rating",
    )
    assert rule.rearm is not None and rule.rearm.source == "press.pressure < 7 bar"
    assert [a.describe() for a in rule.actions] == [
        "hold press-1",
        "notify quality",
        "write press.target = 0 N",
    ]
    assert rule.at_most == RateLimit(2, 600.0, "2 per 10 min")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "when: press.pressure > 9 bar",
            "when: press.presure > 9 bar",
            f"plant/site.yaml:{RULES_LINE + 2}:11: error: unknown tag 'press.presure'; "
            "did you mean 'press.pressure'?",
        ),
        (
            "when: press.pressure > 9 bar",
            "when: press.pressure > 9 N",
            f"plant/site.yaml:{RULES_LINE + 2}:28: error: cannot compare pressure (bar) with "
            "force (N)",
        ),
        (
            "when: press.pressure > 9 bar",
            "when: press.pressure",
            f"plant/site.yaml:{RULES_LINE + 2}:11: error: a condition must be true or false, "
            "but this is a pressure (bar)",
        ),
        (
            "hold: press-1",
            "hold: pres-1",
            f"plant/site.yaml:{RULES_LINE + 5}:15: error: unknown equipment 'pres-1'; did you "
            "mean 'press-1'?",
        ),
        (
            "notify: quality",
            "notify: qualty",
            f"plant/site.yaml:{RULES_LINE + 6}:17: error: unknown role 'qualty'; did you mean "
            "'quality'?",
        ),
        (
            "write: press.target",
            "write: press.pressure",
            f"plant/site.yaml:{RULES_LINE + 7}:16: error: tag 'press.pressure' is not writable, "
            "so an event rule cannot write it",
        ),
        (
            "value: 0 N",
            "value: 0 bar",
            f"plant/site.yaml:{RULES_LINE + 8}:16: error: the value must be a force (N), but "
            "this is a pressure (bar)",
        ),
        (
            "for: 5 s",
            "for: 5",
            f"plant/site.yaml:{RULES_LINE + 3}:10: error: 'for' must be a duration with a unit, "
            "like '5 s', found '5'",
        ),
        (
            "at_most: 2 per 10 min",
            "at_most: twice an hour",
            f"plant/site.yaml:{RULES_LINE + 11}:14: error: 'twice an hour' is not a rate like "
            "'1 per 10 min'",
        ),
        (
            "at_most: 2 per 10 min",
            "at_most: 0 per 10 min",
            f"plant/site.yaml:{RULES_LINE + 11}:14: error: '0 per 10 min' allows no firing at all",
        ),
        (
            "    rearm: press.pressure < 7 bar\n",
            "    rearm: press.pressure < 7 bar\n    every: 5 s\n",
            f"plant/site.yaml:{RULES_LINE + 11}:5: error: unknown key 'every' in event rule "
            "'overpressure'",
        ),
    ],
)
def test_event_rule_mistakes_are_reported_where_they_are(
    load_plant: Load, edit: Edit, old: str, new: str, expected: str
) -> None:
    result = _with(load_plant, edit, old, new)
    assert result.plant is None
    headlines = [d.render(result.sources).splitlines()[0] for d in result.errors]
    assert headlines == [expected], result.render()


def test_a_write_without_a_value_says_how_to_give_it(load_plant: Load, edit: Edit) -> None:
    result = _with(load_plant, edit, "        value: 0 N\n", "")
    assert [(d.message, d.hint) for d in result.errors] == [
        (
            "write of 'press.target' has no value",
            "add the value to write next to it, like {write: press.target, value: 0 N}",
        )
    ]
