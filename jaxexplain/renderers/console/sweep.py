"""Text rendering of a sweep report: a table of the points, a sparkline and a growth verdict
per figure, the loops that unroll with the swept value (their rewrites to copy), budgets, the
swept static's fix, and the decisions that changed from point to point."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from jaxexplain.renderers.console.common import (
    EVERYTHING,
    CodeBlock,
    Display,
    Section,
    heading,
    note_text,
    title_text,
    write_sections,
)
from jaxexplain.renderers.words import (
    SWEEP_HEADERS,
    SWEEP_LOOPS_HEADING,
    SWEEP_SUGGESTIONS_HEADING,
    budget_text,
    budgets_kept_text,
    defined_at,
    failed_point_text,
    figure_label,
    growth_verdict,
    loop_rewrite_text,
    loop_text,
    point_label,
    sweep_change_text,
    sweep_figure_text,
)
from jaxexplain.report import SweepPoint, SweepReport
from jaxexplain.sweeping.grid import COMPILE_FIGURES, FIGURES, figure_value

SPARKS = "▁▂▃▄▅▆▇█"
# The table's figures; the others are in the growth section and the JSON document.
TABLE_FIGURES = (
    "equations",
    "equations_nested",
    "trace_seconds",
    "lower_seconds",
    "compile_seconds",
    "flops",
    "temp_bytes",
)


def render(
    report: SweepReport, *, color: bool = False, width: int = 100, display: Display = EVERYTHING
) -> str:
    """The sweep report as text, ANSI-colored when asked, `width` columns wide."""
    return write_sections(sweep_sections(report), color=color, width=width, display=display)


def sweep_sections(report: SweepReport) -> list[Section]:
    """Title, points, growth, loops, budgets, the swept static, decision changes, notes."""
    sections: list[Section] = [title_text("sweep", report.target, defined_at(report.function))]
    sections += [heading("Points", f"{len(report.points)} traced"), points_table(report)]
    sections += growth_sections(report)
    sections += loop_sections(report)
    sections += budget_sections(report)
    if report.suggestions:
        sections.append(heading(SWEEP_SUGGESTIONS_HEADING))
        sections += [Text(f"  {s.text}") for s in report.suggestions]
    sections += change_sections(report.points)
    sections += [note_text(note) for note in report.notes]
    return sections


def shown_figures(report: SweepReport) -> list[str]:
    """The table's figures that some point has (no XLA figures without a compile)."""
    figures = [f for f in TABLE_FIGURES if report.compiled or f not in COMPILE_FIGURES]
    return [f for f in figures if any(figure_value(p, f) is not None for p in report.points)]


def points_table(report: SweepReport) -> RenderableType:
    """One row per point: the swept values, the figures, and what changed or failed."""
    figures = shown_figures(report)
    table = Table(box=None, padding=(0, 2), header_style="bold")
    for axis in report.over:
        table.add_column(axis.name, style="bold")
    for figure in figures:
        table.add_column(SWEEP_HEADERS[figure], justify="right")
    table.add_column("changed")
    for point in report.points:
        cells = [str(point.values[axis.name]) for axis in report.over]
        if point.error is not None:
            failed = Text(failed_point_text(point.error), style="red")
            table.add_row(*cells, *["-"] * len(figures), failed)
            continue
        cells += [sweep_figure_text(f, figure_value(point, f)) for f in figures]
        table.add_row(*cells, str(len(point.decision_changes)) if point.decision_changes else "")
    return table


def sparkline(values: list[float | None]) -> str:
    """`▁▂▄█`: each value's height between the smallest and the largest; a gap where None."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    return "".join(
        " "
        if v is None
        else SPARKS[0 if span == 0 else round((v - low) / span * (len(SPARKS) - 1))]
        for v in values
    )


def growth_sections(report: SweepReport) -> list[Section]:
    """Each fitted figure: its sparkline over the points and its verdict line."""
    if not report.growth:
        return []
    table = Table(box=None, padding=(0, 2), show_header=False)
    table.add_column(style="bold")
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for figure in FIGURES:
        growth = report.growth.get(figure)
        if growth is None:
            continue
        line = sparkline([figure_value(p, figure) for p in report.points])
        verdict = growth_verdict(figure, growth, report.loops, report.predictions)
        table.add_row(figure_label(figure), line, verdict)
    return [heading("Growth", "a law fitted per figure"), table]


def loop_sections(report: SweepReport) -> list[Section]:
    """The loops that unroll with the swept value, each with its rewrite where one exists."""
    if not report.loops:
        return []
    out: list[Section] = [heading(SWEEP_LOOPS_HEADING)]
    for loop in report.loops:
        out.append(Text(f"  {loop_text(loop)}: for {loop.source}", style="bold"))
        if loop.rewrite is not None:
            style = "green" if loop.verified else "yellow"
            out.append(Text(f"  {loop_rewrite_text(loop)}", style=style))
            out.append(CodeBlock(loop.rewrite))
    return out


def budget_sections(report: SweepReport) -> list[Section]:
    """The first point over each budget, or that every point kept them."""
    if not report.budgets:
        return []
    out: list[Section] = [heading("Budgets")]
    if not report.budget_exceeded:
        return [*out, Text(f"  {budgets_kept_text(report.budgets)}", style="green")]
    return out + [Text(f"  {budget_text(b)}", style="red") for b in report.budget_exceeded]


def change_sections(points: tuple[SweepPoint, ...]) -> list[Section]:
    """The decisions whose outcomes changed from each point to the next."""
    changed = [p for p in points if p.decision_changes]
    if not changed:
        return []
    out: list[Section] = [heading("Decisions that changed", "from the point before")]
    for point in changed:
        out.append(Text(f"  {point_label(point.values)}", style="bold"))
        out += [Text(f"    {sweep_change_text(c)}") for c in point.decision_changes]
    return out
