"""Running a sweep: one full explanation per point, in one process and one JAX import, JAX's
caches cleared before each so that its trace, lower and compile seconds are the real ones;
then the decision changes between points, and what `findings` makes of them all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import jax
import numpy as np

from jaxexplain import _jax_compat
from jaxexplain.diffing.reports import decision_changes
from jaxexplain.exits import interrupt_status
from jaxexplain.explaining import Options, describe_aval, explain, function_info
from jaxexplain.inputs import specs
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.inputs.targets import prepare_target, target_name
from jaxexplain.inputs.variation import plan_with_texts, plan_with_values
from jaxexplain.renderers import words
from jaxexplain.renderers.words import interrupted_text, sweep_notes
from jaxexplain.report import SweepAxis, SweepPoint, SweepReport, TraceReport
from jaxexplain.sweeping import grid
from jaxexplain.sweeping.findings import findings
from jaxexplain.sweeping.measured import Measured
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.stages import Target


def sweep_target_texts(
    spec: str | None,
    static: Mapping[str, Any],
    traced: Mapping[str, Any],
    args_from: str | None,
    axes: Sequence[grid.Axis],
    options: Options,
    *,
    target_from: str | None = None,
    budgets: Mapping[str, float] | None = None,
    predictions: Mapping[str, float] | None = None,
) -> SweepReport:
    """The sweep of a TARGET string (or a `target_from` factory's function) over `--over`
    axes: the first point's values bind the target with the common options, and every point
    is that call with its own values applied, each keeping its role."""
    grid.refuse_overlap(axes, [*static, *traced])
    first = grid.points(axes)[0]
    over_static = {a.name: grid.static_value(first[a.name]) for a in axes if not a.traced}
    over_traced = {
        a.name: specs.parse_traced_value(a.name, first[a.name], options.vocabulary)
        for a in axes
        if a.traced
    }
    target, base = prepare_target(
        spec,
        {**static, **over_static},
        {**traced, **over_traced},
        args_from,
        target_from=target_from,
        vocabulary=options.vocabulary,
    )
    plans = [
        plan_with_texts(target, base, texts, options.vocabulary) for texts in grid.points(axes)
    ]
    name = target_name(spec, target_from, target)
    return run_sweep(target, name, [a.name for a in axes], plans, options, budgets, predictions)


def sweep_values(
    target: Target,
    base: CallPlan,
    name: str,
    over: Mapping[str, Sequence[Any]],
    static_names: set[str],
    options: Options,
    *,
    budgets: Mapping[str, float] | None = None,
    predictions: Mapping[str, float] | None = None,
) -> SweepReport:
    """The sweep of a Python function over Python values (`jaxexplain.sweep`), `base` bound
    with each swept parameter's first value: every value keeps its parameter's role there."""
    names = list(over)
    combos = grid.points([grid.Axis(n, tuple(map(str, range(len(over[n])))), False) for n in names])
    plans = [
        plan_with_values(target, base, {n: over[n][int(i)] for n, i in combo.items()}, static_names)
        for combo in combos
    ]
    return run_sweep(target, name, names, plans, options, budgets, predictions)


def run_sweep(
    target: Target,
    name: str,
    names: Sequence[str],
    plans: Sequence[CallPlan],
    options: Options,
    budgets: Mapping[str, float] | None,
    predictions: Mapping[str, float] | None,
) -> SweepReport:
    """Explains every point in order, each after `jax.clear_caches()`, and the sweep of them;
    an interrupt (Ctrl-C) ends the sweep with the points explained so far, said in a note."""
    axes = swept_axes(names, plans)
    sizes = {a.name: axis_sizes(a.name, plans) for a in axes}
    reports: list[TraceReport] = []
    points: list[SweepPoint] = []
    interrupted = 0
    try:
        _warm_up(target, plans[0], name, options.told_as(words.warming_up_text))
        for index, plan in enumerate(plans):
            jax.clear_caches()
            values = {a.name: shown_value(plan, a.name) for a in axes}
            told = partial(words.point_stage_text, index + 1, len(plans), values)
            report = explain(target, plan, name, options.told_as(told))
            previous = reports[-1] if reports else None
            points.append(point_of(report, values, {n: sizes[n][index] for n in sizes}, previous))
            reports.append(report)
    except KeyboardInterrupt as exc:
        interrupted = interrupt_status(exc)
    done = tuple(plans[: len(points)])
    measured = Measured(target, tuple(axes), done, tuple(reports), tuple(points))
    notes = sweep_notes(options.compile, _jax_compat.disk_cache_dir())
    if interrupted:
        notes += (interrupted_text(len(points), len(plans)),)
    return findings(
        SweepReport(
            target=name,
            function=function_info(target.function),
            over=tuple(axes),
            points=tuple(points),
            compiled=options.compile,
            notes=notes,
            jax_version=jax.__version__,
            interrupted=bool(interrupted),
            interrupt_status=interrupted,
        ),
        measured,
        options.vocabulary,
        budgets or {},
        predictions or {},
    )


def _warm_up(target: Target, plan: CallPlan, name: str, options: Options) -> None:
    """Explains the first point once, uncounted: the first trace and compile in a process pay
    for loading JAX's and XLA's own code, which would make the first point look costlier."""
    jax.clear_caches()
    explain(target, plan, name, options)


def point_of(
    report: TraceReport,
    values: dict[str, Any],
    sizes: dict[str, float | None],
    previous: TraceReport | None,
) -> SweepPoint:
    """The figures of one point's report, and its decisions that changed from the point before."""
    compiled = report.compile
    changes = decision_changes(previous, report) if previous is not None else ()
    return SweepPoint(
        values=values,
        sizes=sizes,
        equations=report.jaxpr.equations if report.jaxpr else None,
        equations_nested=report.jaxpr.equations_total if report.jaxpr else None,
        trace_seconds=report.trace_seconds,
        lower_seconds=compiled.lower_seconds if compiled else None,
        compile_seconds=compiled.compile_seconds if compiled else None,
        flops=compiled.flops if compiled else None,
        bytes_accessed=compiled.bytes_accessed if compiled else None,
        memory=compiled.memory if compiled else None,
        decision_changes=changes if previous is not None and previous.ok else (),
        error=report.error,
    )


def swept_axes(names: Sequence[str], plans: Sequence[CallPlan]) -> list[SweepAxis]:
    """Each swept parameter with its distinct values in the order the points take them."""
    axes = []
    for name in names:
        param = _param(plans[0], name)
        shown = list(dict.fromkeys(_hashable(shown_value(plan, name)) for plan in plans))
        axes.append(SweepAxis(name, tuple(shown), "static" if param.static else "traced"))
    return axes


def shown_value(plan: CallPlan, name: str) -> Any:
    """A swept value as JSON holds it: a static number, bool or string itself, another static
    as its repr, a traced argument as its abstract value (`f32[16,128]`)."""
    param = _param(plan, name)
    if not param.static:
        return describe_aval(wrappers.traced_part(param.value))
    value = param.value
    if isinstance(value, bool | int | float | str) and not isinstance(value, np.generic):
        return value
    return repr(value)


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def axis_sizes(name: str, plans: Sequence[CallPlan]) -> list[float | None]:
    """The swept value at each point as a number: a static int or float itself; for a traced
    argument, the one dimension that varies over the points (else its element count)."""
    params = [_param(plan, name) for plan in plans]
    if params[0].static:
        return [_number(p.value) for p in params]
    shapes = [_shapes(p.value) for p in params]
    ranks = {len(shape) for shape in shapes}
    varying = [i for i in range(len(shapes[0])) if len({s[i] for s in shapes}) > 1]
    if len(ranks) == 1 and len(varying) == 1:
        return [float(shape[varying[0]]) for shape in shapes]
    return [float(math.prod(shape)) for shape in shapes]


def _shapes(value: Any) -> tuple[int, ...]:
    """Every dimension of every array leaf of a traced value, leaf after leaf."""
    leaves = jax.tree_util.tree_leaves(wrappers.traced_part(value))
    return tuple(int(d) for leaf in leaves for d in np.shape(leaf))


def _number(value: Any) -> float | None:
    if isinstance(value, bool | np.bool_):
        return None
    return float(value) if isinstance(value, int | float | np.integer | np.floating) else None


def _param(plan: CallPlan, name: str) -> Any:
    return next(p for p in plan.params if p.name == name)
