"""What a sweep's measured points say: the growth law of each figure, the extrapolations asked
for, the first point over each budget, the loops whose unrolling drives the equation count
(with their structured rewrite, verified), and whether the swept static can be passed traced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from jaxexplain.diffing import make_traced
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import (
    LOOP_KINDS,
    BudgetExceeded,
    Decision,
    Growth,
    LoopGrowth,
    Prediction,
    Suggestion,
    SweepAxis,
    SweepPoint,
    SweepReport,
    TraceReport,
)
from jaxexplain.sweeping import growth
from jaxexplain.sweeping.grid import FIGURES, figure_value
from jaxexplain.sweeping.measured import Measured
from jaxexplain.sweeping.structured import with_rewrite

# Measured seconds jitter by this much (relative RMS around their mean) from run to run on a
# busy machine; a spread within it is no growth.
SECONDS_NOISE = 0.2
# Loops named as drivers of the equation count, most equations first.
LOOPS_SHOWN = 3


def findings(
    report: SweepReport,
    measured: Measured,
    vocabulary: Vocabulary,
    budgets: Mapping[str, float],
    predictions: Mapping[str, float],
) -> SweepReport:
    """The sweep report with its growth laws, predictions, budgets, loops and suggestions."""
    by_axis = {figure: growth_by_axis(figure, report.points, report.over) for figure in FIGURES}
    dominant = {
        figure: max(fits.values(), key=lambda g: g.exponent)
        for figure, fits in by_axis.items()
        if fits
    }
    loops = tuple(with_rewrite(loop, measured) for loop in driving_loops(measured))
    return replace(
        report,
        growth=dominant,
        predictions=predicted(by_axis, predictions),
        budgets=dict(budgets),
        budget_exceeded=over_budget(report.points, budgets),
        loops=loops,
        suggestions=traced_suggestion(measured, vocabulary),
    )


def line_of(points: Sequence[SweepPoint], axes: Sequence[SweepAxis], name: str) -> list[int]:
    """The indices of the points along `name` with every other swept value at its first."""
    first = points[0].values
    others = [a.name for a in axes if a.name != name]
    return [i for i, p in enumerate(points) if all(p.values[o] == first[o] for o in others)]


def growth_by_axis(
    figure: str, points: Sequence[SweepPoint], axes: Sequence[SweepAxis]
) -> dict[str, Growth]:
    """The figure's growth law along each numeric swept parameter (where it can be fitted)."""
    fits = {}
    for axis in axes:
        line = [points[i] for i in line_of(points, axes, axis.name) if points[i].ok]
        xs = [p.sizes.get(axis.name) for p in line]
        ys = [figure_value(p, figure) for p in line]
        if any(x is None for x in xs) or any(y is None for y in ys):
            continue
        noise = SECONDS_NOISE if figure.endswith("_seconds") else 0.0
        found = growth.fit(xs, ys, axis.name, noise)  # type: ignore[arg-type]
        if found is not None:
            fits[axis.name] = found
    return fits


def predicted(
    by_axis: Mapping[str, Mapping[str, Growth]], predictions: Mapping[str, float]
) -> tuple[Prediction, ...]:
    """Each fitted figure at each value the user named, by its law along that parameter; none
    where no law fits ("other"): a slope through points that follow no law extrapolates to
    nothing true."""
    return tuple(
        Prediction(figure, name, at, growth.predict(fits[name], at), fits[name].name)
        for name, at in predictions.items()
        for figure, fits in by_axis.items()
        if name in fits and fits[name].name != "other"
    )


def over_budget(
    points: Sequence[SweepPoint], budgets: Mapping[str, float]
) -> tuple[BudgetExceeded, ...]:
    """For each budgeted figure, the first point (in sweep order) whose value is over it."""
    exceeded = []
    for figure, limit in budgets.items():
        for point in points:
            value = figure_value(point, figure)
            if value is not None and value > limit:
                exceeded.append(BudgetExceeded(figure, limit, value, point.values))
                break
    return tuple(exceeded)


