"""The compiled record as a printable PDF (reportlab platypus): A4, every page headed with the
record, its status and its content hash, and footed with "Page x of y".

The text is set in Bitstream Vera, which reportlab ships, embedded as a subset (so Ω, ±, µ and ≥
print as they were recorded), and no other font is referenced; :func:`web.pdf_archive.as_pdf_a`
then adds the XMP metadata and the output intent that make it PDF/A-2b. Sections follow the
record view: the header, the review, the exceptions, then each operation, holds,
nonconformances and the audit trail. Table cells are plain lines broken to their column's width
(:func:`_fit`), which sets several times faster than a Paragraph each; only headings are
Paragraphs.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from engine.floor.record_content import BatchRecord, SignatureLine, Step
from web.pdf_archive import as_pdf_a

FONT, BOLD = "FerruleVera", "FerruleVera-Bold"
_FONTS = Path(reportlab.__file__).parent / "fonts"
pdfmetrics.registerFont(TTFont(FONT, str(_FONTS / "Vera.ttf")))
pdfmetrics.registerFont(TTFont(BOLD, str(_FONTS / "VeraBd.ttf")))

MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
BODY = ParagraphStyle("body", fontName=FONT, fontSize=8, leading=10)
CELL, PAD = 7, 3  # table text size and cell padding, points
H1 = ParagraphStyle("h1", parent=BODY, fontName=BOLD, fontSize=14, leading=18, spaceAfter=4)
H2 = ParagraphStyle(
    "h2", parent=BODY, fontName=BOLD, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4
)
H3 = ParagraphStyle("h3", parent=BODY, fontName=BOLD, fontSize=9, leading=12, spaceBefore=6)
GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), FONT, CELL, CELL + 1.5),
        ("FONT", (0, 0), (-1, 0), BOLD, CELL, CELL + 1.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf0")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
)
FAIL = colors.HexColor("#b42318")


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "—"


def _fit(text: str, width: float) -> str:
    """``text`` broken into lines no wider than ``width`` points (a word too long for a line,
    such as a hash or JSON, is cut), for a table cell: plain lines set far faster than a
    Paragraph."""
    if "\n" not in text and stringWidth(text, FONT, CELL) <= width:
        return text
    lines: list[str] = []
    for split in simpleSplit(text, FONT, CELL, width) or [""]:
        rest = split
        while stringWidth(rest, FONT, CELL) > width:
            cut = _longest_fit(rest, width)
            lines.append(rest[:cut])
            rest = rest[cut:]
        lines.append(rest)
    return "\n".join(lines)


def _longest_fit(line: str, width: float) -> int:
    """How many leading characters of ``line`` fit ``width`` (at least one)."""
    low, high = 1, len(line)
    while low < high:
        middle = (low + high + 1) // 2
        if stringWidth(line[:middle], FONT, CELL) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _table(
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    *,
    failed: Iterable[int] = (),
    style: Sequence[tuple[Any, ...]] = (),
    header: int = 1,
) -> Table:
    """A grid whose cells are fitted to ``widths`` (fractions of the text width); the first
    ``header`` rows repeat on every page, rows numbered in ``failed`` print in red."""
    points = [w * WIDTH for w in widths]
    fitted = [
        [_fit(cell, w - 2 * PAD) for cell, w in zip(row, points, strict=True)] for row in rows
    ]
    table = Table(fitted, colWidths=points, repeatRows=header)
    table.setStyle(GRID)
    extra = [*style, *(("TEXTCOLOR", (0, row), (-1, row), FAIL) for row in failed)]
    if extra:
        table.setStyle(TableStyle(extra))
    return table


class _NumberedCanvas(Canvas):
    """A canvas that holds its pages back until the end, to print "Page x of y" on each."""

    def __init__(self, *args: Any, heading: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heading = heading
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]

    def save(self) -> None:
        total = len(self._pages)
        for number, page in enumerate(self._pages, start=1):
            self.__dict__.update(page)
            self._frame(number, total)
            super().showPage()
        super().save()

    def _frame(self, number: int, total: int) -> None:
        width, height = A4
        self.setFont(FONT, 7)
        self.setFillColor(colors.HexColor("#3d4a57"))
        self.drawString(MARGIN, height - 10 * mm, self._heading)
        self.line(MARGIN, height - 11.5 * mm, width - MARGIN, height - 11.5 * mm)
        self.drawRightString(width - MARGIN, 8 * mm, f"Page {number} of {total}")


def render_pdf(record: BatchRecord, *, generated: dt.datetime) -> bytes:
    """The record as PDF bytes, ``generated`` printed on its first page."""
    header, review = record.header, record.review
    heading = (
        f"{header.title} {header.number} · {header.product} · {review.status} · "
        f"content SHA-256 {review.content_hash}"
    )
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=14 * mm,
        title=f"{header.title} {header.number}",
        author="Ferrule",
        subject=f"content SHA-256 {review.content_hash}",
        initialFontName=FONT,
    )
    story = [*_front(record, generated), *_steps(record.steps), *_tail(record)]
    document.build(
        story,
        canvasmaker=lambda *a, **k: _NumberedCanvas(*a, heading=heading, **k),
    )
    return as_pdf_a(
        buffer.getvalue(),
        title=f"{header.title} {header.number}",
        description=f"content SHA-256 {review.content_hash}",
        created=generated,
    )


def _front(record: BatchRecord, generated: dt.datetime) -> list[Flowable]:
    header, review = record.header, record.review
    facts = [
        ("Product", header.product),
        ("Quantity", f"{header.quantity:g}"),
        ("Work order", header.work_order),
        ("Routing", header.routing),
        ("Status", header.status.replace("_", " ")),
        ("Config versions", ", ".join(header.config_versions)),
        ("Created", _when(header.created_at)),
        ("Started", _when(header.started_at)),
        ("Completed", _when(header.completed_at)),
        ("Units / lots", ", ".join(f"{n} ({s})" for n, s in header.items.items())),
        ("Review", review.status),
        ("Content SHA-256", review.content_hash),
        ("Printed", f"{_when(generated)} UTC"),
    ]
    story: list[Flowable] = [
        Paragraph(escape(f"{header.title} {header.number}"), H1),
        _table(facts, (0.2, 0.8), header=0, style=[("FONT", (0, 0), (0, -1), BOLD, CELL)]),
        Paragraph("Review", H2),
    ]
    if review.history:
        rows = [("Action", "By", "At (UTC)", "Reason", "Content SHA-256", "Signatures")]
        rows += [
            (e.action, e.actor, _when(e.at), e.reason or "—", e.content_hash, _signed(e.signatures))
            for e in review.history
        ]
        story.append(_table(rows, (0.09, 0.09, 0.14, 0.2, 0.24, 0.24)))
    else:
        story.append(Paragraph("Not reviewed yet.", BODY))
    counted = f"Exceptions ({len(record.exceptions)}, {record.open_exceptions} open)"
    story.append(Paragraph(counted, H2))
    if record.exceptions:
        rows = [("Kind", "Unit / lot", "Operation", "At (UTC)", "What", "Acknowledged")]
        rows += [
            (
                e.kind.replace("_", " "),
                e.item,
                e.operation or "",
                _when(e.at),
                e.summary,
                f"{e.acknowledged_by}, {_when(e.acknowledged_at)}: {e.comment}"
                if e.acknowledged
                else "open",
            )
            for e in record.exceptions
        ]
        still_open = [row for row, e in enumerate(record.exceptions, 1) if not e.acknowledged]
        widths = (0.11, 0.12, 0.08, 0.13, 0.33, 0.23)
        story.append(_table(rows, widths, failed=still_open))
    else:
        story.append(Paragraph("None.", BODY))
    story.append(Paragraph(f"Operations ({len(record.steps)})", H2))
    return story


def _signed(signatures: Iterable[SignatureLine]) -> str:
    return "; ".join(
        f"{s.full_name} ({s.username}, {s.role}) “{s.meaning}” {_when(s.signed_at)}"
        + (" LATE" if s.late else "")
        for s in signatures
    )


STEP_WIDTHS = (0.25, 0.37, 0.2, 0.18)
STEP_STYLE = (
    ("SPAN", (0, 0), (-1, 0)),
    ("SPAN", (0, 1), (-1, 1)),
    ("FONT", (0, 0), (-1, 0), BOLD, 8.5),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#d5dde5")),
    ("FONT", (0, 1), (-1, 1), FONT, CELL),
    ("BACKGROUND", (0, 1), (-1, 1), colors.white),
    ("FONT", (0, 2), (-1, 2), BOLD, CELL),
    ("BACKGROUND", (0, 2), (-1, 2), colors.HexColor("#e8ecf0")),
)


def _steps(steps: Sequence[Step]) -> list[Flowable]:
    return [_step(number, step) for number, step in enumerate(steps, start=1)]


def _step(number: int, s: Step) -> Flowable:
    """One operation as one table: its title, who/when/where, then its data rows."""
    where = f" on {s.equipment}" if s.equipment else ""
    where += f" with tool {s.tool}" if s.tool else ""
    calibration = ""
    if s.calibration_due is not None:
        state = "ok" if s.calibration_ok else "OVERDUE"
        calibration = f", calibration due {s.calibration_due} ({state})"
    route = s.route + (f" to {s.route_operation}" if s.route_operation else "")
    reason = f": {s.route_reason}" if s.route_reason else ""
    who = (
        f"{s.operator}{where}{calibration} · {_when(s.started_at)} to {_when(s.completed_at)} "
        f"UTC · config v{s.config_version_id} · routed {route}{reason}"
    )
    title = f"{number}. {s.operation} — {s.title} · {s.item}"
    rows = [(title, "", "", ""), (who, "", "", ""), ("Data", "Value", "Limits", "Result")]
    failed: list[int] = []
    for v in s.values:
        unit = f" {v.unit}" if v.unit else ""
        low = f"{v.low:g}" if v.low is not None else ""
        high = f"{v.high:g}" if v.high is not None else ""
        limits = f"{low}–{high}{unit}" if low or high else ""
        if v.outcome == "fail":
            failed.append(len(rows))
        rows.append((v.label, v.value, limits, v.outcome or "—"))
    for c in s.captures:
        if c.quality != "good":
            failed.append(len(rows))
        rows.append((c.tag, c.value, f"captured, {c.quality}", _when(c.source_time)))
    for g in s.gates:
        if g.outcome == "fail":
            failed.append(len(rows))
        draw = f"draw {g.draw:g}" if g.draw is not None else ""
        rows.append(
            (
                f"gate {g.gate}",
                g.evidence,
                draw,
                g.outcome + ("" if g.sampled else " (not sampled)"),
            )
        )
    for m in s.materials:
        source = f"lot {m.lot}" if m.lot else f"unit {m.component}"
        rows.append((f"consumed {m.part}", source, f"{m.quantity:g} {m.unit}", ""))
    for sig in s.signatures:
        rows.append(("signature", _signed([sig]), "", "late" if sig.late else "on time"))
    shown = rows if len(rows) > 3 else rows[:2]
    return _table(shown, STEP_WIDTHS, failed=failed, style=STEP_STYLE, header=0)


def _tail(record: BatchRecord) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Holds", H2)]
    if record.holds:
        rows = [("Unit / lot", "Action", "Source", "By", "At (UTC)", "Reason")]
        rows += [(h.item, h.action, h.source, h.actor, _when(h.at), h.reason) for h in record.holds]
        story.append(_table(rows, (0.14, 0.08, 0.08, 0.1, 0.15, 0.45)))
    else:
        story.append(Paragraph("None.", BODY))
    story.append(Paragraph("Nonconformances", H2))
    if record.nonconformances:
        rows = [("#", "Unit / lot", "Defect", "Opened", "Disposition", "Signatures")]
        for n in record.nonconformances:
            opened = f"{n.opened_by}, {_when(n.opened_at)}" + (
                f" at {n.operation}" if n.operation else ""
            )
            decided = (
                f"{n.decision} by {n.decided_by}, {_when(n.decided_at)}: {n.decision_reason}"
                if n.decision
                else "open"
            )
            defect = f"{n.defect_code}: {n.description}"
            rows.append((str(n.id), n.item, defect, opened, decided, _signed(n.signatures)))
        story.append(_table(rows, (0.05, 0.13, 0.22, 0.17, 0.23, 0.2)))
    else:
        story.append(Paragraph("None.", BODY))
    story.append(Paragraph(f"Audit trail ({len(record.audit)} entries)", H2))
    audit_rows = [("#", "At (UTC)", "Who", "Action", "On", "Change", "Reason")]
    audit_rows += [
        (
            str(a.seq),
            _when(a.at),
            a.actor,
            a.action,
            f"{a.entity} {a.entity_id}",
            a.new.replace(',"', ', "'),
            a.reason,
        )
        for a in record.audit
    ]
    story.append(_table(audit_rows, (0.05, 0.13, 0.07, 0.08, 0.15, 0.37, 0.15)))
    story.append(Spacer(1, 6))
    end = f"End of record. Content SHA-256 {record.review.content_hash}."
    story.append(Paragraph(escape(end), BODY))
    return story
