"""Parse rule-expression text into a small syntax tree with source offsets.

One LALR parser is built at import time from ``grammar.lark``. :func:`parse` never raises: it
returns the tree or a :class:`SyntaxProblem` (message, hint and the offending offsets), including
for text that is too long or nested too deeply.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

MAX_LENGTH = 2000
MAX_DEPTH = 32

_PARSER = Lark(
    (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8"),
    parser="lalr",
    propagate_positions=True,
    maybe_placeholders=False,
)


@dataclass(frozen=True, slots=True)
class Node:
    """Any expression; ``start``/``end`` are offsets into the source text (end exclusive)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Number(Node):
    value: float
    unit: str | None
    unit_start: int


@dataclass(frozen=True, slots=True)
class String(Node):
    value: str


@dataclass(frozen=True, slots=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True, slots=True)
class Date(Node):
    value: dt.date


@dataclass(frozen=True, slots=True)
class Name(Node):
    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: Name
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    """``first op1 x1 op2 x2 ...`` of one precedence level, left-associative."""

    first: Node
    rest: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    """``left op right``; ``more`` holds further links of a (forbidden) chained comparison."""

    left: Node
    op: str
    op_start: int
    right: Node
    more: tuple[tuple[str, int, Node], ...]


@dataclass(frozen=True, slots=True)
class Between(Node):
    value: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class Membership(Node):
    value: Node
    items: tuple[Node, ...]
    negated: bool
    list_start: int
    list_end: int


@dataclass(frozen=True, slots=True)
class Logic(Node):
    """``and`` / ``or`` over two or more operands."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """Why the text is not an expression, at offsets ``start``..``end``."""

    start: int
    end: int
    message: str
    hint: str | None = None


def parse(source: str) -> Node | SyntaxProblem:
    """The syntax tree of ``source``, or the first syntax problem in it."""
    if len(source) > MAX_LENGTH:
        return SyntaxProblem(
            0,
            len(source),
            f"expression is too long ({len(source)} characters, at most {MAX_LENGTH})",
            "split it into several interlocks or gates",
        )
    if not source.strip():
        return SyntaxProblem(0, max(len(source), 1), "expression is empty")
    try:
        tree = _PARSER.parse(source)
    except UnexpectedInput as problem:
        return _syntax_problem(source, problem)
    depth_problem = _too_deep(tree)
    if depth_problem is not None:
        return depth_problem
    return _Builder(source).build(tree)


def _too_deep(tree: Tree[Token]) -> SyntaxProblem | None:
    """Check nesting without recursion, so no text can exhaust the Python stack."""
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return SyntaxProblem(
                node.meta.start_pos,
                node.meta.end_pos,
                f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
                "split it into simpler checks",
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return None


_UNESCAPE = re.compile(r"\\(.)")


class _Builder:
    """Turn the Lark tree into :class:`Node` objects (depth is bounded by :func:`_too_deep`)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def build(self, tree: Tree[Token] | Token) -> Node | SyntaxProblem:
        try:
            return self.node(tree)
        except _BadLiteral as bad:
            return bad.problem

    def node(self, item: Tree[Token] | Token) -> Node:
        assert isinstance(item, Tree), item
        start, end = item.meta.start_pos, item.meta.end_pos
        kids = item.children
        rule = str(item.data)
        if rule == "number":
            return self.number(item, start, end)
        if rule == "string":
            text = str(kids[0])
            return String(start, end, _UNESCAPE.sub(r"\1", text[1:-1]))
        if rule in ("true", "false"):
            return Boolean(start, end, rule == "true")
        if rule == "date":
            return self.date(str(kids[0]), start, end)
        if rule == "name":
            return Name(start, end, tuple(str(k) for k in kids))
        if rule == "call":
            function = self.node(kids[0])
            assert isinstance(function, Name)
            return Call(start, end, function, tuple(self.node(k) for k in kids[1:]))
        if rule == "neg":
            return Negate(start, end, self.node(kids[1]))
        if rule == "not_":
            return Not(start, end, self.node(kids[1]))
        if rule == "arith":
            pairs = tuple((str(kids[i]), self.node(kids[i + 1])) for i in range(1, len(kids), 2))
            return Arithmetic(start, end, self.node(kids[0]), pairs)
        if rule == "compare":
            return self.comparison(kids, start, end)
        if rule == "between":
            low, high = self.node(kids[1]), self.node(kids[2])
            return Between(start, end, self.node(kids[0]), low, high)
        if rule in ("in_", "not_in"):
            items = kids[-1]
            assert isinstance(items, Tree)
            return Membership(
                start,
                end,
                self.node(kids[0]),
                tuple(self.node(k) for k in items.children),
                rule == "not_in",
                items.meta.start_pos,
                items.meta.end_pos,
            )
        if rule in ("and_", "or_"):
            return Logic(start, end, rule[:-1], tuple(self.node(k) for k in kids))
        raise AssertionError(f"unexpected grammar rule {rule}")

    def number(self, item: Tree[Token], start: int, end: int) -> Number:
        number = item.children[0]
        unit = item.children[1] if len(item.children) > 1 else None
        assert isinstance(number, Token)
        unit_start = unit.start_pos if isinstance(unit, Token) and unit.start_pos else end
        return Number(start, end, float(number), str(unit) if unit else None, unit_start)

    def date(self, text: str, start: int, end: int) -> Date:
        try:
            return Date(start, end, dt.date.fromisoformat(text))
        except ValueError:
            raise _BadLiteral(
                SyntaxProblem(start, end, f"'{text}' is not a valid date", "write YYYY-MM-DD")
            ) from None

    def comparison(self, kids: list[Tree[Token] | Token], start: int, end: int) -> Comparison:
        ops = [k for k in kids[1::2] if isinstance(k, Token)]
        operands = [self.node(k) for k in kids[0::2]]
        more = tuple(
            (str(op), op.start_pos or 0, right)
            for op, right in zip(ops[1:], operands[2:], strict=True)
        )
        return Comparison(
            start, end, operands[0], str(ops[0]), ops[0].start_pos or 0, operands[1], more
        )


