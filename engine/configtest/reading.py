"""Reading a config test file: the located YAML tree checked key by key, values converted to the
units the engine uses, and each step's expectation. Every problem is a diagnostic that points at
the node it is about (see docs/config-tests.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from dsl import scalars
from dsl.diagnostics import Span, did_you_mean, error
from dsl.model import ValueType
from dsl.units import from_si, parse_unit, same_dimension, to_si
from dsl.yamlsource import YMap, YNode, YScalar, YSeq, describe

CASE_KEYS = ("name", "product", "quantity", "today", "operator", "lots", "tags", "equipment",
             "tools")  # fmt: skip
STEP_KINDS = ("start", "complete", "hold", "release", "disposition", "first_article")
STEP_KEYS = (*STEP_KINDS, "expect", "unit", "tags", "today", "data", "consume", "sign", "reason",
             "tool")  # fmt: skip
EXPECT_WORDS = ("started", "completed", "held", "nonconformance", "scrapped")
EXPECT_KEYS = ("blocked", "next", "held", "nonconformance", "rework", "error")


class BadCase(Exception):
    """A malformed test file: its diagnostic."""

    def __init__(self, span: Span, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.diagnostic = error(span, message, hint)


# ---------------------------------------------------------------- the located tree


def text_of(node: YNode | None, what: str, span: Span) -> str:
    if not isinstance(node, YScalar) or node.is_empty:
        found = describe(node) if node is not None else "nothing"
        raise BadCase(
            node.span if node is not None else span, f"{what}: expected text, found {found}"
        )
    return node.text


def map_of(node: YNode | None, what: str, span: Span) -> YMap:
    if node is None:
        return YMap((), span)
    if not isinstance(node, YMap):
        raise BadCase(node.span, f"{what}: expected a mapping, found {describe(node)}")
    return node


def seq_of(node: YNode | None, what: str, span: Span) -> tuple[YNode, ...]:
    if node is None:
        return ()
    if not isinstance(node, YSeq):
        raise BadCase(node.span, f"{what}: expected a list, found {describe(node)}")
    return node.items


def check_keys(node: YMap, allowed: tuple[str, ...], what: str) -> None:
    for key, _ in node.entries:
        if key.text not in allowed:
            hint = did_you_mean(key.text, allowed)
            raise BadCase(key.span, f"unknown key '{key.text}' in {what}", hint)


def date_of(node: YNode | None, what: str, span: Span) -> dt.date:
    text = text_of(node, what, span)
    day = scalars.parse_date(text)
    if day is None:
        raise BadCase(node.span if node else span, f"{what}: '{text}' is not a date (YYYY-MM-DD)")
    return day


def merged(
    default: YNode | None, case: YNode | None, what: str, span: Span
) -> list[tuple[YScalar, YNode]]:
    """Key-by-key merge of two mappings (the case's entries win)."""
    entries = {k.text: (k, v) for k, v in map_of(default, what, span).entries}
    entries.update({k.text: (k, v) for k, v in map_of(case, what, span).entries})
    return list(entries.values())


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a step led to: ``kind`` and its details, for matching and for messages."""

    kind: str
    operation: str | None = None
    reason: str = ""
    names: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "blocked":
            return "blocked by " + "; ".join(f"'{n}'" for n in self.names[::2])
        if self.kind == "next":
            return f"next '{self.operation}'"
        if self.kind == "rework":
            return f"rework to '{self.operation}'"
        if self.kind == "error":
            return f"refused: {self.reason}"
        return self.kind + (f" ({self.reason})" if self.reason else "")


@dataclass(frozen=True, slots=True)
class Expectation:
    kind: str
    value: str | None
    span: Span

    def describe(self) -> str:
        if self.kind == "blocked":
            return f"blocked by '{self.value}'"
        if self.kind in ("next",):
            return f"next '{self.value}'"
        if self.kind == "rework":
            return f"rework to '{self.value}'"
        if self.kind == "error":
            return f"refused with '{self.value}'"
        if self.kind == "success":
            return "the command to succeed"
        return self.kind + (f" ({self.value})" if self.value else "")

    def met_by(self, got: Outcome) -> bool:
        if self.kind == "success":
            return got.kind not in ("error", "blocked")
        if self.kind != got.kind:
            return False
        if self.kind == "blocked":
            return self.value in got.names
        if self.kind in ("next", "rework"):
            return self.value == got.operation
        return self.value is None or self.value in got.reason


def expectation_of(node: YNode | None, span: Span) -> Expectation:
    if node is None:
        return Expectation("success", None, span)
    if isinstance(node, YScalar) and node.text in EXPECT_WORDS:
        return Expectation(node.text, None, node.span)
    if isinstance(node, YMap) and len(node.entries) == 1:
        key, value = node.entries[0]
        if key.text in EXPECT_KEYS:
            return Expectation(key.text, text_of(value, f"expect {key.text}", key.span), node.span)
        raise BadCase(
            key.span, f"unknown expectation '{key.text}'", did_you_mean(key.text, EXPECT_KEYS)
        )
    words = ", ".join(EXPECT_WORDS)
    keys = ", ".join(f"{{{k}: ...}}" for k in EXPECT_KEYS)
    raise BadCase(node.span, f"expect: found {describe(node)}", f"use one of {words}, {keys}")


def seconds_of(node: YNode | None, span: Span) -> float:
    text = text_of(node, "age", span)
    quantity = scalars.parse_quantity(text)
    if quantity is None or (quantity.unit and not same_dimension(quantity.unit, "s")):
        raise BadCase(node.span if node else span, f"age: '{text}' is not a duration like '30 s'")
    return to_si(quantity.value, quantity.unit)


def tag_scalar(kind: ValueType, unit: str | None, node: YNode, name: str) -> Any:
    text = text_of(node, name, node.span)
    if kind is ValueType.BOOL:
        value = scalars.parse_bool(text)
        if value is None:
            raise BadCase(node.span, f"{name}: '{text}' is not true or false")
        return value
    if kind is ValueType.STRING:
        return text
    quantity = scalars.parse_quantity(text)
    if quantity is None:
        raise BadCase(node.span, f"{name}: '{text}' is not a number like '70 bar'")
    return convert_to(quantity, unit, name, node.span)


def convert_to(quantity: scalars.Quantity, unit: str | None, name: str, span: Span) -> float:
    if not quantity.unit or quantity.unit == unit:
        return quantity.value
    if parse_unit(quantity.unit) is None:
        raise BadCase(span, f"{name}: unknown unit '{quantity.unit}'")
    if not same_dimension(quantity.unit, unit):
        raise BadCase(
            span, f"{name}: '{quantity.unit}' cannot be converted to '{unit or 'a number'}'"
        )
    return from_si(to_si(quantity.value, quantity.unit), unit)
