"""Compile a checked expression to Python functions, built from a whitelist of ``ast`` nodes.

The generated ``evaluate(v)`` holds its own ``try``/``except``, so calling it costs what a
hand-written lambda costs::

    def evaluate(v):
        try:
            return PASS if 6000000.0 <= v["tag:press1.pressure"] <= 8000000.0 else FAIL
        except (KeyError, ArithmeticError):
            return UNKNOWN

Every node is checked against the whitelist before ``compile()``; the function object is made
with ``types.FunctionType`` from the compiled code. Nothing is passed to ``eval`` or ``exec``.
"""

from __future__ import annotations

import ast
import datetime as dt
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from dsl import _typecheck as typed
from dsl.diagnostics import Span
from dsl.env import value_date
from dsl.rules import (
    CheckResult,
    CompiledRule,
    Env,
    Explanation,
    Outcome,
    Reading,
    Reference,
    Unavailable,
)
from dsl.units import format_quantity

_ENV = "v"
_OUTCOMES = {"PASS": Outcome.PASS, "FAIL": Outcome.FAIL, "UNKNOWN": Outcome.UNKNOWN}
_HELPERS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round_in": typed.round_in,
    "equal": typed.equal,
    "is_member": typed.is_member,
}
_GLOBALS: dict[str, Any] = {
    "__builtins__": {},
    **_OUTCOMES,
    "KeyError": KeyError,
    "ArithmeticError": ArithmeticError,
    **_HELPERS,
}
_FIXED_NAMES = frozenset({_ENV, *_GLOBALS}) - {"__builtins__"}

_ALLOWED_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Module,
        ast.FunctionDef,
        ast.arguments,
        ast.arg,
        ast.Return,
        ast.Try,
        ast.ExceptHandler,
        ast.IfExp,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.BinOp,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.Compare,
        ast.Lt,
        ast.LtE,
        ast.Gt,
        ast.GtE,
        ast.Eq,
        ast.NotEq,
        ast.In,
        ast.NotIn,
        ast.Subscript,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Call,
        ast.Tuple,
    }
)
_CONSTANT_TYPES = (bool, int, float, str, frozenset)
_COMPARE_OPS: dict[str, type[ast.cmpop]] = {
    "<": ast.Lt,
    "<=": ast.LtE,
    ">": ast.Gt,
    ">=": ast.GtE,
    "==": ast.Eq,
    "!=": ast.NotEq,
}
_ARITH_OPS: dict[str, type[ast.operator]] = {
    "+": ast.Add,
    "-": ast.Sub,
    "*": ast.Mult,
    "/": ast.Div,
}


class ForbiddenSyntax(Exception):
    """A generated syntax tree holds a node outside the whitelist (a compiler bug, never input)."""


def assert_whitelisted(tree: ast.AST) -> None:
    """Raise :class:`ForbiddenSyntax` unless every node of ``tree`` is one the compiler may emit."""
    for node in ast.walk(tree):
        kind = type(node)
        if kind not in _ALLOWED_NODES:
            raise ForbiddenSyntax(f"{kind.__name__} is not allowed in a compiled rule")
        if isinstance(node, ast.Name) and node.id not in _FIXED_NAMES:
            raise ForbiddenSyntax(f"name '{node.id}' is not allowed in a compiled rule")
        if isinstance(node, ast.Subscript) and not (
            isinstance(node.value, ast.Name)
            and node.value.id == _ENV
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            raise ForbiddenSyntax("only the environment can be subscripted, with a constant key")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _HELPERS and not node.keywords
        ):
            raise ForbiddenSyntax(f"only {', '.join(_HELPERS)} can be called")
        if isinstance(node, ast.Constant) and not _allowed_constant(node.value):
            raise ForbiddenSyntax(f"constant {node.value!r} is not allowed in a compiled rule")
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            raise ForbiddenSyntax("decorators are not allowed in a compiled rule")
        if isinstance(node, ast.arguments) and [a.arg for a in node.args] != [_ENV]:
            raise ForbiddenSyntax("a compiled rule takes exactly the environment")


def _allowed_constant(value: object) -> bool:
    if isinstance(value, frozenset):
        return all(isinstance(item, _CONSTANT_TYPES[:4]) for item in value)
    return isinstance(value, _CONSTANT_TYPES)


# ---------------------------------------------------------------- typed tree -> Python ast


