"""Compile one rule expression: parse, type-check against a scope, compile to Python.

This is the only entry point other modules use::

    compile_expression("press1.pressure between 60 bar and 80 bar", span, scope, CONDITION)

returns a :class:`~dsl.rules.CompiledRule`, or every diagnostic found in the expression, each
pointing at the exact columns of the offending text.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl import _compiler, _parser, _typecheck
from dsl.diagnostics import Diagnostic, Span, error
from dsl.rules import CompiledRule
from dsl.scope import Kind, Scope


@dataclass(frozen=True, slots=True)
class Expect:
    """What an expression must produce.

    ``Expect("bool")`` (also :data:`CONDITION`) is a condition: interlocks, gates, state rules.
    For setpoints give the tag's kind and unit, e.g. ``Expect("number", "N")``: the expression
    must then be a quantity of the same dimension (any unit of it); ``unit=None`` means a plain
    number.
    """

    kind: Kind
    unit: str | None = None

    @property
    def is_condition(self) -> bool:
        return self.kind == "bool"


CONDITION = Expect("bool")


def compile_expression(
    source: str, span: Span, scope: Scope, expect: Expect
) -> CompiledRule | list[Diagnostic]:
    """Compile ``source`` (which starts at ``span``'s line and column) for ``scope``."""
    tree = _parser.parse(source)
    if isinstance(tree, _parser.SyntaxProblem):
        return [error(_locate(span, source, tree.start, tree.end), tree.message, tree.hint)]
    checked = _typecheck.check(tree, source, scope, expect.kind, expect.unit)
    if isinstance(checked, list):
        return [error(_locate(span, source, p.start, p.end), p.message, p.hint) for p in checked]
    try:
        return _compiler.compile_rule(checked, source, span)
    except RecursionError:
        return [
            error(
                _locate(span, source, 0, len(source)),
                "expression is too complex to compile",
                "split it into several simpler checks",
            )
        ]


def _locate(span: Span, source: str, start: int, end: int) -> Span:
    """The file span of ``source[start:end]``, given where ``source`` starts."""
    start = min(max(start, 0), len(source))
    end = max(min(end, len(source) + 1), start + 1)
    line, col = _position(span, source, start)
    end_line, end_col = _position(span, source, end)
    return Span(span.path, line, col, end_line, end_col)


def _position(span: Span, source: str, offset: int) -> tuple[int, int]:
    newlines = source.count("\n", 0, offset)
    if newlines == 0:
        return span.line, span.col + offset
    return span.line + newlines, offset - source.rfind("\n", 0, offset)
