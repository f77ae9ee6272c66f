"""Labels and travellers: a received lot's label and a unit's or made lot's label as PDF and SVG
(for any printer) and ZPL (for thermal label printers), and a work order's traveller (move
ticket) as PDF. What they say and what their barcodes carry is the engine's
(:mod:`engine.queries.labels`); this module only draws it.

A label's barcode is GS1-128 or, with ``?symbol=datamatrix``, a GS1 DataMatrix; both start
with FNC1 and end each variable-length field but the last with FNC1, so the station's scanner
reads the part, lot, expiry and serial back (:mod:`engine.floor.gs1`). reportlab draws the
GS1-128 (its Code 128 widget writes FNC1 as ``\\xf1``) and makes the PDF and the SVG from one
drawing; the DataMatrix's modules come from zxing-cpp's writer (GS1 mode: ECC 200, FNC1 first,
read back as ``]d2``), since reportlab's DataMatrix cannot write FNC1. ZPL is written here,
with the printer drawing the barcode itself (``^BC`` with FNC1 as ``>8``, or ``^BX`` with FNC1
as the escape sequence `` `1``). A traveller's barcodes are GS1-128.
"""

from __future__ import annotations

import io

import zxingcpp
from flask import Blueprint, Response, request
from reportlab.graphics import renderPDF, renderSVG
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.widgets import BarcodeCode128
from reportlab.graphics.shapes import Drawing, Group, Rect, String, UserNode
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dsl.units import format_number
from engine.queries.labels import Label, Traveller
from web.auth import requires
from web.errors import BadRequest
from web.openapi import api_route
from web.schemas import Response as Doc
from web.schemas import ref
from web.services import services

bp = Blueprint("labels", __name__)
api_bp = Blueprint("labels_api", __name__, url_prefix="/api")

PRINTERS = ("operator", "stores", "supervisor", "quality", "engineer", "admin")
FORMATS = "<any(pdf, svg, zpl):fmt>"
MEDIA_TYPES = {"pdf": "application/pdf", "svg": "image/svg+xml", "zpl": "application/zpl"}

FNC1 = "\xf1"  # how reportlab's Code 128 widget takes FNC1
GS = "\x1d"  # how the engine writes it (as a scanner sends it)
LABEL_WIDTH, LABEL_HEIGHT = 100 * mm, 60 * mm
MARGIN = 4 * mm
BAR_HEIGHT = 16 * mm
MAX_MODULE = 0.33 * mm  # narrowest bar: 0.25-0.33 mm suits a 203 dpi printer and any scanner
ZPL_DOTS_PER_MM = 8  # 203 dpi
SYMBOLS = ("gs1-128", "datamatrix")
DATAMATRIX_SIDE = 20 * mm  # the symbol's side on a PDF or SVG label
ZPL_MODULE_DOTS = 6  # a DataMatrix module on a 203 dpi printer: 0.75 mm
ZPL_ESCAPE = "`"  # ^BX's escape character: never in GS1 data (character set 82)


# ---------------------------------------------------------------- drawing


def code128(element_string: str, width: float) -> tuple[str, float]:
    """The Code 128 value of a GS1 element string (FNC1 first and for each GS) and the module
    width that fits it in ``width`` (at most :data:`MAX_MODULE`)."""
    value = FNC1 + element_string.replace(GS, FNC1)
    modules = float(Code128(value, barWidth=1, quiet=0).width)  # encodes, draws nothing
    return value, min(MAX_MODULE, width / modules)


def barcode(element_string: str, x: float, y: float, width: float, height: float) -> UserNode:
    """A GS1-128 barcode of ``element_string`` (FNC1 written as GS) at (x, y) in a drawing, at
    most ``width`` wide without its quiet zones (the label's margins keep them clear)."""
    value, module = code128(element_string, width)
    widget = BarcodeCode128(
        value=value,
        barWidth=module,
        barHeight=height,
        humanReadable=False,
        quiet=False,
        x=x,
        y=y,
    )
    return widget


