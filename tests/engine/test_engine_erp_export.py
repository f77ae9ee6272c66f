"""B2MML out: a work order's ProductionPerformance (times, consumed lots, good and scrapped
output) and a lot's MaterialLot, checked element by element."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from engine_exec_support import Line, line  # noqa: F401

from engine.access.signatures import SignatureInput
from engine.errors import Invalid, NotFound
from engine.facade.audit import AuditTrail
from engine.facade.erp import Erp
from engine.floor.b2mml import NAMESPACE
from engine.infra.db import Database

DOCUMENTS = Path(__file__).parent / "data" / "b2mml"
NS = {"b": NAMESPACE}


def texts(element: ET.Element, path: str) -> list[str]:
    return [found.text or "" for found in element.findall(path, NS)]


@pytest.fixture
def erp(db: Database, line: Line) -> Erp:  # noqa: F811
    return Erp(db)


def test_performance_reports_each_operation_its_lots_and_the_good_and_scrapped_output(
    erp: Erp,
    line: Line,  # noqa: F811
    db: Database,
) -> None:
    schedule = (DOCUMENTS / "schedule-two-orders.xml").read_bytes()
    imported = erp.import_b2mml(schedule, actor=line.supervisor).orders[0]
    good, scrapped, untouched = line.engine.work_order(imported.work_order).items
    line.cut(good)
    line.crimp(good)
    line.test(good)
    line.cut(scrapped)
    nc = line.engine.open_nonconformance(
        actor=line.operator,
        item=scrapped,
        defect_code="nicked-insulation",
        description="insulation nicked",
    )
    line.engine.disposition(
        actor=line.quality, nonconformance_id=nc.id, decision="scrap", reason="not repairable",
        signature=SignatureInput(line.quality, line.password, "Disposition approved"),
    )  # fmt: skip

    root = fromstring(erp.performance_xml(imported.work_order))

    assert root.tag == f"{{{NAMESPACE}}}ProductionPerformance"
    assert texts(root, "b:ID") == [f"{imported.work_order}-performance"]
    (response,) = root.findall("b:ProductionResponse", NS)
    assert texts(response, "b:ID") == [imported.work_order]
    assert texts(response, "b:ProductionRequestID") == ["1000045"]
    assert texts(response, "b:ResponseState") == ["Running"]
    assert len(texts(response, "b:StartTime")) == len(texts(response, "b:EndTime")) == 1
    segments = response.findall("b:SegmentResponse", NS)
    assert [texts(s, "b:ProcessSegmentID")[0] for s in segments] == [
        "cut", "crimp", "test", "harness-a",
    ]  # fmt: skip
    cut = segments[0]
    assert texts(cut, "b:MaterialConsumedActual/b:MaterialDefinitionID") == ["4711-W18RD"]
    assert texts(cut, "b:MaterialConsumedActual/b:MaterialLotID") == ["W-001"]
    assert texts(cut, "b:MaterialConsumedActual/b:Quantity/b:QuantityString") == ["1"]
    assert texts(cut, "b:MaterialConsumedActual/b:Quantity/b:UnitOfMeasure") == ["m"]
    assert len(texts(cut, "b:ActualStartTime")) == len(texts(cut, "b:ActualEndTime")) == 1
    assert texts(segments[2], "b:MaterialConsumedActual/b:MaterialLotID") == ["H-001"]
    output = segments[3]
    assert texts(output, "b:MaterialConsumedActual") == []
    produced = output.findall("b:MaterialProducedActual", NS)
    assert [
        (
            texts(p, "b:MaterialDefinitionID"),
            texts(p, "b:MaterialSubLotID"),
            texts(p, "b:Quantity/b:QuantityString"),
            texts(p, "b:Quantity/b:UnitOfMeasure"),
            texts(p, "b:Quantity/b:Key"),
        )
        for p in produced
    ] == [
        (["4711-HA100"], [good], ["1"], ["pcs"], ["Good"]),
        (["4711-HA100"], [scrapped], ["1"], ["pcs"], ["Scrap"]),
    ]
    assert untouched not in erp.performance_xml(imported.work_order)
    assert AuditTrail(db).verify().ok


def test_a_work_order_not_started_has_no_segments(erp: Erp, line: Line) -> None:  # noqa: F811
    order = line.engine.create_work_order(actor=line.supervisor, product="HA-100", quantity=1)

    root = fromstring(erp.performance_xml(order.number))

    (response,) = root.findall("b:ProductionResponse", NS)
    assert texts(response, "b:ResponseState") == ["Waiting"]
    assert texts(response, "b:ProductionRequestID") == []
    assert response.findall("b:SegmentResponse", NS) == []


def test_performance_of_an_unknown_work_order_is_not_found(erp: Erp) -> None:
    with pytest.raises(NotFound) as refused:
        erp.performance_xml("WO99999")

    assert refused.value.message == "There is no work order 'WO99999'; check the number."


def test_a_received_lot_as_a_material_lot(erp: Erp) -> None:
    root = fromstring(erp.material_lot_xml("T-001"))

    assert root.tag == f"{{{NAMESPACE}}}MaterialLot"
    assert texts(root, "b:ID") == ["T-001"]
    assert texts(root, "b:MaterialDefinitionID") == ["4711-T22"]
    assert texts(root, "b:Description") == ["Ring terminal, 22-18 AWG, tin plated"]
    assert texts(root, "b:Quantity/b:QuantityString") == ["1000"]
    assert texts(root, "b:Quantity/b:UnitOfMeasure") == ["pcs"]
    properties = dict(
        zip(
            texts(root, "b:MaterialLotProperty/b:ID"),
            texts(root, "b:MaterialLotProperty/b:Value/b:ValueString"),
            strict=True,
        )
    )
    assert properties["ReceivedQuantity"] == "1000"
    assert "ExpiryDate" in properties


def test_an_unknown_lot_is_not_found_and_an_ambiguous_one_asks_for_the_part(
    erp: Erp,
    line: Line,  # noqa: F811
) -> None:
    with pytest.raises(NotFound) as missing:
        erp.material_lot_xml("X-404")
    line.engine.receive_lot(actor=line.supervisor, part="HOUSING-4P", lot="T-001", quantity=5)
    with pytest.raises(Invalid) as ambiguous:
        erp.material_lot_xml("T-001")

    assert missing.value.message == "There is no lot 'X-404'."
    assert ambiguous.value.message == (
        "Lot T-001 was received for several parts (HOUSING-4P, TERM-22); say which with ?part=."
    )
    assert texts(fromstring(erp.material_lot_xml("T-001", part="HOUSING-4P")), "b:ID") == ["T-001"]
