"""The tools facade: every tool's life and calibration, a tool's card, the units made with a
tool (and holding them all), and the signed records of a tool: calibration, hold, release,
retire. The work is done in :mod:`engine.commands.tools` and :mod:`engine.queries.tools`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from engine.access.signatures import SignatureInput, Signer
from engine.commands import tools, versions
from engine.commands.bulk_hold import BULK_MAX, BulkHoldResult, hold_items
from engine.commands.calibration import CalibrationInput
from engine.commands.tools import ToolCalibrationInfo, ToolStatus
from engine.facade.production import Ferrule
from engine.floor.environment import site_today
from engine.infra.jsonable import Jsonable
from engine.infra.limits import check_names, check_texts
from engine.queries import tools as tool_queries
from engine.queries.tools import ToolUnits


@dataclass(frozen=True, slots=True)
class ToolCard(Jsonable):
    """A tool's page: its status, its type's description and intervals, its calibrations."""

    status: ToolStatus
    description: str
    warn_at: float
    calibration_every_days: int | None
    calibrations: tuple[ToolCalibrationInfo, ...]


class Tools(Ferrule):
    """Tools and fixtures, over the production facade's plumbing."""

    def tools(self) -> list[ToolStatus]:
        """Every declared tool, by type then id."""
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            return tools.all_tools(session, plant, site_today(plant, self.clock()))

    def tool(self, tool: str) -> ToolCard:
        """A tool's card; NotFound for an id the deployed config does not list."""
        check_names(tool=tool)
        with self.db.session() as session:
            target = tools.tool_target(session, tool)
            tool_type = target.tool_type
            today = site_today(target.plant, self.clock())
            return ToolCard(
                status=tools.tool_status(session, target.plant, tool, today),
                description=tool_type.description,
                warn_at=tool_type.warn_at,
                calibration_every_days=tool_type.calibration.every_days
                if tool_type.calibration
                else None,
                calibrations=tuple(tools.tool_calibrations(session, tool)),
            )

    def units_made_with(self, tool: str) -> ToolUnits:
        """The units and lots made with a tool (:func:`engine.queries.tools.units_made_with`)."""
        check_names(tool=tool)
        with self.db.session() as session:
            tools.tool_target(session, tool)
            return tool_queries.units_made_with(session, tool)

    def hold_units(
        self, *, actor: str, tool: str, reason: str, idempotency_key: str | None = None
    ) -> BulkHoldResult:
        """Hold the units and lots made with a tool that a hold applies to, the oldest
        :data:`~engine.commands.bulk_hold.BULK_MAX` at a time (none held when nothing was made
        with it, or everything made with it is on hold already)."""
        check_names(actor=actor, tool=tool)
        check_texts(reason=reason)

        def hold(session: Session, now: dt.datetime) -> BulkHoldResult:
            tools.tool_target(session, tool)
            made = tool_queries.units_made_with(session, tool, limit=None)
            numbers = list(dict.fromkeys(u.number for u in made.units if u.status != "on_hold"))
            if not numbers:
                return BulkHoldResult((), ())
            done = hold_items(
                session, numbers=numbers[:BULK_MAX], actor=actor, reason=reason, now=now,
                source=f"tool {tool}",
            )  # fmt: skip
            return replace(done, remaining=max(0, len(numbers) - BULK_MAX))

        return self.commands.run(
            "hold_tool_units",
            {"actor": actor, "tool": tool, "reason": reason},
            idempotency_key,
            hold,
            BulkHoldResult.from_json,
        )

    def change_status(
        self,
        *,
        actor: str,
        tool: str,
        action: str,
        reason: str,
        signature: SignatureInput,
        idempotency_key: str | None = None,
    ) -> ToolStatus:
        """Hold, release or retire a tool, signed (see
        :func:`engine.commands.tools.change_status`)."""
        check_names(actor=actor, tool=tool, action=action)
        check_texts(reason=reason)
        self.commands.check_signatures([signature])
        meaning = signature.meaning.strip()
        request = {"actor": actor, "tool": tool, "action": action, "reason": reason,
                   "signer": [signature.username, meaning]}  # fmt: skip

        def checked(session: Session, now: dt.datetime) -> None:
            tools.check_status_change(
                session, tool=tool, action=action, actor=actor, reason=reason,
                signer=signature.username, meaning=meaning, now=now,
            )  # fmt: skip

        def recorded(session: Session, now: dt.datetime, signers: tuple[Signer, ...]) -> ToolStatus:
            (signer,) = signers
            return tools.change_status(
                session, tool=tool, action=action, actor=actor, reason=reason, signer=signer,
                now=now,
            )  # fmt: skip

        return self.commands.signed(
            "tool_status", request, idempotency_key, check=checked,
            sign=lambda: self.commands.signers([signature], f"tool/{tool}/{action}"),
            fn=recorded, load=ToolStatus.from_json,
        )  # fmt: skip

    def record_calibration(
        self,
        *,
        actor: str,
        tool: str,
        given: CalibrationInput,
        signature: SignatureInput,
        idempotency_key: str | None = None,
    ) -> ToolCalibrationInfo:
        """A signed calibration of a tool (see
        :func:`engine.commands.tools.record_tool_calibration`)."""
        check_names(
            actor=actor, tool=tool, result=given.result, performed_by=given.performed_by,
            certificate=given.certificate, certificate_sha256=given.certificate_sha256,
        )  # fmt: skip
        check_texts(note=given.note)
        self.commands.check_signatures([signature])
        meaning = signature.meaning.strip()
        request = {
            "actor": actor,
            "tool": tool,
            "given": [
                given.result, given.performed_on.isoformat(), given.performed_by,
                given.certificate, given.certificate_sha256, dict(given.measured), given.note,
            ],
            "signer": [signature.username, meaning],
        }  # fmt: skip

        def checked(session: Session, now: dt.datetime) -> None:
            tools.check_tool_calibration(
                session, name=tool, actor=actor, given=given, signer=signature.username,
                meaning=meaning, now=now,
            )  # fmt: skip

        def recorded(
            session: Session, now: dt.datetime, signers: tuple[Signer, ...]
        ) -> ToolCalibrationInfo:
            (signer,) = signers
            return tools.record_tool_calibration(
                session, name=tool, actor=actor, given=given, signer=signer, now=now
            )

        return self.commands.signed(
            "tool_calibration", request, idempotency_key, check=checked,
            sign=lambda: self.commands.signers([signature], f"tool/{tool}/calibration"),
            fn=recorded, load=ToolCalibrationInfo.from_json,
        )  # fmt: skip
