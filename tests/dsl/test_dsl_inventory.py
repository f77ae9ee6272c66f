"""The site's ``inventory`` (locations, FEFO, lot signatures) and a part's ``quarantine``: loaded
into the model, and every mistake reported like a compiler does."""

from __future__ import annotations

from collections.abc import Callable

from dsl.loader import LoadResult

INVENTORY = """
inventory:
  locations: [goods-in, stores, line-1]
  fefo: strict
  sign:
    release: {role: quality, meaning: Released for use}
"""


def test_inventory_and_quarantine_are_loaded(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    materials = base_files["materials.yaml"].replace(
        "BOLT: {tracking: lot, unit: pcs}", "BOLT: {tracking: lot, unit: pcs, quarantine: true}"
    )
    result = load_plant(
        {"site.yaml": base_files["site.yaml"] + INVENTORY, "materials.yaml": materials}
    )
    assert result.plant is not None, result.render()
    inventory = result.plant.site.inventory
    assert inventory is not None
    assert (inventory.locations, inventory.fefo) == (("goods-in", "stores", "line-1"), "strict")
    release = inventory.signatures["release"]
    assert (release.role, release.meaning, sorted(inventory.signatures)) == (
        "quality",
        "Released for use",
        ["release"],
    )
    assert [p.quarantine for p in result.plant.parts.values()] == [True, False]
    plain = load_plant()
    assert plain.plant is not None and plain.plant.site.inventory is None


def test_inventory_mistakes_are_all_reported_with_a_fix(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    wrong = (
        INVENTORY.replace("[goods-in, stores, line-1]", "[goods-in, stores, goods-in]")
        .replace("fefo: strict", "fefo: always")
        .replace("role: quality", "role: qa")
        .replace("release:", "relase:")
    )
    result = load_plant({"site.yaml": base_files["site.yaml"] + wrong})
    assert [d.message for d in result.diagnostics] == [
        "location 'goods-in' is listed twice",
        "'fefo' must be off, propose or strict, found 'always'",
        "unknown key 'relase' in a plant file; did you mean 'release'?",
        "unknown role 'qa'",
    ]
    duplicated = load_plant(
        {"site.yaml": base_files["site.yaml"] + INVENTORY.replace("line-1]", "stores]")}
    )
    assert duplicated.render().splitlines()[:3] == [
        "plant/site.yaml:28:33: error: location 'stores' is listed twice",
        "      locations: [goods-in, stores, stores]",
        "                                    ^^^^^^",
    ]


def test_the_label_barcode_is_gs1_128_unless_the_site_asks_for_datamatrix(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    site = base_files["site.yaml"]
    plain = load_plant({"site.yaml": site + INVENTORY})
    assert plain.plant is not None and plain.plant.site.inventory is not None
    assert plain.plant.site.inventory.label_barcode == "gs1-128"
    datamatrix = INVENTORY.replace("fefo: strict", "fefo: strict\n  label_barcode: datamatrix")
    chosen = load_plant({"site.yaml": site + datamatrix})
    assert chosen.plant is not None and chosen.plant.site.inventory is not None
    assert chosen.plant.site.inventory.label_barcode == "datamatrix"
    wrong = load_plant({"site.yaml": site + datamatrix.replace("datamatrix", "qr")})
    assert [d.message for d in wrong.diagnostics] == [
        "'label_barcode' must be gs1-128 or datamatrix, found 'qr'"
    ]
