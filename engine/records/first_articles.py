"""First-article approvals: quality's signed acceptance of the first unit a work order made at
an operation that asks for one (``first_article: true``). Append-only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed
from engine.records.tables import NAME


class FirstArticleApproval(Base):
    """Unit ``item_id`` was inspected as the first article of its work order at ``operation``
    and approved (or rejected) by quality; the signature is bound to this row."""

    __tablename__ = "first_article_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    operation: Mapped[str] = mapped_column(String(NAME))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    approved: Mapped[bool] = mapped_column()
    note: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[dt.datetime] = mapped_column()
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (
        UniqueConstraint("work_order_id", "operation", "item_id", name="uq_first_article_item"),
        sealed(APPEND_ONLY),
    )