def datamatrix_modules(label: Label) -> list[list[bool]]:
    """The modules of a square GS1 DataMatrix of a label's elements, row by row (True: dark),
    as zxing-cpp's writer encodes it (AIs in square brackets: lot numbers may hold round ones)."""
    bracketed = "".join(f"[{e.ai}]{e.value}" for e in label.elements)
    symbol = zxingcpp.create_barcode(
        bracketed, zxingcpp.BarcodeFormat.DataMatrix, gs1=True, forceSquare=True
    )
    image = zxingcpp.write_barcode_to_image(symbol, add_quiet_zones=False)
    rows, columns = image.shape[:2]
    # one byte a module, 0 dark and 255 light (Image exports a buffer; its stub does not say so)
    pixels = memoryview(image).tobytes()  # type: ignore[arg-type]
    return [[pixels[r * columns + c] < 128 for c in range(columns)] for r in range(rows)]


def datamatrix(label: Label, x: float, y: float, side: float) -> Group:
    """A label's GS1 DataMatrix with its lower left corner at (x, y), ``side`` square; each run
    of dark modules in a row is one rectangle."""
    modules = datamatrix_modules(label)
    size = side / len(modules)
    group = Group()
    for index, row in enumerate(modules):
        top = y + side - (index + 1) * size
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            run = next((i for i in range(column, len(row)) if not row[i]), len(row)) - column
            bar = Rect(x + column * size, top, run * size, size)
            bar.fillColor, bar.strokeColor, bar.strokeWidth = colors.black, None, 0
            group.add(bar)
            column += run
    return group


def _number_caption(label: Label) -> str:
    return ("Serial " if label.kind == "unit" else "Lot ") + label.number


def label_lines(label: Label) -> list[str]:
    """The text of a label, top to bottom (the same on every format)."""
    lines = [label.description or label.part, f"{label.part}  ·  {_number_caption(label)}"]
    amount = f"Qty {format_number(label.quantity)} {label.unit}"
    expiry = f"  ·  Use by {label.expires_on.isoformat()}" if label.expires_on else ""
    lines.append(amount + expiry)
    return lines


def label_drawing(label: Label, symbol: str = "gs1-128") -> Drawing:
    """A label as one drawing, from which the PDF and the SVG are made; ``symbol`` is one of
    :data:`SYMBOLS`."""
    drawing = Drawing(LABEL_WIDTH, LABEL_HEIGHT)
    top = LABEL_HEIGHT - MARGIN - 10
    for index, line in enumerate(label_lines(label)):
        size = 11 if index == 0 else 9
        font = "Helvetica-Bold" if index == 0 else "Helvetica"
        drawing.add(String(MARGIN, top - index * 13, line, fontName=font, fontSize=size))
    if symbol == "datamatrix":
        drawing.add(datamatrix(label, MARGIN, MARGIN + 10, DATAMATRIX_SIDE))
    else:
        width = LABEL_WIDTH - 2 * MARGIN
        drawing.add(barcode(label.barcode, MARGIN, MARGIN + 10, width, BAR_HEIGHT))
    drawing.add(String(MARGIN, MARGIN, label.printed, fontName="Courier", fontSize=7))
    return drawing


def label_pdf(label: Label, symbol: str = "gs1-128") -> bytes:
    out = io.BytesIO()
    renderPDF.drawToFile(label_drawing(label, symbol), out, title=_number_caption(label))
    return out.getvalue()


def label_svg(label: Label, symbol: str = "gs1-128") -> bytes:
    out = io.StringIO()
    renderSVG.drawToFile(label_drawing(label, symbol), out)
    return out.getvalue().encode()


# ---------------------------------------------------------------- ZPL


def zpl_field_text(text: str) -> str:
    """Field data with ZPL's command characters hex-escaped (the field carries ``^FH``)."""
    return "".join(f"_{ord(c):02X}" if c in "^~_" else c for c in text)


def zpl_barcode_data(element_string: str) -> str:
    """The ``^BC`` field data of a GS1-128 barcode: start in code set B, FNC1, the data with
    each separator as FNC1 (``>8``) and a literal ``>`` as ``><``."""
    return ">:>8" + element_string.replace(">", "><").replace(GS, ">8")


def zpl_datamatrix_data(element_string: str) -> str:
    """The ``^BX`` field data of a GS1 DataMatrix: FNC1 first and for each separator, written as
    the escape sequence :data:`ZPL_ESCAPE` + ``1`` (GS1 data holds no ``^``, ``~`` or escape)."""
    fnc1 = ZPL_ESCAPE + "1"
    return fnc1 + element_string.replace(GS, fnc1)


