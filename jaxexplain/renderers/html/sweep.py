"""The HTML page of a sweep report: the points as a table, a plot per figure (inline SVG, its
points and its fitted law, nothing fetched), the loops that unroll with the swept value and
their rewrites, budgets, the swept static's fix, and the decisions that changed."""

from __future__ import annotations

import math
from collections.abc import Sequence

from jaxexplain.renderers.html.page import Page, code, esc, nav, section, table, tag
from jaxexplain.renderers.html.summary import summary_section, sweep_summary_lines
from jaxexplain.renderers.words import (
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
from jaxexplain.report import Growth, SweepPoint, SweepReport
from jaxexplain.sweeping.grid import COMPILE_FIGURES, FIGURES, figure_value
from jaxexplain.sweeping.growth import predict

WIDTH, HEIGHT, MARGIN, LEFT = 320, 150, 34, 60
_AXIS = "stroke:var(--dim)"
_DOT = "fill:var(--accent)"
# Samples of the fitted law drawn between the smallest and the largest swept value.
CURVE_SAMPLES = 48
# How far above the largest point the drawn law may reach.
CURVE_HEADROOM = 1.1
# Swept values spanning this ratio or more are drawn on a log scale (1, 2, 4, ..., 64).
LOG_SPAN = 8


def render(report: SweepReport, *, color: bool = False, width: int = 100) -> str:
    """The sweep report as one self-contained HTML page, starting with `<!DOCTYPE html>`
    (colors and width do not apply)."""
    return sweep_page(report).html()


def sweep_page(report: SweepReport) -> Page:
    """Header, points, plots, loops, budgets, the swept static, decision changes, notes."""
    body = [
        sweep_header(report),
        summary_section(sweep_summary_lines(report)),
        section("points", "Points", points_table(report), f"{len(report.points)} traced"),
        plots_section(report),
        loops_section(report),
        budgets_section(report),
        suggestions_section(report),
        changes_section(report.points),
        "".join(tag("p", esc(note), class_="note") for note in report.notes),
    ]
    return Page(
        title=f"jaxexplain sweep {report.target}",
        kind="sweep",
        body=tag("main", "".join(body)),
        data={"kind": "sweep", "jaxpr": None, "diff": None},
    )


def sweep_header(report: SweepReport) -> str:
    """Target, where it is defined, what is swept, and links to the sections."""
    title = tag("h1", tag("span", "jaxexplain sweep", class_="tool") + " " + code(report.target))
    swept = "; ".join(f"{a.name} over {', '.join(map(str, a.values))}" for a in report.over)
    sub = f"{defined_at(report.function)} · {swept}"
    links = nav(
        [
            ("points", "Points", True),
            ("growth", "Growth", bool(report.growth)),
            ("loops", "Loops", bool(report.loops)),
            ("budgets", "Budgets", bool(report.budgets)),
            ("swept-static", "Fixes", bool(report.suggestions)),
            ("changes", "Decisions", any(p.decision_changes for p in report.points)),
        ]
    )
    return tag("header", title + tag("div", esc(sub), class_="sub") + links)


def _figures(report: SweepReport) -> list[str]:
    figures = [f for f in FIGURES if report.compiled or f not in COMPILE_FIGURES]
    return [f for f in figures if any(figure_value(p, f) is not None for p in report.points)]


def points_table(report: SweepReport) -> str:
    """One row per point: swept values, every figure, decisions changed or the failure."""
    figures = _figures(report)
    headers = [a.name for a in report.over] + [figure_label(f) for f in figures] + ["changed"]
    rows = []
    for point in report.points:
        cells = [esc(point.values[a.name]) for a in report.over]
        if point.error is not None:
            failure = tag("span", esc(failed_point_text(point.error)), class_="warning")
            rows.append(cells + ["-"] * len(figures) + [failure])
            continue
        cells += [esc(sweep_figure_text(f, figure_value(point, f))) for f in figures]
        rows.append([*cells, esc(len(point.decision_changes) or "")])
    return table(headers, rows)


def plots_section(report: SweepReport) -> str:
    """A plot per fitted figure, its verdict under it."""
    if not report.growth:
        return ""
    cards = []
    for figure in FIGURES:
        growth = report.growth.get(figure)
        if growth is None:
            continue
        verdict = growth_verdict(figure, growth, report.loops, report.predictions)
        svg = plot(figure, report.points, growth)
        cards.append(
            tag(
                "figure",
                tag("figcaption", tag("b", esc(figure_label(figure))))
                + svg
                + tag("p", esc(verdict), class_="note"),
                style="display:inline-block;vertical-align:top;margin:8px 16px 8px 0;width:"
                f"{WIDTH}px",
            )
        )
    return section("growth", "Growth", "".join(cards), "points, and the law fitted to them")


def plot(figure: str, points: Sequence[SweepPoint], growth: Growth) -> str:
    """An inline SVG: the points along the fitted parameter, and the fitted law as a line."""
    pairs = [
        (p.sizes.get(growth.of), figure_value(p, figure))
        for p in points
        if p.ok and p.sizes.get(growth.of) is not None and figure_value(p, figure) is not None
    ]
    xs = [float(x) for x, _ in pairs if x is not None and x > 0]
    if not xs:
        return ""
    low, high = min(xs), max(xs)
    logarithmic = high / low >= LOG_SPAN
    curve_xs = _samples(low, high, logarithmic)
    ys = [y for _, y in pairs if y is not None]
    scale = _Scale(low, high, min(0.0, min(ys)), max(ys) or 1.0, logarithmic)
    # The law is drawn inside the points' range: a power law fitted to the upper points may
    # shoot far off at the lower ones, which must not squash the points into a line.
    ceiling = scale.top * CURVE_HEADROOM
    curve = [(x, min(max(predict(growth, x), scale.bottom), ceiling)) for x in curve_xs]
    line = " ".join(f"{scale.x(x):.1f},{scale.y(y):.1f}" for x, y in curve)
    dots = "".join(
        tag("circle", cx=f"{scale.x(x):.1f}", cy=f"{scale.y(y):.1f}", r="3.5", style=_DOT)
        for x, y in pairs
        if x is not None and x > 0 and y is not None
    )
    axes = tag(
        "line", x1=LEFT, y1=HEIGHT - MARGIN, x2=WIDTH - 8, y2=HEIGHT - MARGIN, style=_AXIS
    ) + tag("line", x1=LEFT, y1=8, x2=LEFT, y2=HEIGHT - MARGIN, style=_AXIS)
    labels = (
        _label(LEFT, HEIGHT - MARGIN + 14, f"{growth.of}={low:g}", "start")
        + _label(WIDTH - 8, HEIGHT - MARGIN + 14, f"{growth.of}={high:g}", "end")
        + _label(LEFT - 4, 14, sweep_figure_text(figure, scale.top), "end")
        + _label(LEFT - 4, HEIGHT - MARGIN, sweep_figure_text(figure, scale.bottom), "end")
    )
    fitted = tag("polyline", points=line, style="fill:none;stroke:var(--warn);stroke-width:1.5")
    return tag(
        "svg",
        axes + fitted + dots + labels,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        width=WIDTH,
        height=HEIGHT,
        role="img",
        aria_label=f"{figure_label(figure)} over {growth.of}",
    )


class _Scale:
    """Data coordinates to the plot's pixels; x on a log scale where the values span widely."""

    def __init__(self, left: float, right: float, bottom: float, top: float, log: bool) -> None:
        self.left, self.right, self.bottom, self.top, self.log = left, right, bottom, top, log

    def _x(self, x: float) -> float:
        return math.log(x) if self.log else x

    def x(self, x: float) -> float:
        span = (self._x(self.right) - self._x(self.left)) or 1.0
        return LEFT + (self._x(x) - self._x(self.left)) / span * (WIDTH - 8 - LEFT)

    def y(self, y: float) -> float:
        span = (self.top * CURVE_HEADROOM - self.bottom) or 1.0
        return HEIGHT - MARGIN - (y - self.bottom) / span * (HEIGHT - MARGIN - 8)


def _samples(low: float, high: float, logarithmic: bool) -> list[float]:
    steps = range(CURVE_SAMPLES + 1)
    if logarithmic:
        return [low * (high / low) ** (k / CURVE_SAMPLES) for k in steps]
    return [low + (high - low) * k / CURVE_SAMPLES for k in steps]


def _label(x: float, y: float, text: str, anchor: str) -> str:
    return tag(
        "text",
        esc(text),
        x=f"{x:.1f}",
        y=f"{y:.1f}",
        style=f"fill:var(--dim);font:10px var(--mono);text-anchor:{anchor}",
    )


def loops_section(report: SweepReport) -> str:
    """The loops that unroll with the swept value, each rewrite as code to copy."""
    if not report.loops:
        return ""
    parts = []
    for loop in report.loops:
        parts.append(tag("p", tag("b", esc(loop_text(loop))) + " " + code(f"for {loop.source}")))
        if loop.rewrite is not None:
            kind = "note" if loop.verified else "warning"
            parts.append(tag("p", esc(loop_rewrite_text(loop)), class_=kind))
            parts.append(tag("pre", esc(loop.rewrite), class_="code"))
    return section("loops", SWEEP_LOOPS_HEADING, "".join(parts))


def budgets_section(report: SweepReport) -> str:
    """The first point over each budget, or that every point kept them."""
    if not report.budgets:
        return ""
    if not report.budget_exceeded:
        return section("budgets", "Budgets", tag("p", esc(budgets_kept_text(report.budgets))))
    lines = "".join(tag("p", esc(budget_text(b)), class_="warning") for b in report.budget_exceeded)
    return section("budgets", "Budgets", lines)


def suggestions_section(report: SweepReport) -> str:
    """make_traced for the swept static, or the advice to keep it static."""
    if not report.suggestions:
        return ""
    lines = "".join(tag("p", esc(s.text)) for s in report.suggestions)
    return section("swept-static", SWEEP_SUGGESTIONS_HEADING, lines)


def changes_section(points: Sequence[SweepPoint]) -> str:
    """The decisions whose outcomes changed from each point to the next."""
    changed = [p for p in points if p.decision_changes]
    if not changed:
        return ""
    items = "".join(
        tag(
            "li",
            tag("b", esc(point_label(p.values)))
            + tag("ul", "".join(tag("li", esc(sweep_change_text(c))) for c in p.decision_changes)),
        )
        for p in changed
    )
    return section("changes", "Decisions that changed", tag("ul", items), "from the point before")
