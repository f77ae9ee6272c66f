"""The ERP's material ids on parts and products (``erp: {material: …}``): read into the model,
checked for a missing id and for one id on two things."""

from __future__ import annotations

from collections.abc import Callable

from dsl.loader import LoadResult

Edit = Callable[[str, str, str], dict[str, str]]


def test_erp_material_ids_are_read_onto_parts_and_products(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    files = edit(
        "materials.yaml",
        "  BOLT: {tracking: lot, unit: pcs}\n",
        '  BOLT: {tracking: lot, unit: pcs, erp: {material: "900-BOLT"}}\n',
    )
    files["materials.yaml"] = files["materials.yaml"].replace(
        "    routing: widget\n", '    routing: widget\n    erp: {material: "900-W"}\n'
    )

    result = load_plant(files)

    assert result.diagnostics == ()
    assert result.plant is not None
    assert result.plant.parts["BOLT"].erp_material == "900-BOLT"
    assert result.plant.parts["WIRE"].erp_material == ""
    assert result.plant.products["WIDGET"].erp_material == "900-W"


def test_one_erp_material_on_two_things_is_an_error_at_the_second(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    files = edit(
        "materials.yaml",
        "  BOLT: {tracking: lot, unit: pcs}\n",
        '  BOLT: {tracking: lot, unit: pcs, erp: {material: "900-X"}}\n',
    )
    files["materials.yaml"] = files["materials.yaml"].replace(
        "    routing: widget\n", '    routing: widget\n    erp: {material: "900-X"}\n'
    )

    result = load_plant(files)

    assert result.render() == (
        "plant/materials.yaml:9:21: error: ERP material '900-X' is already mapped to part BOLT\n"
        '        erp: {material: "900-X"}\n'
        "                        ^^^^^^^\n"
        "  hint: give each part and product its own ERP material id"
    )


def test_an_erp_mapping_without_a_material_says_what_is_missing(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    result = load_plant(
        edit(
            "materials.yaml",
            "  BOLT: {tracking: lot, unit: pcs}\n",
            "  BOLT: {tracking: lot, unit: pcs, erp: {}}\n",
        )
    )

    assert result.plant is None
    assert [d.message for d in result.diagnostics] == [
        "part 'BOLT' is missing the required key 'material'"
    ]
