"""The summary at the top of every page, as the text report's: the few facts that matter (the
failure, the equations and where they come from, the loops that unrolled and their cost, the
compile time and memory), each a line, computed by `views` so that the text and the page agree."""

from __future__ import annotations

from collections.abc import Sequence

from jaxexplain.renderers.html.page import PAGE, Scope, code, esc, section, tag
from jaxexplain.renderers.words import (
    SUMMARY,
    as_written,
    budget_text,
    compile_summary,
    equations_summary,
    failed_point_text,
    failed_summary,
    growth_verdict,
    location,
    merge_summary_text,
    point_label,
    top_sources_text,
    unrolled_text,
)
from jaxexplain.report import DiffReport, SweepReport, TraceReport, WatchMerge
from jaxexplain.views import UnrolledLoop, sweep_summary, trace_summary


def summary_section(lines: Sequence[str], scope: Scope = PAGE) -> str:
    """The summary's lines (already HTML) under its heading; nothing where there are none."""
    if not lines:
        return ""
    items = "".join(tag("li", line) for line in lines)
    return section("summary", SUMMARY, tag("ul", items, class_="summary"), scope=scope)


def trace_summary_lines(report: TraceReport) -> list[str]:
    """A trace report's summary, line by line as the text report has it."""
    facts = trace_summary(report)
    lines: list[str] = []
    if facts.error is not None:
        lines.append(tag("span", esc(failed_summary(facts.error)), class_="bad"))
    if facts.jaxpr is not None:
        lines.append(esc(equations_summary(facts.jaxpr)))
    if facts.top_sources:
        lines.append(tag("span", esc(top_sources_text(facts.top_sources)), class_="dim"))
    lines += [loop_line(loop) for loop in facts.loops]
    if facts.figures:
        lines.append(esc(compile_summary(facts.figures)))
    return lines


def loop_line(loop: UnrolledLoop) -> str:
    """`for _ in range(n)` at model.py:12, and what unrolling it cost, marked as a warning."""
    d = loop.decision
    where = f" at {location(d.file, d.line)} {unrolled_text(loop)}"
    return tag("span", "! " + code(as_written(d.kind, d.source)) + esc(where), class_="warning")


def diff_summary_lines(report: DiffReport) -> list[str]:
    """Each side's summary, its lines marked A and B."""
    return [
        tag("b", side) + " " + line
        for side, trace in (("A", report.a), ("B", report.b))
        for line in trace_summary_lines(trace)
    ]


def sweep_summary_lines(report: SweepReport) -> list[str]:
    """The points that failed, the figures that grow and why, the budgets gone over."""
    facts = sweep_summary(report)
    lines = [
        tag(
            "span",
            esc(f"{point_label(p.values)}: {failed_point_text(p.error)}"),
            class_="bad",
        )
        for p in facts.failed
        if p.error is not None
    ]
    lines += [
        esc(growth_verdict(figure, growth, report.loops, report.predictions))
        for figure, growth in facts.growing
    ]
    lines += [tag("span", esc(budget_text(b)), class_="warning") for b in report.budget_exceeded]
    return lines


def merge_summary_lines(report: WatchMerge) -> list[str]:
    """How many processes were merged and how many compiles diverged between them."""
    return [esc(merge_summary_text(len(report.processes), len(report.divergences)))]