def _env_read(key: str) -> ast.expr:
    return ast.Subscript(ast.Name(_ENV, ast.Load()), ast.Constant(key), ast.Load())


def to_python(expr: typed.Expr) -> ast.expr:
    """The Python expression computing ``expr`` from the environment ``v``."""
    if isinstance(expr, typed.Const):
        return ast.Constant(expr.value)
    if isinstance(expr, typed.Read):
        return _env_read(expr.key)
    if isinstance(expr, typed.Has):
        return ast.Compare(ast.Constant(expr.member), [ast.In()], [_env_read(expr.key)])
    if isinstance(expr, typed.NotExpr):
        return ast.UnaryOp(ast.Not(), to_python(expr.operand))
    if isinstance(expr, typed.NegExpr):
        return ast.UnaryOp(ast.USub(), to_python(expr.operand))
    if isinstance(expr, typed.LogicExpr):
        op = ast.And() if expr.op == "and" else ast.Or()
        return ast.BoolOp(op, [to_python(o) for o in expr.operands])
    if isinstance(expr, typed.CompareExpr):
        left, right = to_python(expr.left), to_python(expr.right)
        if expr.left.type.kind == "number" and expr.op in ("==", "!="):
            return _negated(_call("equal", left, right), expr.op == "!=")
        return ast.Compare(left, [_COMPARE_OPS[expr.op]()], [right])
    if isinstance(expr, typed.BetweenExpr):
        return ast.Compare(
            to_python(expr.low),
            [ast.LtE(), ast.LtE()],
            [to_python(expr.value), to_python(expr.high)],
        )
    if isinstance(expr, typed.MemberExpr):
        value, items = to_python(expr.value), ast.Constant(cast(Any, expr.items))
        if expr.value.type.kind == "number":
            return _negated(_call("is_member", value, items), expr.negated)
        membership: ast.cmpop = ast.NotIn() if expr.negated else ast.In()
        return ast.Compare(value, [membership], [items])
    if isinstance(expr, typed.ArithExpr):
        return ast.BinOp(to_python(expr.left), _ARITH_OPS[expr.op](), to_python(expr.right))
    if isinstance(expr, typed.CallExpr):
        return _call(expr.function, *map(to_python, expr.args))
    if isinstance(expr, typed.RoundExpr):
        constants = map(ast.Constant, (expr.digits, expr.factor, expr.offset))
        return _call("round_in", to_python(expr.operand), *constants)
    raise AssertionError(f"unexpected typed node {expr!r}")


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(_name(helper), list(args), [])


def _negated(test: ast.expr, negate: bool) -> ast.expr:
    return ast.UnaryOp(ast.Not(), test) if negate else test


def _name(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def _function(name: str, body: list[ast.stmt]) -> ast.FunctionDef:
    arguments = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(_ENV)],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )
    return ast.FunctionDef(name, arguments, body, [], None, None)


def _condition_function(expr: typed.Expr) -> ast.FunctionDef:
    """``def evaluate(v)``: PASS/FAIL on the truth of ``expr``; UNKNOWN when a value is missing.

    For a value (not a condition) the function answers PASS when the value can be computed.
    """
    test = to_python(expr)
    if expr.type.kind != "bool":
        test = ast.BoolOp(ast.Or(), [test, ast.Constant(True)])
    guarded = ast.Try(
        body=[ast.Return(ast.IfExp(test, _name("PASS"), _name("FAIL")))],
        handlers=[
            ast.ExceptHandler(
                ast.Tuple([_name("KeyError"), _name("ArithmeticError")], ast.Load()),
                None,
                [ast.Return(_name("UNKNOWN"))],
            )
        ],
        orelse=[],
        finalbody=[],
    )
    return _function("evaluate", [guarded])


def _value_function(expr: typed.Expr) -> ast.FunctionDef:
    return _function("value", [ast.Return(to_python(expr))])


def build_function(definition: ast.FunctionDef, span: Span) -> Callable[[Env], Any]:
    """Check ``definition`` against the whitelist, compile it and return the function."""
    module = ast.Module(body=[definition], type_ignores=[])
    for node in ast.walk(module):
        if "lineno" in node._attributes:
            node.lineno = node.end_lineno = span.line  # type: ignore[attr-defined]
            node.col_offset = node.end_col_offset = 0  # type: ignore[attr-defined]
    assert_whitelisted(module)
    code = compile(module, span.path, "exec", dont_inherit=True)
    function_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    function: Callable[[Env], Any] = types.FunctionType(function_code, _GLOBALS, definition.name)
    return function


