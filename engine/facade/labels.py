"""The labels facade: what a lot label, a unit's label and a work order's traveller say (see
:mod:`engine.queries.labels`), and what a scanned label names (see :mod:`engine.floor.gs1`).
Read-only: printing a label changes no record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.commands import versions
from engine.floor import gs1
from engine.infra.db import Database
from engine.infra.jsonable import Jsonable
from engine.infra.limits import check_names
from engine.queries import labels
from engine.queries.labels import Label, ScannedDelivery, Traveller


@dataclass(frozen=True, slots=True)
class Scanned(Jsonable):
    """A scan as the station uses it: the serial or lot it names (the scan itself when it is no
    GS1 element string), and the part and expiry a GS1 label carries too."""

    number: str
    gs1: bool
    part: str  # "" when the label names none Ferrule knows
    gtin: str
    expires_on: dt.date | None


class Labels:
    """Label and traveller content of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def lot_label(self, lot_id: int) -> Label:
        """See :func:`engine.queries.labels.lot_label` (by the active config)."""
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            return labels.lot_label(session, plant, lot_id)

    def item_label(self, number: str) -> Label:
        """See :func:`engine.queries.labels.item_label`."""
        check_names(item=number)
        with self.db.session() as session:
            return labels.item_label(
                session, lambda v: versions.plant_for_version(session, v), number
            )

    def traveller(self, work_order: str) -> Traveller:
        """See :func:`engine.queries.labels.traveller`."""
        check_names(work_order=work_order)
        with self.db.session() as session:
            return labels.traveller(
                session, lambda v: versions.plant_for_version(session, v), work_order
            )

    def scanned(self, text: str) -> Scanned:
        """What a scan names (see :func:`engine.floor.gs1.scanned_number`), with the part a GS1
        label names by its GTIN or product id; NotGs1 (Invalid) says what is wrong with a GS1
        scan that is not valid."""
        check_names(scan=text.replace(gs1.GS, " "))  # the separators are a scan's only controls
        if not gs1.looks_like_gs1(text):
            return Scanned(text, False, "", "", None)
        number = gs1.scanned_number(text)
        data = gs1.parse(text)
        part = labels.part_named(versions.active_plant(self.db)[1], data)
        return Scanned(number, True, part, data.gtin or "", data.expiry)

    def scanned_delivery(self, text: str) -> ScannedDelivery:
        """What a supplier's GS1 label fills in at goods-in (see
        :func:`engine.queries.labels.delivery`); NotGs1 (Invalid) when the scan is no valid GS1
        element string."""
        check_names(scan=text.replace(gs1.GS, " "))
        if not gs1.looks_like_gs1(text):
            raise gs1.NotGs1(
                f"'{text}' is not a GS1 label; scan the supplier's GS1 barcode, or type the part "
                "and the lot below."
            )
        return labels.delivery(versions.active_plant(self.db)[1], gs1.parse(text))
