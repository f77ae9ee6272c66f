"""Make a PDF that reportlab wrote an archival PDF/A-2b document (ISO 19005-2, level B).

Open-source reportlab embeds the fonts Ferrule uses (Bitstream Vera, as subsets) and writes
DeviceRGB colours, but neither the XMP metadata that names the PDF/A part and conformance nor the
output intent that says which colour space DeviceRGB means. :func:`as_pdf_a` adds both with
pikepdf (qpdf): XMP with ``pdfaid:part 2``, ``pdfaid:conformance B``, title, description and
dates (pikepdf keeps the document information dictionary consistent with it); and an sRGB
output intent whose ICC profile Pillow's LittleCMS builds. It refuses a
document with a font that is not embedded, which PDF/A forbids. No PDF/A validator (veraPDF) runs
on this machine, so the tests check these properties one by one rather than certify the file.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import cache

import pikepdf
from PIL import ImageCms

PRODUCER = "Ferrule (reportlab, pikepdf)"


@cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile, built once."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return bytes(profile.tobytes())


def unembedded_fonts(pdf: pikepdf.Pdf) -> list[str]:
    """The base names of fonts the pages use without embedding them."""
    missing: list[str] = []
    for page in pdf.pages:
        fonts = page.obj.get("/Resources", pikepdf.Dictionary()).get("/Font", pikepdf.Dictionary())
        for font in fonts.values():
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font.DescendantFonts[0].get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            if not embedded:
                missing.append(str(font.get("/BaseFont", "?")))
    return missing


def as_pdf_a(document: bytes, *, title: str, description: str, created: dt.datetime) -> bytes:
    """``document`` as PDF/A-2b: XMP metadata and an sRGB output intent added."""
    with pikepdf.open(io.BytesIO(document)) as pdf:
        missing = unembedded_fonts(pdf)
        if missing:
            raise ValueError(f"PDF/A needs every font embedded; not embedded: {', '.join(missing)}")
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["pdfaid:part"] = "2"
            meta["pdfaid:conformance"] = "B"
            meta["dc:title"] = title
            meta["dc:description"] = description
            meta["dc:creator"] = ["Ferrule"]
            meta["pdf:Producer"] = PRODUCER
            meta["xmp:CreatorTool"] = PRODUCER
            stamp = created.astimezone(dt.UTC).isoformat()
            meta["xmp:CreateDate"] = stamp
            meta["xmp:ModifyDate"] = stamp
        icc = pdf.make_stream(srgb_profile(), N=3)
        intent = pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent,
            S=pikepdf.Name.GTS_PDFA1,
            OutputConditionIdentifier="sRGB IEC61966-2.1",
            Info="sRGB IEC61966-2.1",
            DestOutputProfile=icc,
        )
        pdf.Root.OutputIntents = pikepdf.Array([pdf.make_indirect(intent)])
        out = io.BytesIO()
        pdf.save(out, fix_metadata_version=False, deterministic_id=True)
        return out.getvalue()
