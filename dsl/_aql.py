"""Reading ``sample: {aql: 1.0, level: II}`` (ANSI/ASQ Z1.4 lot acceptance sampling) with the
errors a plant engineer can act on: an AQL or a level the tables do not have is named, with the
list of those they have."""

from __future__ import annotations

from dsl import _reader as r
from dsl import scalars
from dsl.model import AQL_LEVELS, AQLS, AqlSampling
from dsl.yamlsource import YMap


def aql_sampling(node: YMap, key: str, report: r.Reporter) -> AqlSampling | None:
    """The AQL sampling under ``key`` of ``node``; None when absent or wrong (reported)."""
    sample = node.get(key)
    if not isinstance(sample, YMap):
        return None
    aql_node = r.scalar(sample, "aql")
    level_node = r.scalar(sample, "level")
    if aql_node is None or level_node is None:
        return None  # the validator reported the missing key
    wanted = scalars.parse_float(aql_node.text)
    printed = [aql for aql in AQLS if wanted is not None and float(aql) == wanted]
    level = level_node.text.strip()
    if not printed:
        report.error(
            aql_node.span,
            f"AQL {aql_node.text.strip()} is not in the Z1.4 tables",
            f"use one of {', '.join(AQLS)}",
        )
    if level not in AQL_LEVELS:
        report.error(
            level_node.span,
            f"inspection level '{level}' is not in Z1.4",
            f"use one of {', '.join(AQL_LEVELS)} (II is the usual one)",
        )
    if not printed or level not in AQL_LEVELS:
        return None
    skip = sample.get("skip")
    skip_map = skip if isinstance(skip, YMap) else None
    return AqlSampling(
        aql=printed[0],
        level=level,
        span=sample.span,
        skip_after=r.integer(skip_map, "after", 1) if skip_map is not None else None,
        skip_every=r.integer(skip_map, "every", 2) if skip_map is not None else None,
        reduced_allowed=r.text(sample, "reduced", "never") == "allowed",
        release=r.boolean(sample, "release", False),
    )
