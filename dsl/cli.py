"""``ferrule check`` and ``ferrule schema``: the plant language on the command line."""

from __future__ import annotations

import json
from typing import Literal

import click

from dsl.loader import LoadResult, load
from dsl.model import Plant
from dsl.schema import json_schema


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def plant_summary(plant: Plant) -> dict[str, object]:
    """What a plant holds, counted."""
    return {
        "site": plant.site.name,
        "devices": len(plant.devices),
        "tags": len(plant.all_tags()),
        "equipment": len(plant.equipment),
        "routings": len(plant.routings),
        "operations": sum(len(r.operations) for r in plant.routings.values()),
        "content_hash": plant.content_hash,
    }


def summary_line(label: str, result: LoadResult) -> str:
    """``plants/x: 2 errors, 1 warning``, or a short description of a plant that loaded."""
    warnings = _count(len(result.warnings), "warning")
    if result.plant is None:
        return f"{label}: {_count(len(result.errors), 'error')}, {warnings}"
    plant = result.plant
    operations = sum(len(r.operations) for r in plant.routings.values())
    text = (
        f"{label}: ok, site {plant.site.name}: {_count(len(plant.devices), 'device')}, "
        f"{_count(len(plant.all_tags()), 'tag')}, {len(plant.equipment)} equipment, "
        f"{_count(len(plant.routings), 'routing')}, {_count(operations, 'operation')}"
    )
    return f"{text}; {warnings}" if result.warnings else text


def secrets_note(names: tuple[str, ...]) -> str:
    """What ``ferrule check`` could not check without the site secrets folder."""
    listed = ", ".join(names)
    return (
        f"note: {_count(len(names), 'secret file')} not checked ({listed}): "
        "give --secrets DIR to check that the site secrets folder has them"
    )


@click.command("check")
@click.argument("plant_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--secrets",
    "secrets_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="The site secrets folder: check that the certificates and keys the devices name are "
    "in it (and keys readable by their owner only).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for editors and CI.",
)
@click.pass_context
def check_command(
    ctx: click.Context, plant_dir: str, secrets_dir: str | None, output: Literal["text", "json"]
) -> None:
    """Check the plant in PLANT_DIR and report every mistake at once.

    Exits 0 when the plant is valid (warnings allowed) and 1 when it has errors. The certificates
    and keys its devices name are checked only with --secrets.
    """
    label = plant_dir.rstrip("/") or plant_dir
    result = load(label, secrets_dir=secrets_dir)
    notes = [secrets_note(result.unchecked_secrets)] if result.unchecked_secrets else []
    if output == "json":
        document = {
            "plant": label,
            "ok": result.plant is not None,
            "errors": len(result.errors),
            "warnings": len(result.warnings),
            "diagnostics": [d.to_json() for d in result.diagnostics],
            "notes": [note.removeprefix("note: ") for note in notes],
            "summary": plant_summary(result.plant) if result.plant is not None else None,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        for diagnostic in result.diagnostics:
            click.echo(diagnostic.render(result.sources))
        for note in notes:
            click.echo(note)
        click.echo(summary_line(label, result))
    ctx.exit(0 if result.plant is not None else 1)


@click.command("schema")
@click.argument("kind", type=click.Choice(["plant", "routing"]), default="plant")
def schema_command(kind: Literal["plant", "routing"]) -> None:
    """Print the JSON Schema of plant files (KIND=plant, the default) or routing files.

    Point your editor's YAML extension at it to get completion and checking while you type.
    """
    click.echo(json.dumps(json_schema(kind), indent=2, ensure_ascii=False))
