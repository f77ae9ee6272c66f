"""Reading values out of a validated located tree, and reporting what is wrong with them.

The validator (:mod:`dsl.validate`) has already reported every structural problem, so the
accessors here are forgiving: a value of the wrong shape reads as absent instead of being
reported twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping

from dsl import scalars
from dsl.diagnostics import Diagnostic, Span, did_you_mean, error, warning
from dsl.expressions import Expect, compile_expression
from dsl.model import Part
from dsl.rules import CompiledRule
from dsl.scope import Scope
from dsl.units import UnknownUnit, dimension_name, from_si, parse_unit, same_dimension, to_si
from dsl.validate import unit_span_of
from dsl.yamlsource import YMap, YNode, YScalar, YSeq


def scalar(node: YMap, key: str) -> YScalar | None:
    """The non-empty scalar under ``key``, or None."""
    value = node.get(key)
    return value if isinstance(value, YScalar) and not value.is_empty else None


def text(node: YMap, key: str, default: str = "") -> str:
    value = scalar(node, key)
    return value.text.strip() if value is not None else default


def items(node: YMap, key: str) -> tuple[YNode, ...]:
    """The items of the list under ``key`` (empty when absent or not a list)."""
    value = node.get(key)
    return value.items if isinstance(value, YSeq) else ()


def entries(node: YMap, key: str) -> tuple[tuple[YScalar, YNode], ...]:
    """The entries of the mapping under ``key`` (empty when absent or not a mapping)."""
    value = node.get(key)
    return value.entries if isinstance(value, YMap) else ()


def as_map(node: YNode) -> YMap:
    """A mapping node, or an empty one in its place (empty values, wrong shapes)."""
    return node if isinstance(node, YMap) else YMap((), node.span)


def integer(node: YMap, key: str, default: int) -> int:
    value = scalar(node, key)
    parsed = scalars.parse_int(value.text) if value is not None else None
    return default if parsed is None else parsed


def number(node: YMap, key: str, default: float) -> float:
    value = scalar(node, key)
    parsed = scalars.parse_float(value.text) if value is not None else None
    return default if parsed is None else parsed


def boolean(node: YMap, key: str, default: bool) -> bool:
    value = scalar(node, key)
    parsed = scalars.parse_bool(value.text) if value is not None else None
    return default if parsed is None else parsed


def date(node: YMap, key: str) -> dt.date | None:
    value = scalar(node, key)
    return scalars.parse_date(value.text) if value is not None else None


def quantity(node: YMap, key: str) -> scalars.Quantity | None:
    """A quantity whose unit (if any) is known, or None."""
    value = scalar(node, key)
    return quantity_of(value) if value is not None else None


def quantity_of(value: YScalar) -> scalars.Quantity | None:
    """The quantity written in ``value`` if its unit (if any) is known, or None."""
    parsed = scalars.parse_quantity(value.text)
    if parsed is None or (parsed.unit is not None and parse_unit(parsed.unit) is None):
        return None
    return parsed


def si(node: YMap, key: str, default: float) -> float:
    """A quantity in SI (durations in seconds, percentages as fractions)."""
    parsed = quantity(node, key)
    return default if parsed is None else to_si(parsed.value, parsed.unit)


def days(node: YMap, key: str) -> int | None:
    """A duration in whole days (``365 d`` → 365)."""
    parsed = quantity(node, key)
    return None if parsed is None else round(to_si(parsed.value, parsed.unit) / 86400)


class Reporter:
    """Collects diagnostics while the model is built."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self._compiled: dict[Hashable, CompiledRule] = {}

    def error(self, span: Span, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(error(span, message, hint))

    def warning(self, span: Span, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(warning(span, message, hint))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics.extend(diagnostics)

    def reference(self, node: YScalar | None, what: str, known: Mapping[str, object]) -> bool:
        """Check that ``node`` names a defined ``what``; report a did-you-mean otherwise.

        An absent node is fine (nothing referenced); returns True when the name is known.
        """
        if node is None:
            return False
        name = node.text.strip()
        if name in known:
            return True
        suggestion = did_you_mean(name, known)
        message = f"unknown {what} '{name}'"
        hint = None if suggestion else _defined(what, known)
        self.error(node.span, f"{message}; {suggestion}" if suggestion else message, hint)
        return False

    def unit(self, node: YScalar) -> str | None:
        """The unit written in ``node``, or None after reporting an unknown unit."""
        if parse_unit(node.text) is None:
            span = node.text_span
            self.error(span, str(UnknownUnit(node.text.strip())))
            return None
        return node.text.strip()

    def rule(self, node: YScalar, scope: Scope, expect: Expect) -> CompiledRule | None:
        """Compile the expression written in ``node``; its diagnostics point into the file.

        A rule that compiled before with the same text, the same expectation and the same
        meaning of every name it can mention is reused (with this node's span): plants repeat
        rules a lot, starting with the implicit interlocks of every operation.
        """
        key = _rule_key(node.text, scope, expect)
        known = self._compiled.get(key)
        if known is not None:
            return _moved(known, node.text_span)
        compiled = compile_expression(node.text, node.text_span, scope, expect)
        if isinstance(compiled, list):
            self.extend(compiled)
            return None
        self._compiled[key] = compiled
        return compiled


def part_quantity(report: Reporter, node: YScalar, part: Part) -> float | None:
    """``qty: 0.5 m`` of a part measured in m → 0.5; converts other units of the same dimension.

    A part counted in pcs takes a bare number.
    """
    written = quantity_of(node)
    if written is None:
        return None
    if written.unit is None:
        if same_dimension(part.unit, None):
            return written.value
        report.error(
            node.span,
            f"quantity of part '{part.name}' needs a unit of {dimension_name(part.unit)}, "
            f"like '{written.value:g} {part.unit}'",
        )
        return None
    if not same_dimension(written.unit, part.unit):
        report.error(
            unit_span_of(node, written.unit),
            f"part '{part.name}' is measured in {part.unit} ({dimension_name(part.unit)}), "
            f"but this quantity is in {written.unit} ({dimension_name(written.unit)})",
        )
        return None
    return from_si(to_si(written.value, written.unit), part.unit)


def _moved(rule: CompiledRule, span: Span) -> CompiledRule:
    """``rule`` standing at ``span`` (``dataclasses.replace`` without its per-call introspection,
    which cost more than the rest of a cache hit)."""
    return CompiledRule(
        source=rule.source,
        span=span,
        references=rule.references,
        evaluate=rule.evaluate,
        value=rule.value,
        explainer=rule.explainer,
    )


def _rule_key(source: str, scope: Scope, expect: Expect) -> Hashable:
    """What a successful compilation depends on: names it resolved appear in its text, so
    fields whose names do not occur in ``source`` cannot change the result."""
    fields = frozenset([(n, s) for n, s in scope.fields.items() if n in source])
    return (
        source,
        expect,
        id(scope.tags),
        fields,
        scope.operator,
        scope.equipment,
        scope.item,
        scope.qualifications,
        scope.roles,
    )


def _defined(what: str, known: Mapping[str, object]) -> str:
    if not known:
        return f"no {what} is defined"
    names = sorted(known)
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return f"defined: {shown}"
