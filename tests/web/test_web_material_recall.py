"""The recall API: quality holds a recalled supplier lot, its splits and what was made from it."""

from __future__ import annotations

from web_support import Api

from dsl.model import Plant


def _received(api: Api, supplier_lot: str) -> None:
    body = {"part": "HOUSING-4P", "supplier_lot": supplier_lot, "quantity": 5}
    assert api.post("/api/lots", "sam", body).status_code == 201


def test_quality_holds_a_recalled_supplier_lot_by_its_number(api: Api, shop: Plant) -> None:
    _received(api, "S-9")
    body = {"supplier_lot": "S-9", "reason": "Supplier recall R-9"}
    assert api.post("/api/recalls/hold", "anna", body).status_code == 403
    held = api.post("/api/recalls/hold", "quinn", body, headers={"Idempotency-Key": "r-9"})
    assert held.status_code == 200, held.json
    assert held.json == {
        "lots": [{"part": "HOUSING-4P", "number": "S-9", "reason": ""}],
        "skipped_lots": [],
        "made": {"held": [], "skipped": [], "remaining": 0},
    }
    lot = api.get("/api/lots/HOUSING-4P/S-9", "quinn").json["lot"]
    assert (lot["status"], lot["hold_reason"]) == ("on_hold", "Supplier recall R-9")
    unknown = api.post("/api/recalls/hold", "quinn", {"supplier_lot": "S-0", "reason": "r"})
    assert (unknown.status_code, unknown.json["message"]) == (
        404,
        "No lot was received with the supplier's lot number 'S-0'; check the number on the "
        "supplier's notice.",
    )
    nothing = api.post("/api/recalls/hold", "quinn", {"reason": "r"})
    assert (nothing.status_code, nothing.json["message"]) == (
        422,
        "Name the supplier's lot number or the lots to recall.",
    )
