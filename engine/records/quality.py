"""Tables that add to a nonconformance after it was opened: the CAPA it is handled under in the
site's quality management system, and photos of the defect. Both append-only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed
from engine.records.tables import NAME


class CapaLink(Base):
    """A nonconformance handled under a CAPA of the site's QMS (id and URL); a later link
    replaces an earlier one on the screen, both stay in the record."""

    __tablename__ = "capa_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonconformance_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    capa: Mapped[str] = mapped_column(String(NAME))
    url: Mapped[str] = mapped_column(Text)
    linked_by: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime] = mapped_column()

    __table_args__ = (sealed(APPEND_ONLY),)


class NonconformancePhoto(Base):
    """A photo of the defect, stored as an attachment (by the SHA-256 of its bytes)."""

    __tablename__ = "nonconformance_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonconformance_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id"), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("attachments.sha256"))
    added_by: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime] = mapped_column()

    __table_args__ = (sealed(APPEND_ONLY),)