def _zpl_symbol(label: Label, symbol: str, left: int, top: int) -> str:
    if symbol == "datamatrix":
        return (
            f"^FO{left},{top}^BXN,{ZPL_MODULE_DOTS},200,0,0,6,{ZPL_ESCAPE},1^FD"
            f"{zpl_datamatrix_data(label.barcode)}^FS"
        )
    return (
        f"^FO{left},{top}^BY2^BCN,{16 * ZPL_DOTS_PER_MM},N,N,N^FH^FD"
        f"{zpl_field_text(zpl_barcode_data(label.barcode))}^FS"
    )


def label_zpl(label: Label, symbol: str = "gs1-128") -> bytes:
    """A label for a 203 dpi thermal printer, 100 x 60 mm, in UTF-8 (``^CI28``)."""
    dots = ZPL_DOTS_PER_MM
    left = 4 * dots
    fields = [
        f"^FO{left},{4 * dots}^A0N,34,34^FH^FD{zpl_field_text(label_lines(label)[0])}^FS",
        *(
            f"^FO{left},{(10 + 5 * i) * dots}^A0N,26,26^FH^FD{zpl_field_text(line)}^FS"
            for i, line in enumerate(label_lines(label)[1:])
        ),
        _zpl_symbol(label, symbol, left, 22 * dots),
        f"^FO{left},{52 * dots}^A0N,22,22^FH^FD{zpl_field_text(label.printed)}^FS",
    ]
    head = f"^XA^CI28^PW{100 * dots}^LL{60 * dots}"
    return "\n".join([head, *fields, "^XZ", ""]).encode()


RENDERERS = {"pdf": label_pdf, "svg": label_svg, "zpl": label_zpl}


# ---------------------------------------------------------------- traveller


def _barcode_cell(label: Label, width: float, style: ParagraphStyle) -> list[Flowable]:
    """A unit's or lot's barcode with its data beneath, for the traveller (drawn straight on the
    page: a traveller has hundreds)."""
    value, module = code128(label.barcode, width)
    bars = Code128(value, barWidth=module, barHeight=9 * mm, quiet=0)
    return [bars, Paragraph(_escape(label.printed), style)]


def traveller_pdf(traveller: Traveller) -> bytes:
    """A work order's traveller: its header, its operations in order with room to sign them
    off by hand, and a barcode per unit or lot."""
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"Traveller {traveller.work_order}",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    quantity = f"{format_number(traveller.quantity)} {traveller.unit}"
    story: list[Flowable] = [
        Paragraph(f"Traveller {_escape(traveller.work_order)}", styles["Title"]),
        Paragraph(
            f"{_escape(traveller.product)} — {_escape(traveller.description)}; {quantity}; "
            f"routing {_escape(traveller.routing)} (config version "
            f"{traveller.config_version_id}); status {_escape(traveller.status)}",
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
        _steps_table(traveller),
        Spacer(1, 6 * mm),
        Paragraph("Units and lots", styles["Heading2"]),
    ]
    width = (A4[0] - 30 * mm) / 2 - 6 * mm
    small = ParagraphStyle("barcode text", fontName="Courier", fontSize=7, leading=9)
    cells = [_barcode_cell(label, width, small) for label in traveller.labels]
    rows = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    if rows:
        story.append(Table(rows, colWidths=[width + 6 * mm] * 2, hAlign="LEFT"))
    else:
        story.append(Paragraph("Released work orders list their units here.", styles["Normal"]))
    doc.build(story)
    return out.getvalue()


def _steps_table(traveller: Traveller) -> Table:
    header = ["#", "Operation", "Where", "Records", "Signed by", "Done by / date"]
    rows: list[list[str]] = [header]
    for index, step in enumerate(traveller.steps, start=1):
        where = " / ".join(w for w in (step.work_center, step.equipment) if w)
        rows.append(
            [
                str(index),
                f"{step.operation}\n{step.title}" if step.title else step.operation,
                where,
                ", ".join(step.records),
                ", ".join(step.signed_by),
                "",
            ]
        )
    table = Table(rows, colWidths=[8 * mm, 45 * mm, 35 * mm, 40 * mm, 22 * mm, 30 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ]
        )
    )
    return table


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- routes


