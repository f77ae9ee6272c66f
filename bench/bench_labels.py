"""Labels and travellers: how fast a lot label renders as PDF, SVG and ZPL, how fast the station
parses a scanned GS1 string, and how long the traveller of a 500-unit work order takes to render
(500 GS1-128 barcodes over a dozen pages), which is what printing one costs.

Content is built the way :mod:`engine.queries.labels` builds it, without a database: the figures
are the rendering and parsing, not the reads. Each figure is the median of ``ROUNDS`` rounds.
Last line: ``traveller_500_units_pdf_s: <seconds>``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.floor import gs1
from engine.queries.labels import Label, Traveller, TravellerStep
from web.labels import label_pdf, label_svg, label_zpl, traveller_pdf

ROUNDS = 5
LABELS = 200
SCANS = 20_000
UNITS = 500


def _label(number: str, serial: bool) -> Label:
    elements = [gs1.Element("01", "04012345000108"), gs1.Element("21" if serial else "10", number)]
    if not serial:
        elements.append(gs1.Element("17", gs1.yymmdd(dt.date(2028, 11, 30))))
    return Label(
        kind="unit" if serial else "lot",
        part="HA-100",
        description="Engine harness HA-100",
        number=number,
        quantity=1.0,
        unit="pcs",
        expires_on=None if serial else dt.date(2028, 11, 30),
        gtin="04012345000108",
        barcode=gs1.encode(elements),
        printed=gs1.human_readable(elements),
    )


def _median(work: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    labels = [_label(f"L-2611-{i:05d}", serial=False) for i in range(LABELS)]
    for name, render in (("pdf", label_pdf), ("svg", label_svg), ("zpl", label_zpl)):
        seconds = _median(lambda render=render: [render(label) for label in labels])
        print(f"label_{name}_per_s: {LABELS / seconds:.0f}")
    scans = ["]C1" + label.barcode for label in labels] * (SCANS // LABELS)
    seconds = _median(lambda: [gs1.scanned_number(scan) for scan in scans])
    print(f"gs1_scans_parsed_per_s: {len(scans) / seconds:.0f}")
    steps = tuple(
        TravellerStep(f"op-{i}", f"Operation {i}", "line-1", "", ("value",), ()) for i in range(6)
    )
    traveller = Traveller(
        work_order="WO-000001",
        product="HA-100",
        description="Engine harness HA-100",
        quantity=float(UNITS),
        unit="pcs",
        status="released",
        routing="harness-a",
        config_version_id=1,
        steps=steps,
        labels=tuple(_label(f"HA2611-{i:05d}", serial=True) for i in range(UNITS)),
    )
    seconds = _median(lambda: traveller_pdf(traveller))
    print(f"traveller_500_units_pdf_s: {seconds:.2f}")


if __name__ == "__main__":
    main()
