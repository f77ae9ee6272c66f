"""``ferrule historian``: the tag historian process, one per site; and ``ferrule history export``.

The process records the tags the deployed plant declares with ``history`` from the shared tag
cache that the adapter process writes and the web app reads (:class:`web.tags.CacheTagSource`),
through :class:`engine.facade.historian.Recorder`, until SIGTERM or Ctrl-C; it picks up a newly
deployed config by itself. This module is where the two meet: the engine does not import the
adapters.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from pathlib import Path

import click

from engine.errors import DomainError
from engine.facade.historian import FlushResult, Historian, Recorder
from engine.infra.db import Database
from web.history_export import FORMATS, csv_chunks, parquet_bytes
from web.settings import Settings
from web.tags import CacheTagSource


class _Reporter:
    """Says once when writing starts failing and once when it works again."""

    def __init__(self) -> None:
        self.failing = False

    def __call__(self, result: FlushResult) -> None:
        if result.problem and not self.failing:
            click.echo(f"ferrule historian: {result.problem}; retrying", err=True)
        elif not result.problem and self.failing:
            click.echo("ferrule historian: writing again", err=True)
        self.failing = bool(result.problem)


@click.command("historian")
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The tag cache the adapter process writes; default FERRULE_TAG_CACHE.",
)
def historian_command(cache_path: Path | None) -> None:
    """Record the deployed plant's historised tags from the tag cache until stopped."""
    settings = Settings.from_env()
    db = Database.from_url(settings.database_url)
    source = CacheTagSource(cache_path or settings.tag_cache)
    recorder = Recorder(db, source)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        recorder.load_config()
        click.echo(f"ferrule historian: recording {len(recorder.specs)} tags into {db.url}")
        recorder.run(stop, on_flush=_Reporter())
    except KeyboardInterrupt:
        stop.set()
        recorder.flush()
    finally:
        signal.signal(signal.SIGTERM, previous)
        db.dispose()


def _moment(text: str | None, name: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise click.BadParameter(
            f"{text!r} is not a time with its zone; write it like 2026-11-30T14:00:00Z",
            param_hint=name,
        )
    return moment


@click.group("history")
def history_group() -> None:
    """Values the tag historian recorded."""


@history_group.command("export")
@click.argument("tag")
@click.option("--from", "start", help="Start, with its zone (default: a day before --to).")
@click.option("--to", "end", help="End, with its zone, excluded (default: now).")
@click.option("--format", "chosen", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: CSV to standard output).",
)
def export_command(
    tag: str, start: str | None, end: str | None, chosen: str, output: Path | None
) -> None:
    """Export TAG's stored values (device.tag) as CSV or Parquet."""
    if chosen == "parquet" and output is None:
        raise click.UsageError("Parquet is binary: give --output FILE.")
    settings = Settings.from_env()
    db = Database.from_url(settings.database_url)
    try:
        points = Historian(db).export(tag, _moment(start, "--from"), _moment(end, "--to"))
        if chosen == "parquet":
            assert output is not None
            output.write_bytes(parquet_bytes(points, tag))
        elif output is not None:
            with output.open("w", encoding="utf-8", newline="") as handle:
                handle.writelines(csv_chunks(points))
        else:
            sys.stdout.writelines(csv_chunks(points))
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        db.dispose()
