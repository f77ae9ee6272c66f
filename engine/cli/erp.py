"""``ferrule erp watch DIR``: import the ERP's production orders dropped into a folder.

Every ``*.xml`` (B2MML) or ``*.json`` file in DIR is imported as one document, oldest first.
An imported file moves to ``DIR/done/``; a refused one to ``DIR/failed/``, with
``<name>.errors.txt`` next to it listing every problem, one a line. The ERP should write each
file under a name starting with ``.`` (or any other suffix) and rename it when complete, so a half
written file is never read. When the database cannot be reached, files stay where they are and
are tried again on the next round.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.cli.records import by_option, database_option
from engine.errors import DomainError
from engine.facade.erp import Erp
from engine.floor.b2mml import MAX_DOCUMENT_BYTES, DocumentRefused
from engine.infra.db import Database

DONE, FAILED = "done", "failed"
SUFFIXES = (".xml", ".json")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one file: where it was moved and what to tell the person watching."""

    file: str
    moved_to: Path
    summary: str
    problems: tuple[str, ...] = ()


def waiting_files(folder: Path) -> list[Path]:
    """The documents waiting in ``folder``, oldest first."""
    found = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def _import(erp: Erp, path: Path, actor: str) -> str:
    """Import one file; returns a one-line summary (raises what the import refuses)."""
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(
            f"The document ({path.name})",
            [f"It is larger than {MAX_DOCUMENT_BYTES:,} bytes; split it into several files."],
        )
    data = path.read_bytes()
    if path.suffix.lower() == ".json":
        try:
            parsed = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DocumentRefused(
                f"The document ({path.name})", [f"Not valid JSON: {error}."]
            ) from None
        if not isinstance(parsed, dict):
            raise DocumentRefused(
                f"The document ({path.name})", ['Expected an object like {"orders": [...]}.']
            )
        result = erp.import_json(parsed, actor=actor, source=path.name)
    else:
        result = erp.import_b2mml(data, actor=actor, source=path.name)
    orders = ", ".join(f"{o.erp_order} → {o.work_order}" for o in result.orders)
    return f"{result.created} new of {len(result.orders)} orders ({orders})"


def _move(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` under a name not yet taken there."""
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    count = 1
    while target.exists():
        target = folder / f"{path.stem}.{count}{path.suffix}"
        count += 1
    return path.rename(target)


def process_file(erp: Erp, path: Path, actor: str) -> Outcome:
    """Import ``path`` and move it to done/ or (with its .errors.txt) to failed/.

    A database that cannot be reached leaves the file where it is (SQLAlchemyError)."""
    try:
        summary = _import(erp, path, actor)
    except DocumentRefused as refused:
        problems: tuple[str, ...] = refused.problems
    except DomainError as error:
        problems = (error.message,)
    else:
        return Outcome(path.name, _move(path, path.parent / DONE), summary)
    moved = _move(path, path.parent / FAILED)
    moved.with_name(moved.name + ".errors.txt").write_text("\n".join(problems) + "\n")
    return Outcome(path.name, moved, f"refused: {len(problems)} problem(s)", problems)


def process_folder(erp: Erp, folder: Path, actor: str) -> Sequence[Outcome]:
    """One round over ``folder``."""
    return [process_file(erp, path, actor) for path in waiting_files(folder)]


@click.group("erp")
def erp_group() -> None:
    """Production orders from the ERP (B2MML or JSON)."""


@erp_group.command("watch")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--once", is_flag=True, help="Import what is there now, then stop.")
@click.option("--every", default=2.0, show_default=True, help="Seconds between rounds.")
@by_option
@database_option
def watch_command(folder: Path, once: bool, every: float, actor: str, database_url: str) -> None:
    """Import the orders dropped into FOLDER; done/ and failed/ (with .errors.txt) get them."""
    db = Database.from_url(database_url)
    erp = Erp(db)
    try:
        while True:
            try:
                outcomes = process_folder(erp, folder, actor)
            except SQLAlchemyError as error:
                click.echo(f"error: the database cannot be reached ({error}); retrying", err=True)
                outcomes = []
            for outcome in outcomes:
                click.echo(f"{outcome.file}: {outcome.summary}")
                for problem in outcome.problems:
                    click.echo(f"  {problem}")
            if once:
                return
            time.sleep(every)
    finally:
        db.dispose()
