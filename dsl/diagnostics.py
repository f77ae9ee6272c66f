"""Diagnostics: what the plant language says about a mistake, and how it is printed.

A diagnostic carries a span in a source file. It renders compiler-style::

    plants/acme/routings/a.yaml:27:37: error: cannot compare force (N) with pressure (bar)
          - check: pull_force >= 60 bar
                                    ^^^^^^
      hint: ...
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class Severity(enum.Enum):
    """How bad a diagnostic is: errors refuse a plant, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns are 1-based, ``end_col`` is exclusive."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, path: str, line: int, col: int, width: int = 1) -> Span:
        """A span of ``width`` characters on one line."""
        return cls(path, line, col, line, col + max(width, 1))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a plant, located in its source."""

    severity: Severity
    span: Span
    message: str
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def render(self, sources: Mapping[str, str] | None = None) -> str:
        """Compiler-style text: location, message, the source line with a caret, the hint."""
        head = f"{self.span}: {self.severity.value}: {self.message}"
        lines = [head]
        text = (sources or {}).get(self.span.path)
        if text is not None:
            source_lines = text.splitlines()
            if 1 <= self.span.line <= len(source_lines):
                source_line = source_lines[self.span.line - 1]
                one_line = self.span.end_line == self.span.line
                end = self.span.end_col if one_line else len(source_line) + 1
                width = max(1, min(end, len(source_line) + 1) - self.span.col)
                lines.append(f"    {source_line}")
                lines.append("    " + " " * (self.span.col - 1) + "^" * width)
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        """The diagnostic as plain data for editors and CI (``--format json``)."""
        return {
            "severity": self.severity.value,
            "path": self.span.path,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "message": self.message,
            "hint": self.hint,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Diagnostic:
        """The diagnostic back from :meth:`to_json`'s data."""
        span = Span(
            str(data["path"]),
            int(str(data["line"])),
            int(str(data["col"])),
            int(str(data["end_line"])),
            int(str(data["end_col"])),
        )
        hint = data["hint"]
        return cls(
            Severity(data["severity"]),
            span,
            str(data["message"]),
            None if hint is None else str(hint),
        )


def error(span: Span, message: str, hint: str | None = None) -> Diagnostic:
    """An error at ``span``."""
    return Diagnostic(Severity.ERROR, span, message, hint)


def warning(span: Span, message: str, hint: str | None = None) -> Diagnostic:
    """A warning at ``span``."""
    return Diagnostic(Severity.WARNING, span, message, hint)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` suggestion for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, int, str]:
    """Order diagnostics by file, then position, then message."""
    span = diagnostic.span
    return (span.path, span.line, span.col, diagnostic.message)


class PlantError(Exception):
    """Raised by ``dsl.load_or_raise`` when a plant has errors; carries every diagnostic."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...], sources: Mapping[str, str]) -> None:
        self.diagnostics = diagnostics
        self.sources = dict(sources)
        errors = sum(1 for d in diagnostics if d.is_error)
        super().__init__(f"plant has {errors} error(s)")

    def render(self) -> str:
        """Every diagnostic, rendered."""
        return "\n".join(d.render(self.sources) for d in self.diagnostics)
