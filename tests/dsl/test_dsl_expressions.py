"""Every kind of expression diagnostic, asserted as the exact compiler-style text."""

from __future__ import annotations

import ast
from types import MappingProxyType

import pytest
from expression_helpers import GATE_SCOPE, INTERLOCK_SCOPE, STATE_SCOPE, compiled, rendered

from dsl._compiler import ForbiddenSyntax, assert_whitelisted
from dsl.expressions import CONDITION, Expect
from dsl.rules import Outcome
from dsl.scope import Scope, Symbol

CASES = [
    (
        "pull_force >= 60 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:24: error: cannot compare force (N) with pressure (bar)
    - check: pull_force >= 60 bar
                           ^^^^^^
""",
    ),
    (
        "press1.presure > 60 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: unknown tag 'press1.presure'; did you mean 'press1.pressure'?
    - check: press1.presure > 60 bar
             ^^^^^^^^^^^^^^
""",
    ),
    (
        "pull_force >= 60 N",
        INTERLOCK_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: field 'pull_force' is collected later, at operation 'crimp'
    - check: pull_force >= 60 N
             ^^^^^^^^^^
  hint: only fields of earlier operations can be read here; check it in a gate
""",
    ),
    (
        "press1.pressure",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: a condition must be true or false, but this is a pressure (bar)
    - check: press1.pressure
             ^^^^^^^^^^^^^^^
  hint: compare it with a limit, e.g. '> 10 bar'
""",
    ),
    (
        "press1.pressure > 60",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:28: error: cannot compare pressure (bar) with a plain number
    - check: press1.pressure > 60
                               ^^
  hint: give the number a unit: 60 bar
""",
    ),
    (
        "cnc1.tool_life > 5",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:27: error: cannot compare percent (%) with a plain number
    - check: cnc1.tool_life > 5
                              ^
  hint: give the number a unit: 5 %
""",
    ),
    (
        "0 bar < press1.pressure < 80 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:34: error: comparisons cannot be chained
    - check: 0 bar < press1.pressure < 80 bar
                                     ^
  hint: write 'x between a and b' for a range, or join comparisons with 'and'
""",
    ),
    (
        "today + press1.pressure > today",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: cannot add pressure (bar) to a date
    - check: today + press1.pressure > today
             ^^^^^^^^^^^^^^^^^^^^^^^
  hint: add or subtract a duration such as 30 d
""",
    ),
    (
        "equipment.calibration_due > now",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: cannot compare a date with a date and time
    - check: equipment.calibration_due > now
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  hint: compare dates with today and instants with now
""",
    ),
    (
        "today + today > today",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: cannot add a date to a date
    - check: today + today > today
             ^^^^^^^^^^^^^
  hint: subtract them to get a duration, or add a duration such as 30 d
""",
    ),
    (
        "visual > 3 N",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: cannot order text: use == or != with text
    - check: visual > 3 N
             ^^^^^^^^^^^^
""",
    ),
    (
        "visual == 3",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:20: error: cannot compare text with a plain number
    - check: visual == 3
                       ^
""",
    ),
    (
        'operator.qualified("crimp")',
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:29: error: unknown qualification 'crimp'; did you mean 'crimping'?
    - check: operator.qualified("crimp")
                                ^^^^^^^
""",
    ),
    (
        'operator.has_role("qa")',
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:28: error: unknown role 'qa'
    - check: operator.has_role("qa")
                               ^^^^
  hint: declare it under 'roles:'
""",
    ),
    (
        "operator.qualified(visual)",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: operator.qualified takes one qualification name in quotes
    - check: operator.qualified(visual)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^
  hint: write operator.qualified("NAME")
""",
    ),
    (
        'equipment.state == "dwn"',
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:29: error: 'dwn' is not a possible value of equipment.state; did you mean 'down'?
    - check: equipment.state == "dwn"
                                ^^^^^
  hint: it is one of down, idle, running, setup
""",
    ),
    (
        'equipment.state == "down"',
        INTERLOCK_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: 'equipment.state' cannot be used here: this operation has no equipment
    - check: equipment.state == "down"
             ^^^^^^^^^^^^^^^
  hint: add 'equipment: NAME' to the operation
""",
    ),
    (
        'operator.id == "x"',
        STATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: 'operator.id' cannot be used here
    - check: operator.id == "x"
             ^^^^^^^^^^^
  hint: equipment state rules may read only tags, today and now
""",
    ),
    (
        'unit.serial == "x"',
        INTERLOCK_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: 'unit.serial' cannot be used here: this product is lot-tracked
    - check: unit.serial == "x"
             ^^^^^^^^^^^
  hint: use lot.number
""",
    ),
    (
        "press1.pressure.rate > 1 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: unknown tag property 'rate' of 'press1.pressure'
    - check: press1.pressure.rate > 1 bar
             ^^^^^^^^^^^^^^^^^^^^
  hint: a tag has 'age' and 'quality'
""",
    ),
    (
        "pressure > 1 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: unknown name 'pressure'; did you mean 'press1.pressure'?
    - check: pressure > 1 bar
             ^^^^^^^^
""",
    ),
    (
        "cut.lenght > 1 mm",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: unknown field 'cut.lenght'; did you mean 'cut.length'?
    - check: cut.lenght > 1 mm
             ^^^^^^^^^^
""",
    ),
    (
        "mx(1, 2) > 1",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: unknown function 'mx'; did you mean 'max'?
    - check: mx(1, 2) > 1
             ^^
  hint: the functions are abs, min, max and round
""",
    ),
    (
        "press1.pressure(1) > 1 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: 'press1.pressure' is not a function
    - check: press1.pressure(1) > 1 bar
             ^^^^^^^^^^^^^^^
""",
    ),
    (
        "press1.pressure > 60 bar and",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:38: error: expected a value after 'and'
    - check: press1.pressure > 60 bar and
                                         ^
""",
    ),
    (
        "(press1.pressure > 60 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:35: error: missing ')'
    - check: (press1.pressure > 60 bar
                                      ^
  hint: add ')' to close the '('
""",
    ),
    (
        'visual in ["ok", "burr"',
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:33: error: missing ']'
    - check: visual in ["ok", "burr"
                                    ^
  hint: add ']' to close the '['
""",
    ),
    (
        'visual == "ok',
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:20: error: unterminated string
    - check: visual == "ok
                       ^^^
  hint: close the string with "
""",
    ),
    (
        "press1.pressure > 60 bra",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:31: error: unknown unit 'bra'; did you mean 'bar'?
    - check: press1.pressure > 60 bra
                                  ^^^
""",
    ),
    (
        "press1.pressure = 60 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:26: error: unexpected '='
    - check: press1.pressure = 60 bar
                             ^
  hint: to compare, write '=='
""",
    ),
    (
        "press1.pressure > 60 bar)",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:34: error: unexpected ')'
    - check: press1.pressure > 60 bar)
                                     ^
""",
    ),
    (
        "press1.fault press1.fault",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:23: error: unexpected 'press1'
    - check: press1.fault press1.fault
                          ^^^^^^
  hint: join conditions with 'and' or 'or'
""",
    ),
    (
        "press1.pressure between 60 bar or 80 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:41: error: expected 'and' in 'between'
    - check: press1.pressure between 60 bar or 80 bar
                                            ^^
  hint: write x between a and b
""",
    ),
    (
        "press1.fault and pull_force",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:27: error: 'and' needs true or false on each side, but this is a force (N)
    - check: press1.fault and pull_force
                              ^^^^^^^^^^
  hint: compare it with a limit, e.g. '> 10 N'
""",
    ),
    (
        "not visual",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:14: error: 'not' needs true or false, but this is text
    - check: not visual
                 ^^^^^^
  hint: compare it with a value using <, <=, >, >=, == or !=
""",
    ),
    (
        "x > 1 and y > 2 and press1.pressure > 3 N",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: unknown name 'x'
    - check: x > 1 and y > 2 and press1.pressure > 3 N
             ^
r.yaml:3:20: error: unknown name 'y'
    - check: x > 1 and y > 2 and press1.pressure > 3 N
                       ^
r.yaml:3:48: error: cannot compare pressure (bar) with force (N)
    - check: x > 1 and y > 2 and press1.pressure > 3 N
                                                   ^^^
""",
    ),
    (
        "press1.pressure between 80 bar and 60 bar",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: empty range: 80 bar is above 60 bar
    - check: press1.pressure between 80 bar and 60 bar
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  hint: write the smaller bound first
""",
    ),
    (
        'visual in ["ok", 1]',
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:27: error: cannot compare text with a plain number
    - check: visual in ["ok", 1]
                              ^
""",
    ),
    (
        "visual in [press1.recipe]",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:21: error: the values after 'in' must be constants
    - check: visual in [press1.recipe]
                        ^^^^^^^^^^^^^
  hint: compare with == instead
""",
    ),
    (
        "visual in []",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:20: error: the list is empty
    - check: visual in []
                       ^^
  hint: list the values to look for
""",
    ),
    (
        "pull_force / 0 > 1 N",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:23: error: division by zero
    - check: pull_force / 0 > 1 N
                          ^
""",
    ),
    (
        "pull_force + 1 > 2 N",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: cannot add force (N) and a plain number
    - check: pull_force + 1 > 2 N
             ^^^^^^^^^^^^^^
  hint: give the number a unit: 1 N
""",
    ),
    (
        '-visual == "a"',
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: cannot negate text
    - check: -visual == "a"
             ^^^^^^^
""",
    ),
    (
        "min(pull_force) > 1 N",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: min needs at least two values
    - check: min(pull_force) > 1 N
             ^^^^^^^^^^^^^^^
  hint: write min(a, b)
""",
    ),
    (
        "max(pull_force, crimp_height) > 1 N",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:26: error: cannot take the max of force (N) and length (mm)
    - check: max(pull_force, crimp_height) > 1 N
                             ^^^^^^^^^^^^
""",
    ),
    (
        "round(pull_force, 1.5) > 1 N",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:28: error: the digits of round must be a whole number such as 1 or 2
    - check: round(pull_force, 1.5) > 1 N
                               ^^^
""",
    ),
    (
        "2027-02-30 > today",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:10: error: '2027-02-30' is not a valid date
    - check: 2027-02-30 > today
             ^^^^^^^^^^
  hint: write YYYY-MM-DD
""",
    ),
    (
        "pull_force > 1 N # comment",
        GATE_SCOPE,
        CONDITION,
        """
r.yaml:3:27: error: unexpected character '#'
    - check: pull_force > 1 N # comment
                              ^
""",
    ),
    (
        "1200",
        GATE_SCOPE,
        Expect("number", "N"),
        """
r.yaml:3:10: error: the value must be a force (N), but this is a plain number
    - check: 1200
             ^^^^
  hint: write 1200 N
""",
    ),
    (
        "3 bar",
        GATE_SCOPE,
        Expect("number", "N"),
        """
r.yaml:3:10: error: the value must be a force (N), but this is a pressure (bar)
    - check: 3 bar
             ^^^^^
""",
    ),
]


@pytest.mark.parametrize(("source", "scope", "expect", "expected"), CASES)
def test_diagnostic_text(source: str, scope: Scope, expect: Expect, expected: str) -> None:
    assert "\n".join(rendered(source, scope, expect)) == expected.strip("\n")


def test_every_error_is_reported_not_just_the_first() -> None:
    texts = rendered('x > 1 and pull_force > 1 bar and operator.qualified("crimp")')
    assert [t.splitlines()[0] for t in texts] == [
        "r.yaml:3:10: error: unknown name 'x'",
        "r.yaml:3:33: error: cannot compare force (N) with pressure (bar)",
        "r.yaml:3:62: error: unknown qualification 'crimp'; did you mean 'crimping'?",
    ]


def test_empty() -> None:
    (text,) = rendered("")
    assert text == "r.yaml:3:10: error: expression is empty\n    - check: \n             ^"


def test_too_long() -> None:
    (text,) = rendered("x" * 2001)
    assert text.splitlines()[0] == (
        "r.yaml:3:10: error: expression is too long (2001 characters, at most 2000)"
    )
    assert text.splitlines()[-1] == "  hint: split it into several interlocks or gates"


@pytest.mark.parametrize("source", ["-" * 40 + "pull_force > 1 N", "not " * 40 + "checked"])
def test_too_deep(source: str) -> None:
    (text,) = rendered(source)
    assert "error: expression is nested too deeply (more than 32 levels)" in text


def test_deep_parentheses_are_fine() -> None:
    assert compiled("(" * 200 + "checked" + ")" * 200).source.count("(") == 200


def test_very_long_chains_are_refused_cleanly() -> None:
    scope = Scope(fields=MappingProxyType({"x": Symbol("field:op.x", "number")}))
    (text,) = rendered("x+" * 990 + "x > 1", scope)
    assert text.splitlines()[0] == "r.yaml:3:10: error: expression is too complex to compile"


def test_long_chains_compile() -> None:
    scope = Scope(fields=MappingProxyType({"x": Symbol("field:op.x", "number")}))
    rule = compiled("x+" * 299 + "x > 299", scope)
    assert rule.evaluate({"field:op.x": 1.0}) is Outcome.PASS
    assert rule.evaluate({"field:op.x": 0.5}) is Outcome.FAIL


@pytest.mark.parametrize(
    ("source", "scope"),
    [
        ("press1.pressure between 60 bar and 80 bar", STATE_SCOPE),
        ("press1.fault or not press1.fault", STATE_SCOPE),
        ("today > 2020-01-01 and now > now - 1 h", STATE_SCOPE),
        ("cut.length > 1 mm and lot.quantity > 1", INTERLOCK_SCOPE),
        ("5 in < 13 cm", GATE_SCOPE),
        ("60 kPa < 0.7 bar", GATE_SCOPE),
    ],
)
def test_valid_expressions_compile(source: str, scope: Scope) -> None:
    assert compiled(source, scope).source == source


# ---------------------------------------------------------------- the node whitelist


@pytest.mark.parametrize(
    ("python", "message"),
    [
        ("__import__('os')", "only abs, min, max, round_in, equal, is_member can be called"),
        ("__builtins__", "name '__builtins__' is not allowed in a compiled rule"),
        ("v.keys", "Attribute is not allowed in a compiled rule"),
        ("[x for x in v]", "ListComp is not allowed in a compiled rule"),
        ("lambda: 1", "Lambda is not allowed in a compiled rule"),
        ("v[k]", "only the environment can be subscripted, with a constant key"),
        ("other['x']", "only the environment can be subscripted, with a constant key"),
        ("v[1]", "only the environment can be subscripted, with a constant key"),
        ("abs(x=1)", "only abs, min, max, round_in, equal, is_member can be called"),
        ("b'x'", "constant b'x' is not allowed in a compiled rule"),
        ("2 ** 8", "Pow is not allowed in a compiled rule"),
    ],
)
def test_whitelist_rejects_other_nodes(python: str, message: str) -> None:
    with pytest.raises(ForbiddenSyntax) as raised:
        assert_whitelisted(ast.parse(python, mode="eval").body)
    assert str(raised.value) == message


def test_whitelist_accepts_what_the_compiler_emits() -> None:
    allowed = "PASS if -min(v['a'], 2.0) / 2 <= abs(v['b']) < 3 and not 'x' in v['c'] else FAIL"
    assert_whitelisted(ast.parse(allowed, mode="eval").body)
    with pytest.raises(ForbiddenSyntax) as raised:
        assert_whitelisted(ast.parse(allowed))
    assert str(raised.value) == "Expr is not allowed in a compiled rule"
