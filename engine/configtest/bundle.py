"""A bundle's own config tests, run from its files in memory, summed up for change control.

:func:`run_bundle` is what a deploy under change control runs (``ferrule deploy`` in-process; the
web through ``python -m engine.configtest``, :mod:`engine.configtest.__main__`, so that a long
run can be stopped without stopping a web worker). The summary keeps each failing case's file,
line and message, each test file that could not be read, and the report as ``ferrule test``
prints it.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.commands.changecontrol import CaseFailure, ConfigTestResult
from engine.configtest.runner import Report, run_files


def run_bundle(
    files: Mapping[str, str], assets: Mapping[str, bytes], label: str = "bundle"
) -> ConfigTestResult:
    """Run the config tests among ``files`` (``tests/*.yaml``) against the plant the other files
    make; ``assets`` are the binary files by path, ``label`` stands for the folder in messages."""
    report = run_files(files, frozenset(assets), label=label)
    return summarize(report, label)


def summarize(report: Report, label: str) -> ConfigTestResult:
    """A ``ferrule test`` report as a :class:`ConfigTestResult`, paths relative to ``label``."""
    prefix = f"{label.rstrip('/')}/"
    failures = tuple(
        CaseFailure(
            result.failure.span.path.removeprefix(prefix),
            result.failure.span.line,
            result.failure.message,
        )
        for result in report.failed
        if result.failure is not None
    )
    problems = tuple(d.render(report.sources) for d in report.problems if d.is_error)
    return ConfigTestResult(
        cases=len(report.results),
        passed=len(report.results) - len(report.failed),
        failures=failures,
        problems=problems,
        output=report.render(),
    )
