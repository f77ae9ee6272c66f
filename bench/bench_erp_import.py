"""Importing ERP production schedules: B2MML documents through the ERP facade into released
work orders, on the acme-harness plant.

Each timed document is a ``ProductionSchedule`` of 20 ``ProductionRequest`` s (three segment
requirements each, as ERP exports write them) for 1-10 harnesses each: about 110 units a
document. One import is one transaction: the hardened parse (defusedxml), the mapping of the ERP
material, the idempotency look-up, the creation and release of every work order with its units
and audit rows. Then the same documents again (nothing new: the idempotent path). SQLite with
WAL, in a temporary folder.
Last line: ``erp_import_orders_per_s: <orders imported per second>``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import update

from dsl.loader import read_folder
from engine.access import people
from engine.commands import versions
from engine.facade.erp import Erp
from engine.infra.db import Database
from engine.records.tables import User

ACME = Path(__file__).resolve().parents[1] / "plants" / "acme-harness"
DOCUMENTS = 25
REQUESTS = 20

REQUEST = """\
  <ProductionRequest>
    <ID>{order}</ID>
    <Description>Engine harness, customer order {order}</Description>
    <EndTime>2026-12-{day:02d}T14:00:00Z</EndTime>
    <Priority>{priority}</Priority>
    <SegmentRequirement><ID>0010</ID><ProcessSegmentID>CUT</ProcessSegmentID></SegmentRequirement>
    <SegmentRequirement><ID>0020</ID><ProcessSegmentID>CRIMP</ProcessSegmentID></SegmentRequirement>
    <SegmentRequirement>
      <ID>0030</ID>
      <ProcessSegmentID>TEST</ProcessSegmentID>
      <MaterialProducedRequirement>
        <MaterialDefinitionID>4711-HA100</MaterialDefinitionID>
        <Quantity>
          <QuantityString>{quantity}</QuantityString>
          <DataType>decimal</DataType>
          <UnitOfMeasure>EA</UnitOfMeasure>
        </Quantity>
      </MaterialProducedRequirement>
    </SegmentRequirement>
  </ProductionRequest>
"""


def schedule(number: int) -> bytes:
    """Schedule ``number``: :data:`REQUESTS` requests with their own ERP order ids."""
    requests = "".join(
        REQUEST.format(
            order=f"{1_000_000 + number * REQUESTS + index}",
            day=1 + index % 28,
            priority=1 + index % 9,
            quantity=1 + (number + index) % 10,
        )
        for index in range(REQUESTS)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ProductionSchedule xmlns="http://www.mesa.org/xml/B2MML">\n'
        f"  <ID>PS-{number:04d}</ID>\n{requests}</ProductionSchedule>\n"
    ).encode()


def setup(db: Database) -> Erp:
    """acme-harness deployed and a supervisor."""
    db.create_all()
    files, _ = read_folder(ACME)
    versions.deploy(db, files, actor="bench")
    with db.transaction() as session:
        people.create_user(session, "sam", actor="bench")
        people.grant_role(session, "sam", "supervisor", actor="bench")
        session.execute(update(User).values(password_hash="x"))
    return Erp(db)


def import_times(erp: Erp, documents: list[bytes]) -> list[float]:
    """Seconds per document."""
    times: list[float] = []
    for document in documents:
        began = time.perf_counter()
        erp.import_b2mml(document, actor="sam", source="bench")
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    documents = [schedule(n) for n in range(DOCUMENTS)]
    with tempfile.TemporaryDirectory() as folder:
        db = Database.from_url(f"sqlite:///{Path(folder) / 'bench.db'}")
        erp = setup(db)
        first = import_times(erp, documents)
        again = import_times(erp, documents)
        db.dispose()
    orders = DOCUMENTS * REQUESTS
    print(f"documents: {DOCUMENTS} of {REQUESTS} requests, {len(documents[0]):,} bytes each")
    print(
        f"import: median {statistics.median(first) * 1000:.1f} ms a document; "
        f"again (nothing new): median {statistics.median(again) * 1000:.1f} ms"
    )
    print(f"erp_import_orders_per_s: {orders / sum(first):.1f}")


if __name__ == "__main__":
    main()