def _sent(data: bytes, fmt: str, name: str) -> Response:
    response = Response(data, mimetype=MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'inline; filename="{name}.{fmt}"'
    return response


def _symbol(label: Label) -> str:
    """The barcode the request asks for (``?symbol=``), by default the site's."""
    symbol = request.args.get("symbol", label.symbol)
    if symbol not in SYMBOLS:
        raise BadRequest(
            f"symbol: '{symbol}' is no barcode Ferrule prints; use {' or '.join(SYMBOLS)}.",
            field="symbol",
        )
    return symbol


def _lot_label(lot_id: int, fmt: str) -> Response:
    label = services().labels.lot_label(lot_id)
    return _sent(RENDERERS[fmt](label, _symbol(label)), fmt, f"lot-{label.number}")


def _item_label(number: str, fmt: str) -> Response:
    label = services().labels.item_label(number)
    return _sent(RENDERERS[fmt](label, _symbol(label)), fmt, label.number)


def _traveller(number: str) -> Response:
    return _sent(traveller_pdf(services().labels.traveller(number)), "pdf", f"traveller-{number}")


@bp.get(f"/labels/lot/<int:lot_id>.{FORMATS}")
@requires(*PRINTERS)
def lot_label(lot_id: int, fmt: str) -> Response:
    """A received lot's label."""
    return _lot_label(lot_id, fmt)


@bp.get(f"/labels/item/<number>.{FORMATS}")
@requires(*PRINTERS)
def item_label(number: str, fmt: str) -> Response:
    """A unit's or a made lot's label."""
    return _item_label(number, fmt)


@bp.get("/work-orders/<number>/traveller.pdf")
@requires(*PRINTERS)
def traveller(number: str) -> Response:
    """A work order's traveller."""
    return _traveller(number)


def _binary(fmt: str, what: str) -> Doc:
    return Doc(200, f"{what} as {fmt.upper()}.", {"type": "string"}, MEDIA_TYPES[fmt])


SYMBOL_QUERY = {
    "symbol": {
        "enum": list(SYMBOLS),
        "description": "The barcode: GS1-128 or a GS1 DataMatrix (FNC1 first, read back as "
        "]d2), each carrying the part, lot or serial and expiry as GS1 AIs; default the site's "
        "inventory.label_barcode (gs1-128 unless it says otherwise).",
    }
}


NO_SUCH_SYMBOL = Doc(400, "The symbol asked for is none Ferrule prints.", ref("Error"))


def _declare_api_routes() -> None:
    """The same documents under /api, one route per format (each its own media type)."""
    for fmt in RENDERERS:

        def lot(lot_id: int, fmt: str = fmt) -> Response:
            return _lot_label(lot_id, fmt)

        def item(number: str, fmt: str = fmt) -> Response:
            return _item_label(number, fmt)

        lot.__name__, item.__name__ = f"lot_label_{fmt}", f"item_label_{fmt}"
        api_route(
            api_bp,
            f"/labels/lot/<int:lot_id>.{fmt}",
            "GET",
            summary=f"A received lot's label as {fmt.upper()}, with its GS1 barcode",
            tag="labels",
            roles=PRINTERS,
            query=SYMBOL_QUERY,
            responses=(_binary(fmt, "The label"), NO_SUCH_SYMBOL),
        )(lot)
        api_route(
            api_bp,
            f"/labels/item/<number>.{fmt}",
            "GET",
            summary=f"A unit's or made lot's label as {fmt.upper()}, with its GS1 barcode",
            tag="labels",
            roles=PRINTERS,
            query=SYMBOL_QUERY,
            responses=(_binary(fmt, "The label"), NO_SUCH_SYMBOL),
        )(item)


_declare_api_routes()


@api_route(
    api_bp,
    "/work-orders/<number>/traveller.pdf",
    "GET",
    summary="A work order's traveller (move ticket): its operations and a barcode per item",
    tag="labels",
    roles=PRINTERS,
    responses=(_binary("pdf", "The traveller"),),
)
def traveller_api(number: str) -> Response:
    return _traveller(number)
