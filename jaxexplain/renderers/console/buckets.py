"""Text rendering of a "buckets" recommendation: the edges, what was checked, which calls the
sizes count, and whether a shape-polymorphic export could serve every size."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from jaxexplain.renderers.console.common import note_text
from jaxexplain.renderers.words import (
    buckets_calls_text,
    buckets_checked_text,
    export_text,
)
from jaxexplain.report import Recommendation


def buckets_lines(recommendation: Recommendation) -> list[RenderableType]:
    """The recommendation's sentence, then its check, its calls and its export, as notes."""
    text = Text("  buckets: ", style="bold green")
    text.append(recommendation.text)
    buckets = recommendation.buckets
    if buckets is None:
        return [text]
    lines: list[RenderableType] = [text]
    if recommendation.verified:
        lines.append(note_text(buckets_checked_text(buckets)))
    lines.append(note_text(buckets_calls_text(buckets)))
    if buckets.export is not None:
        lines.append(note_text(export_text(buckets.path, buckets.export)))
    return lines
