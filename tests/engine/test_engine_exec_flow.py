"""A unit's walk through the acme-harness routing: the happy path and where it can turn off."""

from __future__ import annotations

from engine_exec_support import Line, line  # noqa: F401


def test_happy_path_completes_the_unit(line: Line) -> None:
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    assert line.crimp(unit) == "next"
    assert line.test(unit) == "completed"
    view = line.engine.item(unit)
    assert view.status == "completed"
    assert view.current_operation is None