def driving_loops(measured: Measured) -> list[LoopGrowth]:
    """Loops whose pass count grows along a numeric swept parameter, the equations they put
    into the jaxpr at the largest point first: the Python loops that unroll with it."""
    found: dict[tuple[str, int, int], LoopGrowth] = {}
    for axis in measured.axes:
        line = line_of(measured.points, measured.axes, axis.name)
        sizes = [measured.points[i].sizes.get(axis.name) for i in line]
        if any(s is None for s in sizes):
            continue
        for key, per_point in _loop_records(measured.reports, line).items():
            counts = [passes(d) if d is not None else None for d in per_point]
            known = [c for c in counts if c is not None]
            if len(set(known)) < 2 or known != sorted(known) or key in found:
                continue
            last = next(d for d in reversed(per_point) if d is not None)
            found[key] = LoopGrowth(
                file=last.file,
                line=last.line,
                source=last.source,
                of=axis.name,
                iterations=tuple(counts),
                equations=last.equations,
                per_value=_ratio(counts, sizes),  # type: ignore[arg-type]
            )
    ordered = sorted(found.values(), key=lambda loop: -(loop.equations or 0))
    return ordered[:LOOPS_SHOWN]


def _loop_records(
    reports: Sequence[TraceReport], line: Sequence[int]
) -> dict[tuple[str, int, int], list[Decision | None]]:
    """Each loop's decision at every point of the line (None where it did not run there)."""
    records: dict[tuple[str, int, int], list[Decision | None]] = {}
    for position, index in enumerate(line):
        for decision in reports[index].decisions if reports[index].ok else ():
            if decision.kind in (*LOOP_KINDS, "while"):
                key = (decision.file, decision.line, decision.column)
                records.setdefault(key, [None] * len(line))[position] = decision
    return records


def passes(decision: Decision) -> int:
    """How many times a loop's body ran in one trace: the passes of every entry to a `for`, the
    true tests of a `while`."""
    if decision.kind == "while":
        return sum(1 for outcome in decision.outcomes if outcome == "true")
    return sum(int(outcome) for outcome in decision.outcomes)


def _ratio(counts: Sequence[int | None], sizes: Sequence[float]) -> float | None:
    """The passes per unit of the swept value, where that ratio is the same at every point."""
    ratios = {round(c / s, 6) for c, s in zip(counts, sizes, strict=True) if c is not None and s}
    return ratios.pop() if len(ratios) == 1 else None


def traced_suggestion(measured: Measured, vocabulary: Vocabulary) -> tuple[Suggestion, ...]:
    """For one swept static number: make_traced where every pair of adjacent points differs
    only in the program's constants and passes make_traced's checks (`diffing.make_traced`),
    the advice to keep it static where a pair differs in structure; else nothing."""
    axes = measured.axes
    if len(axes) != 1 or axes[0].role != "static":
        return ()
    name = axes[0].name
    pairs = list(zip(measured.plans, measured.plans[1:], strict=False))
    ok = [p.ok for p in measured.points]
    if not pairs or not all(ok) or not all(_numbers(pair, name) for pair in pairs):
        return ()
    first: Suggestion | None = None
    for pair in pairs:
        outcome = make_traced.check(make_traced.static_candidate(measured.target, *pair, name))
        suggestion = make_traced.suggestion_of(outcome, vocabulary)
        if suggestion is None or suggestion.kind != "make_traced":
            return (suggestion,) if suggestion is not None else ()
        first = first or suggestion
    return (first,) if first is not None else ()


def _numbers(pair: Sequence[CallPlan], name: str) -> bool:
    values: list[Any] = [next(p.value for p in plan.params if p.name == name) for plan in pair]
    return all(isinstance(v, make_traced.NUMBERS) for v in values)
