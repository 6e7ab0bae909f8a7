"""The library's public functions, for notebooks, scripts and tests: `trace`, `trace_target`,
`diff`, `diff_target`, `sweep`, `merge`.

Each binds what its caller gave (`jaxexplain.inputs`) and hands the target and its call plan
to `jaxexplain.explaining`; usage errors name the API's parameters (the CLI, which calls
`jaxexplain.explaining` itself, names its flags).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from jaxexplain.errors import UsageError
from jaxexplain.explaining import Options, diff_plans, diff_target_texts, explain, explain_target
from jaxexplain.inputs.caller import FUNCTION_API, TARGET_API
from jaxexplain.inputs.targets import function_plan, name_of, static_names
from jaxexplain.inputs.variation import plan_with_values, shown_values
from jaxexplain.report import DiffReport, SweepReport, TraceReport, WatchMerge, WatchReport
from jaxexplain.tracing import verify


def trace(
    fn: Callable[..., Any],
    *args: Any,
    static_argnames: Iterable[str] | str = (),
    compile: bool = True,
    hlo: bool = False,
    stablehlo: bool = False,
    **kwargs: Any,
) -> TraceReport:
    """Explains what `jax.jit` does with `fn` for one call, from a notebook or a script.

    Args:
        fn: a plain function or a `jax.jit`-wrapped one (its decorator's statics are kept).
        *args: positional arguments: arrays, `jax.ShapeDtypeStruct`s, spec strings such as
            "f32[8,128]", Python scalars, or pytrees of these.
        static_argnames: parameters to treat as static, in addition to the decorator's.
        compile: also lower and compile with XLA (cost and memory analysis).
        hlo: keep the optimized HLO text.
        stablehlo: keep the StableHLO text.
        **kwargs: keyword arguments, as for `args`.

    Returns:
        The report; `report.error` explains a failed trace.
    """
    target, plan = function_plan(fn, args, static_names(static_argnames), kwargs)
    return explain(target, plan, name_of(fn), Options(FUNCTION_API, compile, hlo, stablehlo))


def trace_target(
    target: str | None = None,
    static: Mapping[str, Any] | None = None,
    traced: Mapping[str, Any] | None = None,
    *,
    args_from: str | None = None,
    target_from: str | None = None,
    compile: bool = True,
    hlo: bool = False,
    stablehlo: bool = False,
    while_compiling: Callable[[], object] | None = None,
) -> TraceReport:
    """Explains a TARGET string as the CLI does (`pkg.mod:fn`, `file.py:fn`, `mod:Class.method`),
    or the function a factory returns.

    Args:
        target: what to load; None with `target_from`.
        static: static values by parameter name (already parsed).
        traced: traced values by parameter name: `specs.ArraySpec`s, literals, pytrees of specs.
        args_from: `MOD:FACTORY` returning keyword arguments or an `(args, kwargs)` pair.
        target_from: `MOD:FACTORY` returning the function to explain (a closure, a partial, a
            function jitted inside it), or `(function, kwargs)`, or `(function, args,
            kwargs)`; instead of `target`.
        compile: also lower and compile.
        hlo: keep the optimized HLO text.
        stablehlo: keep the StableHLO text.
        while_compiling: the caller's own work, run on this thread while XLA compiles.

    Returns:
        The report.
    """
    return explain_target(
        target,
        static or {},
        traced or {},
        args_from,
        Options(TARGET_API, compile, hlo, stablehlo),
        target_from=target_from,
        while_compiling=while_compiling,
    )


def diff(
    fn: Callable[..., Any],
    *args: Any,
    vs: Mapping[str, Any],
    static_argnames: Iterable[str] | str = (),
    compile: bool = True,
    verify_limit: int | None = verify.DEFAULT_LIMIT,
    **kwargs: Any,
) -> DiffReport:
    """Why JAX recompiles `fn` when some arguments change, and what changes in the trace.

    Side A is the call `fn(*args, **kwargs)`; side B is the same call with the values in `vs`
    (each keeps its role: a static stays static, a traced argument stays traced; a parameter
    not passed on side A is static on B if named in `static_argnames` or the decorator).

    Args:
        fn: a plain function or a `jax.jit`-wrapped one.
        *args: side A's positional arguments, as for `trace`.
        vs: new values by parameter name for side B: Python values for statics; arrays,
            `jax.ShapeDtypeStruct`s, spec strings ("f32[8]") or pytrees of them for traced ones.
        static_argnames: parameters to treat as static, in addition to the decorator's.
        compile: also compile both sides (XLA figures side by side).
        verify_limit: the most input bytes per side for checking the verdict by calling the
            jitted function on zeros; None skips that check. The check empties JAX's dispatch
            cache for `fn` (jit wrappers of one function share it): the next call compiles.
        **kwargs: side A's keyword arguments.

    Returns:
        The diff report: verdict, every differing cache-key component, flipped decisions,
        the jaxpr diff, compile figures, and whether JAX confirmed the verdict.
    """
    statics = static_names(static_argnames)
    target, plan_a = function_plan(fn, args, statics, kwargs)
    plan_b = plan_with_values(target, plan_a, vs, statics)
    return diff_plans(
        target,
        plan_a,
        plan_b,
        name_of(fn),
        Options(FUNCTION_API, compile),
        verify_limit=verify_limit,
        vs=shown_values(vs),
    )


def diff_target(
    target: str | None = None,
    static: Mapping[str, Any] | None = None,
    traced: Mapping[str, Any] | None = None,
    vs: Mapping[str, str] | None = None,
    *,
    args_from: str | None = None,
    target_from: str | None = None,
    vs_from: str | None = None,
    compile: bool = True,
    hlo: bool = False,
    stablehlo: bool = False,
    verify_limit: int | None = verify.DEFAULT_LIMIT,
) -> DiffReport:
    """Diffs a TARGET string as the CLI does: side B is side A with the `vs_from` factory's
    values and then every `vs` applied.

    Args:
        target: what to load; None with `target_from`.
        static: side A's static values by name (already parsed).
        traced: side A's traced values by name (already parsed specs).
        vs: NAME -> VALUE text for side B, read by the parameter's role on side A: a static
            literal for a static parameter, a spec for a traced one; for a parameter not passed
            on side A, static if its jit decorator says so or the text is no array spec.
        args_from: `MOD:FACTORY` for side A's arguments.
        target_from: `MOD:FACTORY` returning the function (and maybe its arguments), instead
            of `target`.
        vs_from: `MOD:FACTORY` returning side B's values (keyword arguments, or an `(args,
            kwargs)` pair): objects no text can spell, each keeping its parameter's role.
        compile: also compile both sides.
        hlo: keep the optimized HLO texts.
        stablehlo: keep the StableHLO texts.
        verify_limit: the most input bytes per side for checking the verdict against JAX;
            None skips the check.

    Returns:
        The diff report.
    """
    return diff_target_texts(
        target,
        static or {},
        traced or {},
        vs or {},
        args_from,
        Options(TARGET_API, compile, hlo, stablehlo),
        target_from=target_from,
        vs_from=vs_from,
        verify_limit=verify_limit,
    )


def sweep(
    fn: Callable[..., Any],
    *args: Any,
    over: Mapping[str, Sequence[Any]],
    static_argnames: Iterable[str] | str = (),
    compile: bool = True,
    budget: Mapping[str, float] | None = None,
    predict: Mapping[str, float] | None = None,
    **kwargs: Any,
) -> SweepReport:
    """How the trace and compile cost of `fn` grow over swept values, before they ship.

    Each point is `fn(*args, **kwargs)` with the swept values applied, traced (and compiled)
    afresh after `jax.clear_caches()`. Several `over` entries make a grid.

    Args:
        fn: a plain function or a `jax.jit`-wrapped one.
        *args: positional arguments, as for `trace`.
        over: values by parameter name, in order: Python values for a static (name it in
            `static_argnames` or the decorator), spec strings ("f32[16,128]"), arrays or
            `jax.ShapeDtypeStruct`s for a traced argument.
        static_argnames: parameters to treat as static, in addition to the decorator's.
        compile: also lower and compile every point (XLA's seconds, flops and memory).
        budget: the most each figure may reach ("compile_seconds", "equations", ...): the
            report's `budget_exceeded` names the first point over each, and `ok` is False.
        predict: a value per swept name to extrapolate every fitted figure to.
        **kwargs: keyword arguments, as for `trace`.

    Returns:
        The sweep report: every point's figures and decision changes, growth laws,
        predictions, budgets, the loops that unroll with the swept value, and fixes.
    """
    from jaxexplain.sweeping import grid
    from jaxexplain.sweeping.running import sweep_values

    statics = static_names(static_argnames)
    given = {name: values[0] for name, values in over.items() if values}
    if len(given) != len(over) or not over:
        raise UsageError("over needs at least one value for every swept parameter")
    grid.check_budgets(budget or {})
    target, base = function_plan(fn, args, statics, {**kwargs, **given})
    return sweep_values(
        target,
        base,
        name_of(fn),
        over,
        statics,
        Options(FUNCTION_API, compile),
        budgets=budget,
        predictions=predict,
    )


def merge(*reports: WatchReport | str) -> WatchMerge:
    """Lines up the watch reports of the processes of one `jax.distributed` run.

    Every process must compile the same programs in the same order, or the collectives of one
    wait forever for the others: each function's n-th compilation is compared across the
    processes by its cache key, and every process that compiled what the others did not (or
    did not compile what they did) is a divergence, with the key components behind it.

    Args:
        *reports: `WatchReport`s (`watch()` inside each process) or paths of the JSON files
            `jaxexplain watch -o watch.json` wrote (`watch.p0.json`, `watch.p1.json`, ...).

    Returns:
        The merge: processes, compilations per function and process, divergences.
    """
    from jaxexplain.watching.merge import load_watch, merge_reports

    loaded = [
        (report, load_watch(report)) if isinstance(report, str) else ("", report)
        for report in reports
    ]
    return merge_reports(loaded)
