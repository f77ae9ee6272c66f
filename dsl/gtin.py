"""GTINs (Global Trade Item Numbers) as a part or product may declare them: the GS1 mod-10 check
digit, shared by the plant checker and the engine's GS1 labels."""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (a GTIN or SSCC without its last digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def gtin_problem(text: str) -> str:
    """What is wrong with ``text`` as a GTIN-8, -12, -13 or -14 ("" when nothing is)."""
    if not (text.isascii() and text.isdigit()) or len(text) not in GTIN_LENGTHS:
        return f"'{text}' is not a GTIN: a GTIN has 8, 12, 13 or 14 digits"
    expected = check_digit(text[:-1])
    if expected != text[-1]:
        return f"GTIN '{text}' has the check digit {text[-1]}; it should be {expected}"
    return ""
