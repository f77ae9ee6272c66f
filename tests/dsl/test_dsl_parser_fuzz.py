"""Any text gives a compiled rule or diagnostics: never an exception, a hang or a RecursionError."""

from __future__ import annotations

from expression_helpers import GATE_SCOPE, LINE, PATH, PREFIX, span
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.diagnostics import Diagnostic
from dsl.expressions import CONDITION, Expect, compile_expression
from dsl.rules import CompiledRule

TOKENS = [
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "-",
    "+",
    "*",
    "/",
    "<",
    "<=",
    "==",
    "!=",
    ">",
    "=",
    "!",
    "and",
    "or",
    "not",
    "in",
    "between",
    "true",
    "false",
    "today",
    "now",
    "1",
    "0",
    "2.5",
    "1e3",
    "2027-01-31",
    "2027-13-45",
    "bar",
    "mm/s",
    "/min",
    "°C",
    "%",
    "mohm",
    "bra",
    '"ok"',
    "'x'",
    '"',
    "'",
    "press1.pressure",
    "press1.fault",
    "pull_force",
    "visual",
    "cut.length",
    "operator.qualified",
    'operator.qualified("crimping")',
    "equipment.state",
    "abs",
    "min",
    "max",
    "round",
    "press1.pressure.age",
    "unit.serial",
    "lot.number",
    "x.y.z",
]

TOKEN_SOUP = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)
NESTED = st.tuples(
    st.sampled_from(["(", "not ", "-", "abs(", "[", "min(1, "]), st.integers(0, 400)
).map(lambda t: t[0] * t[1] + "pull_force")
ANY_TEXT = st.one_of(st.text(max_size=80), TOKEN_SOUP, NESTED, st.text(max_size=2100))
EXPECTS = st.sampled_from([CONDITION, Expect("number", "N"), Expect("number"), Expect("string")])


def _within_the_expression(diagnostic: Diagnostic, source: str) -> bool:
    first = len(PREFIX) + 1
    s = diagnostic.span
    if s.line != LINE or s.path != PATH or s.end_line != s.line:
        return ("\n" in source or "\r" in source) and s.path == PATH
    return first <= s.col <= first + len(source) and s.col < s.end_col


@settings(max_examples=300, deadline=None)
@given(source=ANY_TEXT, expect=EXPECTS)
def test_any_text_compiles_or_is_diagnosed(source: str, expect: Expect) -> None:
    result = compile_expression(source, span(), GATE_SCOPE, expect)
    if isinstance(result, CompiledRule):
        assert result.source == source
        return
    assert result, source
    for diagnostic in result:
        assert diagnostic.is_error
        assert diagnostic.message
        assert _within_the_expression(diagnostic, source), (source, diagnostic)
        assert diagnostic.render({PATH: source}).startswith(f"{PATH}:")