class _BadLiteral(Exception):
    def __init__(self, problem: SyntaxProblem) -> None:
        self.problem = problem


# ---------------------------------------------------------------- syntax errors people can act on

_VALUE_TOKENS = frozenset(
    {"NAME", "UNIT", "NUMBER", "STRING", "DATE", "TRUE", "FALSE", "NOT", "LPAR", "LSQB"}
)
_OPENERS = {")": "(", "]": "["}
_BRACKETS_AND_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[\[\]()]")
_NEEDS_VALUE_AFTER = re.compile(
    r"(?:\b(and|or|not|between|in)|(<=|>=|==|!=|<|>|\+|-|\*|/|\(|\[|,))\s*$"
)
_MISTAKES = {
    "=": ("unexpected '='", "to compare, write '=='"),
    "&": ("unexpected '&'", "write 'and'"),
    "|": ("unexpected '|'", "write 'or'"),
    "!": ("unexpected '!'", "write 'not', or '!=' to compare"),
}


def _syntax_problem(source: str, problem: UnexpectedInput) -> SyntaxProblem:
    if isinstance(problem, UnexpectedCharacters):
        return _bad_character(source, problem.pos_in_stream or 0)
    if isinstance(problem, UnexpectedToken):
        return _bad_token(source, problem)
    position = problem.pos_in_stream or 0
    return SyntaxProblem(position, position + 1, "this is not a valid expression")


def _bad_character(source: str, position: int) -> SyntaxProblem:
    char = source[position]
    if char in "\"'":
        end = source.find("\n", position)
        return SyntaxProblem(
            position,
            len(source) if end < 0 else end,
            "unterminated string",
            f"close the string with {char}",
        )
    if source.startswith("==", position - 1) or source.startswith("=>", position):
        char = source[position : position + 2]
    message, hint = _MISTAKES.get(char, (f"unexpected character '{char}'", None))
    return SyntaxProblem(position, position + len(char), message, hint)


def _bad_token(source: str, problem: UnexpectedToken) -> SyntaxProblem:
    token = problem.token
    at_end = token.type == "$END"
    position = len(source.rstrip()) if at_end else (token.start_pos or 0)
    width = 1 if at_end else max(len(str(token)), 1)
    before = _NEEDS_VALUE_AFTER.search(source[:position])
    if before is not None and "UNIT" not in problem.expected:
        word = before.group(1) or before.group(2)
        return SyntaxProblem(position, position + width, f"expected a value after '{word}'")
    if "_AND" in problem.expected and re.search(r"\bbetween\b", source[:position]):
        return SyntaxProblem(
            position, position + width, "expected 'and' in 'between'", "write x between a and b"
        )
    if at_end:
        closer = _unclosed(source)
        if closer:
            return SyntaxProblem(
                position,
                position + 1,
                f"missing '{closer}'",
                f"add '{closer}' to close the '{_OPENERS[closer]}'",
            )
        return SyntaxProblem(position, position + 1, "unexpected end of expression")
    hint = "join conditions with 'and' or 'or'" if token.type in _VALUE_TOKENS else None
    return SyntaxProblem(position, position + width, f"unexpected '{token}'", hint)


def _unclosed(source: str) -> str | None:
    """The closing bracket the innermost unclosed bracket of ``source`` needs, if any."""
    open_brackets: list[str] = []
    for match in _BRACKETS_AND_STRINGS.finditer(source):
        text = match.group()
        if text in "([":
            open_brackets.append(")" if text == "(" else "]")
        elif text in ")]" and open_brackets:
            open_brackets.pop()
    return open_brackets[-1] if open_brackets else None