# ---------------------------------------------------------------- explanations


@dataclass(frozen=True, slots=True)
class _Read:
    """A name a (sub-)expression reads, with what is needed to display its value."""

    reference: Reference
    type: typed.Type | None


def _reads(expr: typed.Expr) -> tuple[_Read, ...]:
    """Every environment read in ``expr``, first occurrence of each key, in source order."""
    found: list[tuple[int, _Read]] = []
    stack: list[typed.Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, typed.Read):
            reference = Reference(node.key, node.name, node.type.unit)
            found.append((node.start, _Read(reference, node.type)))
        elif isinstance(node, typed.Has):
            found.append((node.start, _Read(Reference(node.key, node.name, None), None)))
        stack.extend(_children(node))
    first: dict[str, _Read] = {}
    for _, read in sorted(found, key=lambda pair: pair[0]):
        first.setdefault(read.reference.key, read)
    return tuple(first.values())


def _children(expr: typed.Expr) -> tuple[typed.Expr, ...]:
    if isinstance(expr, typed.NotExpr | typed.NegExpr | typed.RoundExpr):
        return (expr.operand,)
    if isinstance(expr, typed.LogicExpr):
        return expr.operands
    if isinstance(expr, typed.CompareExpr | typed.ArithExpr):
        return (expr.left, expr.right)
    if isinstance(expr, typed.BetweenExpr):
        return (expr.value, expr.low, expr.high)
    if isinstance(expr, typed.MemberExpr):
        return (expr.value,)
    if isinstance(expr, typed.CallExpr):
        return expr.args
    return ()


def display(value: Any, value_type: typed.Type | None) -> str:
    """A value as the operator reads it: ``72.4 bar``, ``true``, ``2027-01-31``, ``{a, b}``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(str(v) for v in value)) + "}"
    if isinstance(value, str) or value_type is None or not isinstance(value, int | float):
        return str(value)
    if value_type.kind == "date":
        return value_date(value).isoformat()
    if value_type.kind == "datetime":
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    return format_quantity(value, value_type.unit)


def _readings(reads: tuple[_Read, ...], env: Env) -> tuple[Reading, ...]:
    return tuple(
        Reading(r.reference.name, display(env[r.reference.key], r.type), True)
        if r.reference.key in env
        else Reading(r.reference.name, "unavailable", False)
        for r in reads
    )


@dataclass(frozen=True, slots=True)
class _Check:
    text: str
    evaluate: Callable[[Env], Outcome]
    reads: tuple[_Read, ...]


def _explainer(
    evaluate: Callable[[Env], Outcome], checks: tuple[_Check, ...]
) -> Callable[[Env], Explanation]:
    def explain(env: Env) -> Explanation:
        results = tuple(
            CheckResult(check.text, check.evaluate(env), _readings(check.reads, env))
            for check in checks
        )
        return Explanation(evaluate(env), results)

    return explain


def _valuer(raw: Callable[[Env], Any]) -> Callable[[Env], Any]:
    def value(env: Env) -> Any:
        """The expression's value; :class:`Unavailable` when it needs a missing key."""
        try:
            return raw(env)
        except KeyError as missing:
            raise Unavailable(str(missing.args[0])) from None
        except ArithmeticError as failure:
            raise Unavailable(f"arithmetic error: {failure}") from None

    return value


def compile_rule(expr: typed.Expr, source: str, span: Span) -> CompiledRule:
    """The :class:`CompiledRule` for a checked expression written as ``source`` at ``span``."""
    evaluate: Callable[[Env], Outcome] = build_function(_condition_function(expr), span)
    raw_value = build_function(_value_function(expr), span)
    parts: tuple[typed.Expr, ...] = (expr,)
    if isinstance(expr, typed.LogicExpr) and expr.op == "and":
        parts = expr.operands
    checks = tuple(
        _Check(
            source[part.start : part.end],
            evaluate if part is expr else build_function(_condition_function(part), span),
            _reads(part),
        )
        for part in parts
    )
    return CompiledRule(
        source=source,
        span=span,
        references=tuple(read.reference for read in _reads(expr)),
        evaluate=evaluate,
        value=_valuer(raw_value),
        explainer=_explainer(evaluate, checks),
    )
