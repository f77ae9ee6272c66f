"""``quality`` of site.yaml: the defect codes a nonconformance is opened with, the material
review board (which roles must each sign a disposition before it takes effect), and the link to
a CAPA in the site's quality management system."""

from __future__ import annotations

from types import MappingProxyType

from dsl import _reader as r
from dsl.model import DEFAULT_BOARD, QualityPolicy, Role
from dsl.yamlsource import YMap, YScalar, YSeq

CAPA_PLACEHOLDER = "{capa}"


def quality_policy(
    report: r.Reporter, key: YScalar, node: YMap, roles: dict[str, Role]
) -> QualityPolicy:
    """The site's quality policy (the validator has checked the keys and their shapes)."""
    codes = {
        code.text: description.text.strip()
        for code, description in r.entries(node, "defect_codes")
        if isinstance(description, YScalar)
    }
    board: dict[str, tuple[str, ...]] = {}
    for decision, listed in r.entries(node, "review_board"):
        named: list[str] = []
        for role in listed.items if isinstance(listed, YSeq) else ():
            if not isinstance(role, YScalar) or not report.reference(role, "role", roles):
                continue
            if role.text in named:
                report.error(
                    role.span,
                    f"role '{role.text}' is listed twice for {decision.text}",
                    "each role signs once; list it once",
                )
                continue
            named.append(role.text)
        board[decision.text] = tuple(named) or DEFAULT_BOARD
    link = r.scalar(node, "capa_link")
    if link is not None and CAPA_PLACEHOLDER not in link.text:
        report.error(
            link.span,
            f"capa_link must contain {CAPA_PLACEHOLDER} where the CAPA's id goes",
            "e.g. https://qms.example.com/capa/{capa}",
        )
    return QualityPolicy(
        defect_codes=MappingProxyType(codes),
        review_board=MappingProxyType(board),
        capa_link=link.text.strip() if link is not None else None,
        span=key.span,
    )
