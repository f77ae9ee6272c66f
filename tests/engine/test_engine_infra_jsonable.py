"""The one serialization scheme for result types: JSON by field types, and back exactly."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dsl.diagnostics import Diagnostic, Severity, Span
from engine.commands.complete import CompleteResult, GateVerdict
from engine.commands.nonconformances import NonconformanceInfo
from engine.commands.preview import InterlockPreview, StartPreview
from engine.commands.versions import Deployment, VersionInfo
from engine.commands.workorders import WorkOrderInfo
from engine.floor.environment import ReadingSeen
from engine.infra.jsonable import Jsonable

AT = dt.datetime(2026, 11, 30, 14, 5, 7, 123456, tzinfo=dt.UTC)


def test_nested_results_and_tuples_round_trip() -> None:
    result = CompleteResult(
        item="HA-0001",
        operation="crimp",
        run_id=7,
        route="next",
        next_operation="test",
        reason="",
        status="queued",
        revision=3,
        nonconformance_id=None,
        gates=(
            GateVerdict("pull force", "pass", True, 0.25, ""),
            GateVerdict("visual", "skipped", False, None, ""),
        ),
    )
    data = result.to_json()
    assert data["gates"] == [
        {"gate": "pull force", "outcome": "pass", "sampled": True, "draw": 0.25, "because": ""},
        {"gate": "visual", "outcome": "skipped", "sampled": False, "draw": None, "because": ""},
    ]
    assert CompleteResult.from_json(json.loads(json.dumps(data))) == result


def test_datetimes_are_iso_text_and_come_back_as_datetimes() -> None:
    order = WorkOrderInfo(
        number="WO-1",
        product="HA-100",
        routing="harness-a",
        quantity=10,
        status="released",
        config_version_id=2,
        created_by="sam",
        created_at=AT,
        released_at=None,
        items=("HA-0001", "HA-0002"),
        due_date=dt.date(2026, 12, 4),
        priority=5,
        erp_reference="SO-4711",
        status_reason="",
    )
    data = order.to_json()
    assert (data["created_at"], data["released_at"], data["items"], data["due_date"]) == (
        "2026-11-30T14:05:07.123456+00:00",
        None,
        ["HA-0001", "HA-0002"],
        "2026-12-04",
    )
    assert WorkOrderInfo.from_json(json.loads(json.dumps(data))) == order


def test_computed_properties_are_written_but_not_read_back() -> None:
    nc = NonconformanceInfo(1, "HA-0001", "test", "resistance", None, "too high", "tina", AT)
    data = nc.to_json()
    assert data["open"] is True
    assert NonconformanceInfo.from_json(data) == nc


def test_hidden_fields_stay_out_of_the_json() -> None:
    check: dict[str, Any] = {"name": "pressure", "outcome": "fail"}
    reading = ReadingSeen("press1.pressure", 50.0, "bar", "good", 0.5)
    preview = StartPreview("HA-0001", "crimp", "", (InterlockPreview(check, (reading,)),), AT)
    assert preview.to_json() == {
        "item": "HA-0001",
        "operation": "crimp",
        "problem": "",
        "at": "2026-11-30T14:05:07.123456+00:00",
        "allowed": False,
        "checks": [{"name": "pressure", "outcome": "fail", "tags": ["press1.pressure"]}],
    }


@dataclass(frozen=True, slots=True)
class _Sample(Jsonable):
    when: dt.date | None
    counts: tuple[int, ...]
    detail: dict[str, Any]


@given(
    when=st.none() | st.dates(),
    counts=st.lists(st.integers(), max_size=5).map(tuple),
    detail=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4),
)
def test_any_value_survives_a_trip_through_json_text(
    when: dt.date | None, counts: tuple[int, ...], detail: dict[str, Any]
) -> None:
    sample = _Sample(when, counts, detail)
    assert _Sample.from_json(json.loads(json.dumps(sample.to_json()))) == sample


def test_a_deployment_with_warnings_replays_without_its_sources() -> None:
    """An idempotent deploy retry reads the stored result back, warnings included; the bundle's
    text (kept only to render warnings) is not stored with it."""
    version = VersionInfo(3, "acme", "ab" * 32, AT, "ada", "", 1, True)
    warning = Diagnostic(
        Severity.WARNING, Span("site.yaml", 4, 3, 4, 9), "tag 'spare' is never read", "remove it"
    )
    deployment = Deployment(version, True, (warning,), {"site.yaml": "site: acme\n"})
    data = json.loads(json.dumps(deployment.to_json()))
    assert "sources" not in data
    assert data["warnings"][0]["message"] == "tag 'spare' is never read"
    assert Deployment.from_json(data) == Deployment(version, True, (warning,), {})
