"""The HTML of a "buckets" recommendation: its sentence, the sizes seen with the calls counted
and the edges, what was checked, and whether a shape-polymorphic export could serve every size."""

from __future__ import annotations

from jaxexplain.renderers.html.page import esc, table, tag
from jaxexplain.renderers.words import (
    buckets_calls_text,
    buckets_checked_text,
    export_text,
)
from jaxexplain.report import Buckets, Recommendation


def buckets_body(recommendation: Recommendation) -> str:
    """One list item's body: the sentence, then the sizes table and the notes."""
    buckets = recommendation.buckets
    body = tag("p", esc(recommendation.text))
    if buckets is not None:
        notes = [buckets_calls_text(buckets)]
        if recommendation.verified:
            notes.insert(0, buckets_checked_text(buckets))
        if buckets.export is not None:
            notes.append(export_text(buckets.path, buckets.export))
        body += sizes_table(buckets) + "".join(tag("p", esc(n), class_="note") for n in notes)
    return body


def sizes_table(buckets: Buckets) -> str:
    """Each size seen, the calls counted at it, and the edge it pads to."""
    edges = sorted(buckets.edges)
    rows = [
        [esc(size), esc(calls), esc(next(e for e in edges if e >= int(size)))]
        for size, calls in buckets.sizes.items()
    ]
    return table([buckets.path, "calls seen", "padded to"], rows, cls="buckets")
