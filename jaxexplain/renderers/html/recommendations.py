"""The HTML section of watch's recommendations, each recommendation by its kind's renderer (a
renderer gives the body of one list item)."""

from __future__ import annotations

from collections.abc import Callable

from jaxexplain.renderers.html.buckets import buckets_body
from jaxexplain.renderers.html.page import esc, section, tag
from jaxexplain.renderers.words import RECOMMENDATIONS_HEADING, VERIFIED, recommendation_head
from jaxexplain.report import Recommendation, WatchReport


def recommendations_section(report: WatchReport) -> str:
    """Each recommendation by its kind's renderer; nothing when there is none."""
    shown = [r for r in report.recommendations if r.kind in RENDERERS]
    if not shown:
        return ""
    items = "".join(tag("li", RENDERERS[r.kind](r)) for r in shown)
    return section(
        "recommendations",
        RECOMMENDATIONS_HEADING,
        tag("ul", items, class_="recommendations"),
        str(len(shown)),
    )


def _built_per_step(recommendation: Recommendation) -> str:
    """jit_once / build_once: what to build once, where it is built, whether it was checked."""
    state = "ok" if recommendation.verified else "bad"
    return tag("span", esc(recommendation_head(recommendation)), class_=f"status {state}") + (
        " " + esc(recommendation.text)
    )


def _make_traced(recommendation: Recommendation) -> str:
    """A number baked in that can be passed traced: the sentence, marked verified."""
    return tag("span", esc(VERIFIED), class_="tag good") + " " + esc(recommendation.text)


RENDERERS: dict[str, Callable[[Recommendation], str]] = {
    "jit_once": _built_per_step,
    "build_once": _built_per_step,
    "make_traced": _make_traced,
    "buckets": buckets_body,
}
