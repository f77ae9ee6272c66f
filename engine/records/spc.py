"""Tables of statistical process control: what was charted, the limits, the points, the signals
and their acknowledgements. All append-only: a chart is keyed (``chart``) by
``routing/operation/source/kind``, with ``/n`` for subgroups of n; its limits, once computed from
the baseline, are a row of their own, and a signal is acknowledged by a row pointing at it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, Base, sealed
from engine.records.tables import NAME

SPC_ACTIONS = ("notify", "hold", "hold-equipment", "nc", "block")


class SpcObservation(Base):
    """One value recorded for a chart at a completion: a measurement or a count (``size``: the
    items or inspection units it was counted on)."""

    __tablename__ = "spc_observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chart: Mapped[str] = mapped_column(String(NAME))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("operation_runs.id"))
    value: Mapped[float] = mapped_column(Float)
    size: Mapped[float] = mapped_column(Float)
    at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (Index("ix_spc_observations_chart", "chart", "id"), sealed(APPEND_ONLY))


class SpcLimits(Base):
    """Control limits computed when a chart's baseline (its first ``points`` subgroups) was
    complete: the center, the mean spread (R̄, s̄ or MR̄) and the process sigma."""

    __tablename__ = "spc_limits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chart: Mapped[str] = mapped_column(String(NAME))
    kind: Mapped[str] = mapped_column(String(10))
    subgroup: Mapped[int] = mapped_column(Integer)
    center: Mapped[float] = mapped_column(Float)
    spread: Mapped[float] = mapped_column(Float)
    sigma: Mapped[float] = mapped_column(Float)
    points: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (Index("ix_spc_limits_chart", "chart"), sealed(APPEND_ONLY))


class SpcPoint(Base):
    """A plotted point: its value and spread, the limits it was judged by (none while the
    baseline is being collected) and its distance from the center in sigmas; the item whose
    completion closed it."""

    __tablename__ = "spc_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chart: Mapped[str] = mapped_column(String(NAME))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("operation_runs.id"))
    observation_id: Mapped[int] = mapped_column(ForeignKey("spc_observations.id"))
    """The last observation of its subgroup: later ones belong to the next point."""
    value: Mapped[float] = mapped_column(Float)
    spread: Mapped[float | None] = mapped_column(Float)
    size: Mapped[float] = mapped_column(Float)
    center: Mapped[float | None] = mapped_column(Float)
    lcl: Mapped[float | None] = mapped_column(Float)
    ucl: Mapped[float | None] = mapped_column(Float)
    sigma: Mapped[float | None] = mapped_column(Float)
    z: Mapped[float | None] = mapped_column(Float)
    at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (Index("ix_spc_points_chart", "chart", "id"), sealed(APPEND_ONLY))


class SpcSignal(Base):
    """A run rule broken at a point, and the reaction the plant declared for it."""

    __tablename__ = "spc_signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("spc_points.id"))
    chart: Mapped[str] = mapped_column(String(NAME))
    routing: Mapped[str] = mapped_column(String(NAME))
    operation: Mapped[str] = mapped_column(String(NAME))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    rule: Mapped[str] = mapped_column(String(20))
    on_chart: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime]
    config_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))

    __table_args__ = (
        CheckConstraint(f"action IN ({', '.join(repr(a) for a in SPC_ACTIONS)})", name="action"),
        CheckConstraint("on_chart IN ('location', 'dispersion')", name="on_chart"),
        Index("ix_spc_signals_operation", "routing", "operation", "action"),
        Index("ix_spc_signals_item", "item_id"),
        Index("ix_spc_signals_chart", "chart"),
        sealed(APPEND_ONLY),
    )


class SpcAcknowledgement(Base):
    """A quality user's acknowledgement of a signal, with what was done about it."""

    __tablename__ = "spc_acknowledgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("spc_signals.id"), unique=True)
    actor: Mapped[str] = mapped_column(String(NAME))
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime]

    __table_args__ = (sealed(APPEND_ONLY),)
