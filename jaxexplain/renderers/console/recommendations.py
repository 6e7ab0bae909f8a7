"""Text rendering of watch's recommendations: one section, each recommendation by its kind's
renderer (a renderer gives the lines of one recommendation)."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType
from rich.text import Text

from jaxexplain.renderers.console.buckets import buckets_lines
from jaxexplain.renderers.console.common import heading
from jaxexplain.renderers.words import RECOMMENDATIONS_HEADING, VERIFIED, recommendation_head
from jaxexplain.report import Recommendation, WatchReport


def recommendation_sections(report: WatchReport) -> list[RenderableType]:
    """The recommendations section: a heading, then each recommendation by its kind's renderer."""
    shown = [r for r in report.recommendations if r.kind in RENDERERS]
    if not shown:
        return []
    out: list[RenderableType] = [heading(RECOMMENDATIONS_HEADING, f"{len(shown)}")]
    for recommendation in shown:
        out += RENDERERS[recommendation.kind](recommendation)
    return out


def _built_per_step(recommendation: Recommendation) -> list[RenderableType]:
    """jit_once / build_once: what to build once, where it is built, whether it was checked."""
    text = Text("  " + recommendation_head(recommendation), style="bold green")
    text.append(" " + recommendation.text)
    return [text]


def _make_traced(recommendation: Recommendation) -> list[RenderableType]:
    """A number baked in that can be passed traced: the sentence, marked verified."""
    text = Text(f"  ✓ {VERIFIED}  ", style="bold green")
    text.append(recommendation.text, style="default")
    return [text]


RENDERERS: dict[str, Callable[[Recommendation], list[RenderableType]]] = {
    "jit_once": _built_per_step,
    "build_once": _built_per_step,
    "make_traced": _make_traced,
    "buckets": buckets_lines,
}
