"""ERP production orders in: B2MML and JSON documents become released work orders, whole or not
at all, once per ERP order."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dsl.model import Plant
from engine.errors import Forbidden
from engine.facade.audit import AuditTrail
from engine.facade.erp import Erp
from engine.facade.production import Ferrule
from engine.floor import b2mml
from engine.floor.b2mml import DocumentRefused
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database

DOCUMENTS = Path(__file__).parent / "data" / "b2mml"
SUPERVISOR, OPERATOR = "sam", "olga"  # two of the ``users`` fixture's demo users


def document(name: str) -> bytes:
    return (DOCUMENTS / name).read_bytes()


@pytest.fixture
def erp(db: Database, plant: Plant) -> Erp:
    return Erp(db)


def work_orders(db: Database) -> dict[str, tuple[str, str, float]]:
    """Work orders by ERP reference: (number, status, quantity)."""
    found = Ferrule(db, StaticTagSource()).work_orders()
    return {o.erp_reference: (o.number, o.status, o.quantity) for o in found}


def refusal(call: object) -> DocumentRefused:
    with pytest.raises(DocumentRefused) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_a_schedule_becomes_released_work_orders_with_their_plan(
    erp: Erp, db: Database, users: object
) -> None:
    result = erp.import_b2mml(
        document("schedule-two-orders.xml"), actor=SUPERVISOR, source="week49.xml"
    )

    assert result.document_id == "PS-2026-W49"
    assert [(o.erp_order, o.product, o.quantity, o.status, o.created) for o in result.orders] == [
        ("1000045", "HA-100", 3.0, "released", True),
        ("1000046", "HA-100", 2.0, "released", True),
    ]
    order = Ferrule(db, StaticTagSource()).work_order(result.orders[0].work_order)
    assert (order.erp_reference, order.due_date, order.priority) == (
        "1000045",
        dt.date(2026, 12, 3),
        2,
    )
    assert len(order.items) == 3
    assert AuditTrail(db).verify().ok


def test_the_same_document_again_returns_the_existing_work_orders(
    erp: Erp, db: Database, users: object
) -> None:
    first = erp.import_b2mml(document("schedule-two-orders.xml"), actor=SUPERVISOR)
    again = erp.import_b2mml(document("schedule-two-orders.xml"), actor=SUPERVISOR)

    assert [o.work_order for o in again.orders] == [o.work_order for o in first.orders]
    assert [o.created for o in again.orders] == [False, False]
    assert len(work_orders(db)) == 2


def test_an_order_imported_before_with_another_quantity_refuses_the_document(
    erp: Erp, db: Database, users: object
) -> None:
    first = erp.import_b2mml(document("schedule-two-orders.xml"), actor=SUPERVISOR)
    changed = document("schedule-two-orders.xml").replace(
        b"<b2mml:QuantityString>2<", b"<b2mml:QuantityString>7<"
    )

    refused = refusal(lambda: erp.import_b2mml(changed, actor=SUPERVISOR))

    number = first.orders[1].work_order
    assert refused.problems == (
        f"line 51: ERP order 1000046 was imported before as work order {number} for 2 of "
        "HA-100; this one asks for 7 of HA-100. Re-plan or cancel "
        f"{number} in Ferrule instead of importing the order again.",
    )


def test_a_bad_document_is_refused_whole_with_every_problem_and_its_line(
    erp: Erp, db: Database, users: object
) -> None:
    refused = refusal(
        lambda: erp.import_b2mml(
            document("schedule-with-mistakes.xml"), actor=SUPERVISOR, source="bad.xml"
        )
    )

    assert refused.problems == (
        "line 24: ProductionRequest 2000003's EndTime 'next Tuesday' is not a date-time; "
        "write it like 2026-12-03T14:00:00Z.",
        "line 28: ProductionRequest 2000003 gives the quantity 'zero'; give a QuantityString "
        "above zero.",
        "line 13: ERP order 2000002 asks for material '4711-HA10': no product of the plant maps "
        'to it; add erp: {material: "4711-HA10"} to the product in materials.yaml (did you '
        "mean '4711-HA100'?).",
        "line 32: ERP order 2000004 asks for material '4711-T22': that is part TERM-22, which "
        "the plant receives, not makes.",
        "line 41: ERP order 2000001 is in the document twice (first at line 4); send each order "
        "once.",
    )
    assert refused.message.startswith(
        "Document PS-BAD (bad.xml) was refused, nothing was imported (5 problems): line 24:"
    )
    assert work_orders(db) == {}


def test_a_unit_the_product_is_not_counted_in_is_refused(
    erp: Erp, db: Database, users: object
) -> None:
    refused = refusal(
        lambda: erp.import_json(
            {"orders": [{"id": "9", "material": "4711-HA100", "quantity": 4, "unit": "KGM"}]},
            actor=SUPERVISOR,
        )
    )

    assert refused.problems == (
        "orders[0]: ERP order 9 counts HA-100 in 'KGM', but the plant counts it in pcs; send the "
        "quantity in the product's unit.",
    )


def test_an_engine_refusal_of_one_order_rolls_back_the_others(
    erp: Erp, db: Database, users: object
) -> None:
    refused = refusal(
        lambda: erp.import_json(
            {
                "id": "J-1",
                "orders": [
                    {"id": "A-1", "material": "4711-HA100", "quantity": 2},
                    {"id": "A-2", "material": "4711-HA100", "quantity": 2.5},
                ],
            },
            actor=SUPERVISOR,
        )
    )

    assert refused.problems == (
        "orders[1]: ERP order A-2: HA-100 is made in units; give a whole number of units, not 2.5.",
    )
    assert work_orders(db) == {}


def test_a_forecast_request_is_created_but_not_released(
    erp: Erp, db: Database, users: object
) -> None:
    result = erp.import_b2mml(document("request-forecast.xml"), actor=SUPERVISOR)

    assert [(o.erp_order, o.status) for o in result.orders] == [("1000050", "created")]


def test_json_orders_list_every_problem_by_path(erp: Erp, db: Database, users: object) -> None:
    refused = refusal(
        lambda: erp.import_json(
            {
                "orders": [
                    {"id": "", "material": "4711-HA100", "quantity": -1},
                    {"id": "B-2", "material": 4711, "quantity": 1, "priority": 12},
                    "B-3",
                ]
            },
            actor=SUPERVISOR,
        )
    )

    assert refused.problems == (
        "orders[0].id: required; give the ERP's order id.",
        "orders[0].quantity: expected a number above zero, got -1.",
        "orders[1].material: expected text, got 4711.",
        "orders[1].priority: expected a whole number from 1 to 9, got 12.",
        "orders[2]: expected an object with id, material and quantity.",
    )


def test_only_supervisors_import_orders(erp: Erp, users: object) -> None:
    with pytest.raises(Forbidden):
        erp.import_b2mml(document("request-forecast.xml"), actor=OPERATOR)


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_a_dtd_or_entity_is_refused_before_it_is_expanded(name: str) -> None:
    refused = refusal(lambda: b2mml.orders_from_xml(document(name)))

    assert refused.message == (
        "The document was refused, nothing was imported (1 problem): It declares a DTD or "
        "entities, which are refused (they can read files or expand without end); export it "
        "without a DOCTYPE."
    )


def test_xml_that_is_not_well_formed_is_refused_with_its_line() -> None:
    text = b'<ProductionRequest xmlns="http://www.mesa.org/xml/B2MML">\n<ID>1</ID>\n</Production>'

    refused = refusal(lambda: b2mml.orders_from_xml(text))

    assert refused.problems == ("line 3, column 3: not well-formed XML (mismatched tag).",)


def test_a_document_outside_the_b2mml_namespace_is_refused() -> None:
    text = b"<ProductionSchedule><ID>1</ID></ProductionSchedule>"

    refused = refusal(lambda: b2mml.orders_from_xml(text))

    assert refused.problems == (
        "line 1: its root element is ProductionSchedule; expected ProductionSchedule or "
        "ProductionRequest in the namespace http://www.mesa.org/xml/B2MML.",
    )


def test_an_oversized_document_is_refused_unread() -> None:
    text = b" " * (b2mml.MAX_DOCUMENT_BYTES + 1)

    refused = refusal(lambda: b2mml.orders_from_xml(text))

    assert refused.problems == (
        "It is 2,097,153 bytes; at most 2,097,152 are accepted, so split the schedule into "
        "several documents.",
    )


def test_segments_that_disagree_on_the_quantity_are_refused() -> None:
    text = document("schedule-two-orders.xml").replace(
        b"<b2mml:ProcessSegmentID>CRIMP</b2mml:ProcessSegmentID>",
        b"<b2mml:MaterialProducedRequirement><b2mml:MaterialDefinitionID>4711-HA100"
        b"</b2mml:MaterialDefinitionID><b2mml:Quantity><b2mml:QuantityString>4"
        b"</b2mml:QuantityString></b2mml:Quantity></b2mml:MaterialProducedRequirement>",
    )

    found = b2mml.orders_from_xml(text)

    assert found.problems == (
        "line 36: ProductionRequest 1000045's segments ask for different quantities (4 at line "
        "36, 3 EA at line 43); one request is one work order, so give one quantity.",
    )


def test_the_acme_plant_names_every_part_and_product_as_its_erp_does(plant: Plant) -> None:
    assert {name: p.erp_material for name, p in plant.parts.items()} == {
        "WIRE-18-RD": "4711-W18RD",
        "TERM-22": "4711-T22",
        "HOUSING-4P": "4711-H4P",
    }
    assert plant.products["HA-100"].erp_material == "4711-HA100"


def test_two_imports_of_one_document_at_once_make_each_work_order_once(
    erp: Erp, db: Database, users: object
) -> None:
    schedule = document("schedule-two-orders.xml")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: erp.import_b2mml(schedule, actor=SUPERVISOR), range(2)))

    assert sorted(o.created for r in results for o in r.orders) == [False, False, True, True]
    assert results[0].orders[0].work_order == results[1].orders[0].work_order
    assert len(work_orders(db)) == 2


def test_elements_nested_without_end_are_refused_without_recursion() -> None:
    depth = 100_000
    text = (
        b'<ProductionRequest xmlns="http://www.mesa.org/xml/B2MML">\n'
        + b"<a>" * depth
        + b"</a>" * depth
        + b"</ProductionRequest>"
    )

    refused = refusal(lambda: b2mml.orders_from_xml(text))

    assert refused.problems == (
        "line 2: elements are nested more than 64 deep; this is not a B2MML document Ferrule "
        "reads.",
    )
