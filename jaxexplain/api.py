"""The library API that the CLI and notebooks share: `trace(...)`, `trace_target(...)`, `diff(...)`."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import jax

from jaxexplain import _jax_compat
from jaxexplain.decisions.recorder import RECORDING_SLOWS_TRACING, DecisionRecorder
from jaxexplain.errors import UsageError
from jaxexplain.inputs import specs
from jaxexplain.inputs.calling import BoundParam, CallPlan, plan_call, user_function
from jaxexplain.inputs.loader import call_user, load_factory, load_target
from jaxexplain.report import (
    Argument,
    CompileInfo,
    DiffReport,
    FunctionInfo,
    Source,
    TraceReport,
    Verification,
)
from jaxexplain.tracing import verify, wrappers
from jaxexplain.tracing.cache_key import static_hash_notes, static_repr
from jaxexplain.tracing.stages import (
    Stages,
    Target,
    cache_key_of,
    compile_lowered,
    jaxpr_info,
    lower_stages,
    printed_credits,
    trace_plan,
    with_loop_equations,
)
from jaxexplain.userfiles import counted_as_user_code


@dataclass(frozen=True)
class Options:
    """What to compute beyond the trace itself."""

    compile: bool = True
    hlo: bool = False
    stablehlo: bool = False


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
    target, plan = _api_plan(fn, args, _names(static_argnames), kwargs)
    return explain(target, plan, _name_of(fn), Options(compile, hlo, stablehlo))


def _names(static_argnames: Iterable[str] | str) -> set[str]:
    return {static_argnames} if isinstance(static_argnames, str) else set(static_argnames)


def _api_plan(
    fn: Callable[..., Any], args: tuple[Any, ...], statics: set[str], kwargs: Mapping[str, Any]
) -> tuple[Target, CallPlan]:
    """Binds an API call's values: statics kept as given, spec strings made abstract arrays."""
    fn, args = _unbind_jitted_method(fn, args)
    fn, bound_args, bound_kwargs = _unbind_partial_of_jitted(fn)
    args = (*bound_args, *args)
    kwargs = {**bound_kwargs, **kwargs}
    target = Target.of(fn)
    decorator_statics = target.decorator_statics()
    static_everywhere = statics | set(decorator_statics)
    names = [
        p.name
        for p in inspect.signature(target.function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    positional = tuple(
        a if i < len(names) and names[i] in static_everywhere else _parse_api_leaves(a)
        for i, a in enumerate(args)
    )
    plan = plan_call(
        target.function,
        {k: v for k, v in kwargs.items() if k in static_everywhere},
        {k: _parse_api_leaves(v) for k, v in kwargs.items() if k not in static_everywhere},
        decorator_statics=decorator_statics,
        static_names=statics,
        source="api",
        sources=_partial_sources(bound_kwargs, kwargs),
        positional=positional,
    )
    return target, _as_library_calls(target, plan)


def _as_library_calls(target: Target, plan: CallPlan) -> CallPlan:
    """The plan split as the target's library wrapper splits its arguments."""
    return wrappers.filter_jit_plan(plan) if target.library == wrappers.FILTER_JIT else plan


def _unbind_jitted_method(
    fn: Callable[..., Any], args: tuple[Any, ...]
) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """`model.apply` of a jitted method is the jit wrapper with `self` as its first argument.

    The bound method forwards `__wrapped__` and the jit options of the wrapper, whose function
    still takes `self`: traced as it is, the first array would be taken for `self`.
    """
    if inspect.ismethod(fn) and _jax_compat.is_jitted(fn.__func__):
        return fn.__func__, (fn.__self__, *args)
    return fn, args


def _unbind_partial_of_jitted(
    fn: Any,
) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    """`partial(jitted_fn, n_layers=2)`: the jitted function and the arguments bound to it.

    Calling the partial calls the jit wrapper with those arguments, so JAX's cache is the
    wrapper's, keyed on them (statics by the decorator's `static_argnames` included); traced
    as a function of its own, the partial would be another jit around a nested `jit` call.
    """
    if wrappers.is_partial(fn) and (
        _jax_compat.is_jitted(fn.func) or wrappers.library_wrapper(fn.func)
    ):
        return fn.func, tuple(fn.args), dict(fn.keywords)
    return fn, (), {}


def _partial_sources(
    bound_kwargs: Mapping[str, Any], kwargs: Mapping[str, Any]
) -> dict[str, Source]:
    """Keywords that come from the partial, unless the call gives them again."""
    return {k: "partial" for k, v in bound_kwargs.items() if kwargs.get(k) is v}


class _Bare(str):
    """A string whose repr is itself: an abstract value inside a container's repr."""

    def __repr__(self) -> str:
        return str(self)


def _shown_value(value: Any) -> str:
    """How `vs` values read in the report: an array as its abstract value, not all its numbers,
    also inside a tuple, dict or NamedTuple of arrays (`Params(w=f32[4,2], b=f32[2])`)."""

    def shown(leaf: Any) -> Any:
        if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
            return _Bare(specs.format_aval(tuple(leaf.shape), str(leaf.dtype)))
        return leaf

    return repr(jax.tree_util.tree_map(shown, value))


def trace_target(
    target: str,
    static: Mapping[str, Any] | None = None,
    traced: Mapping[str, Any] | None = None,
    *,
    args_from: str | None = None,
    compile: bool = True,
    hlo: bool = False,
    stablehlo: bool = False,
    while_compiling: Callable[[], object] | None = None,
) -> TraceReport:
    """Explains a TARGET string as the CLI does (`pkg.mod:fn`, `file.py:fn`, `mod:Class.method`).

    Args:
        target: what to load.
        static: static values by parameter name (already parsed).
        traced: traced values by parameter name: `specs.ArraySpec`s, literals, pytrees of specs.
        args_from: `MOD:FACTORY` returning keyword arguments or an `(args, kwargs)` pair.
        compile: also lower and compile.
        hlo: keep the optimized HLO text.
        stablehlo: keep the StableHLO text.
        while_compiling: the caller's own work, run on this thread while XLA compiles.

    Returns:
        The report.
    """
    target_obj, plan = prepare_target(target, static or {}, traced or {}, args_from)
    return explain(
        target_obj, plan, target, Options(compile, hlo, stablehlo), while_compiling=while_compiling
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
    statics = _names(static_argnames)
    target, plan_a = _api_plan(fn, args, statics, kwargs)
    defaults_static = statics | set(target.decorator_statics())
    changes = {
        name: _api_change(plan_a, name, value, defaults_static) for name, value in vs.items()
    }
    plan_b = vary_plan(plan_a, changes, "api")
    shown = {name: _shown_value(value) for name, value in vs.items()}
    return diff_plans(
        target, plan_a, plan_b, _name_of(fn), Options(compile), verify_limit=verify_limit, vs=shown
    )


def diff_target(
    target: str,
    static: Mapping[str, Any] | None = None,
    traced: Mapping[str, Any] | None = None,
    vs: Mapping[str, str] | None = None,
    *,
    args_from: str | None = None,
    compile: bool = True,
    hlo: bool = False,
    stablehlo: bool = False,
    verify_limit: int | None = verify.DEFAULT_LIMIT,
) -> DiffReport:
    """Diffs a TARGET string as the CLI does: side B is side A with every `--vs` applied.

    Args:
        target: what to load.
        static: side A's static values by name (already parsed).
        traced: side A's traced values by name (already parsed specs).
        vs: NAME -> VALUE text for side B, read by the parameter's role on side A: a static
            literal for a static parameter, a spec for a traced one; for a parameter not passed
            on side A, static if its jit decorator says so or the text is no array spec.
        args_from: `MOD:FACTORY` for side A's arguments.
        compile: also compile both sides.
        hlo: keep the optimized HLO texts.
        stablehlo: keep the StableHLO texts.
        verify_limit: the most input bytes per side for checking the verdict against JAX;
            None skips the check.

    Returns:
        The diff report.
    """
    target_obj, plan_a = prepare_target(target, static or {}, traced or {}, args_from)
    decorator_statics = set(target_obj.decorator_statics())
    changes: dict[str, tuple[bool, Any]] = {}
    for name, text in (vs or {}).items():
        root, _, fields = name.partition(".")
        if fields:
            current = changes.get(root) or _side_a_value(plan_a, root)
            changes[root] = _field_change(current, name, text)
        else:
            changes[name] = _text_change(plan_a, name, text, decorator_statics)
    plan_b = vary_plan(plan_a, changes, "cli")
    return diff_plans(
        target_obj,
        plan_a,
        plan_b,
        target,
        Options(compile, hlo, stablehlo),
        verify_limit=verify_limit,
        vs=dict(vs or {}),
    )


def _parameter(plan: CallPlan, name: str) -> Any:
    """The parameter `--vs NAME` changes; None for a new keyword into the target's `**kwargs`."""
    for p in plan.params:
        if p.name == name:
            return p
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in plan.params):
        return None
    raise UsageError(
        f"--vs {name}: the target has no parameter {name!r}; its parameters are "
        f"{', '.join(p.name for p in plan.params)}"
    )


def _text_change(
    plan: CallPlan, name: str, text: str, decorator_statics: set[str]
) -> tuple[bool, Any]:
    """(static?, value) for `--vs NAME=TEXT`, read by the parameter's role on side A."""
    param = _parameter(plan, name)
    if param is not None and param.passed:
        static = param.static
    else:
        static = name in decorator_statics or not _spells_arrays(name, text)
    if static:
        return True, specs.parse_static_value(text)
    return False, specs.to_abstract(specs.parse_traced_value(name, text))


def _side_a_value(plan: CallPlan, name: str) -> tuple[bool, Any]:
    """(static?, value) of a parameter on side A, its default included."""
    param = _parameter(plan, name)
    if param is None:
        raise UsageError(f"--vs {name}.FIELD=...: {name} is not an argument of side A")
    return param.static, param.value


def _field_change(current: tuple[bool, Any], path: str, text: str) -> tuple[bool, Any]:
    """`--vs config.causal=False`: side A's value with one field replaced, read by its role.

    A static configuration (a NamedTuple, a dataclass, a dict) cannot be spelled as a literal,
    so a field is changed in place; a traced pytree's leaf is changed the same way."""
    static, value = current
    new = (
        specs.parse_static_value(text)
        if static
        else specs.to_abstract(specs.parse_traced_value(path, text))
    )
    root, *fields = path.split(".")
    return static, _with_field(value, fields, new, root)


def _with_field(value: Any, fields: list[str], new: Any, where: str) -> Any:
    """A copy of `value` whose field (attribute or dict key) `fields[0]`... is `new`."""
    name, rest = fields[0], fields[1:]
    here = f"{where}.{name}"
    names = _field_names(value)
    if names is None or name not in names:
        has = f" with fields {', '.join(names)}" if names else ", which has no fields to change"
        raise UsageError(
            f"--vs {here}=...: {where} is {_a(type(value).__name__)}{has}; --vs NAME.FIELD=VALUE "
            f"changes a field of a NamedTuple, a dataclass or a dict"
        )
    current = value[name] if isinstance(value, Mapping) else getattr(value, name)
    inner = _with_field(current, rest, new, here) if rest else new
    if isinstance(value, Mapping):
        return {**value, name: inner}
    if isinstance(value, tuple):
        return value._replace(**{name: inner})  # type: ignore[attr-defined]
    return dataclasses.replace(value, **{name: inner})


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _field_names(value: Any) -> list[str] | None:
    """The fields `--vs NAME.FIELD=...` can change: a dict's string keys, a NamedTuple's or a
    dataclass instance's fields; None for anything else."""
    if isinstance(value, Mapping):
        return [k for k in value if isinstance(k, str)]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return list(value._fields)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [f.name for f in dataclasses.fields(value)]
    return None


def _spells_arrays(name: str, text: str) -> bool:
    """True when the text is an array spec or a literal pytree of them."""
    try:
        value = specs.parse_traced_value(name, text)
    except UsageError:
        return False
    return any(isinstance(leaf, specs.ArraySpec) for leaf in jax.tree_util.tree_leaves(value))


def _api_change(
    plan: CallPlan, name: str, value: Any, defaults_static: set[str]
) -> tuple[bool, Any]:
    """(static?, value) for an API `vs` entry, by the parameter's role on side A."""
    param = _parameter(plan, name)
    static = param.static if param is not None and param.passed else name in defaults_static
    return (True, value) if static else (False, _parse_api_leaves(value))


def vary_plan(plan: CallPlan, changes: Mapping[str, tuple[bool, Any]], source: Source) -> CallPlan:
    """Side B: side A's plan with some parameters given new values (and roles), same convention.

    Args:
        plan: side A's call plan.
        changes: (static?, value) by parameter name; a name the signature lacks is a new
            keyword into its `**kwargs`.
        source: where the new values came from, for the report.

    Returns:
        The plan of side B.
    """
    params = []
    for p in plan.params:
        if p.name in changes:
            static, value = changes[p.name]
            p = replace(p, static=static, value=value, passed=True, source=source)
        params.append(p)
    known = {p.name for p in plan.params}
    params += [
        BoundParam(name, inspect.Parameter.VAR_KEYWORD, static, source, value)
        for name, (static, value) in changes.items()
        if name not in known
    ]
    return replace(plan, params=tuple(params))


def diff_plans(
    target: Target,
    plan_a: CallPlan,
    plan_b: CallPlan,
    target_name: str,
    options: Options,
    *,
    verify_limit: int | None,
    vs: dict[str, str],
) -> DiffReport:
    """Explains both sides, diffs the reports, and checks the verdict against JAX."""
    from jaxexplain.diffing import reports as diffing

    report = diffing.diff(
        explain(target, plan_a, target_name, options),
        explain(target, plan_b, target_name, options),
        vs=vs,
    )
    if not report.ok or report.predicted is None:
        failed = "A" if not report.a.ok else "B"
        checked = Verification(False, f"not checked: side {failed} failed")
    elif verify_limit is None:
        checked = Verification(False, "not checked: verification was turned off")
    else:
        checked = verify.verify(target, plan_a, plan_b, report.predicted, limit=verify_limit)
    return diffing.with_verification(report, checked)


def prepare_target(
    spec: str,
    static: Mapping[str, Any],
    traced: Mapping[str, Any],
    args_from: str | None,
) -> tuple[Target, CallPlan]:
    """Loads the target and binds the command line's values (and a factory's) to its parameters.

    A static given as `specs.GIVEN` (`--static solver` alone) keeps the value the factory gives
    it, made static: an object no literal can spell.
    """
    loaded = load_target(spec)
    fn, bound_args, bound_kwargs = _unbind_partial_of_jitted(loaded.obj)
    target = Target.of(fn)
    positional: tuple[Any, ...] = ()
    factory_kwargs: dict[str, Any] = {}
    if args_from:
        positional, factory_kwargs = _call_factory(args_from)
    given_statics = [k for k, v in static.items() if v is specs.GIVEN]
    static = {k: v for k, v in static.items() if v is not specs.GIVEN}
    _refuse_ungiven(given_statics, factory_kwargs, positional)
    positional_source: Source = "factory" if positional else "partial"
    positional = (*bound_args, *positional)
    sources: dict[str, Source] = dict.fromkeys(bound_kwargs, "partial")
    sources.update(dict.fromkeys(factory_kwargs, "factory"))
    sources.update(dict.fromkeys([*static, *traced], "cli"))
    factory_kwargs = {**bound_kwargs, **factory_kwargs}
    decorator_statics = target.decorator_statics()
    factory_static = {k: v for k, v in factory_kwargs.items() if k in decorator_statics}
    factory_traced = {k: v for k, v in factory_kwargs.items() if k not in factory_static}
    traced_values = {k: specs.to_abstract(v) for k, v in traced.items()}
    plan = plan_call(
        target.function,
        {**factory_static, **static},
        {**{k: v for k, v in factory_traced.items() if k not in static}, **traced_values},
        decorator_statics=decorator_statics,
        static_names=given_statics,
        source="cli",
        sources=sources,
        positional=positional,
        positional_source=positional_source,
    )
    _refuse_ungiven(
        [p.name for p in plan.params if p.name in given_statics and not p.passed], {}, ()
    )
    return target, _as_library_calls(target, plan)


def _refuse_ungiven(
    names: list[str], given: Mapping[str, Any], positional: tuple[Any, ...]
) -> None:
    """`--static NAME` alone keeps a value that --args-from gives NAME: a usage error where it
    gives none (its positional values are matched to names by binding them)."""
    missing = [n for n in names if n not in given]
    if missing and not positional:
        raise UsageError(
            f"--static {missing[0]} without a value makes static the value --args-from gives "
            f"{missing[0]}, but the factory gives no {' or '.join(missing)}: pass --static "
            f"{missing[0]}=VALUE with a Python literal, or return it from the factory"
        )


def _call_factory(spec: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """FACTORY() returns keyword arguments, or an `(args, kwargs)` pair."""
    result = call_user(load_factory(spec), f"calling the --args-from factory {spec}")
    if isinstance(result, Mapping):
        return (), dict(result)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping):
        return tuple(result[0]), dict(result[1])
    raise UsageError(
        f"--args-from {spec} returned a {type(result).__name__}; it must return a dict of "
        f"keyword arguments or an (args, kwargs) pair"
    )


def _parse_api_leaves(value: Any) -> Any:
    """Spec strings ("f32[3]") in API calls become abstract arrays; other values stay."""
    if isinstance(value, str):
        spec = specs.parse_array_spec(value)
        return specs.to_abstract(spec) if spec else value
    if isinstance(value, (dict, list, tuple)) and not hasattr(value, "_fields"):
        return jax.tree_util.tree_map(_parse_api_leaves, value)
    return value


def _name_of(fn: Callable[..., Any]) -> str:
    inner = _jax_compat.unwrap(fn)
    return f"{getattr(inner, '__module__', '?')}:{getattr(inner, '__qualname__', repr(inner))}"


def explain(
    target: Target,
    plan: CallPlan,
    target_name: str,
    options: Options,
    *,
    while_compiling: Callable[[], object] | None = None,
) -> TraceReport:
    """The report for one signature, the target's own file counted as user code."""
    with counted_as_user_code(function_info(target.function).file):
        return _explain(target, plan, target_name, options, while_compiling=while_compiling)


def _explain(
    target: Target,
    plan: CallPlan,
    target_name: str,
    options: Options,
    *,
    while_compiling: Callable[[], object] | None = None,
) -> TraceReport:
    """Traces the plan and, unless it failed, compiles it: the whole report for one signature.

    XLA's compile releases the GIL, so the report's Python work (the jaxpr text, the cache
    key, the annotated source) runs while it compiles, and then `while_compiling`. Where
    recording decisions slows tracing (Python 3.11), the trace runs unrecorded and a second,
    recorded run of it overlaps the compile too.
    """
    base = TraceReport(
        target=target_name,
        function=function_info(target.function),
        arguments=describe_arguments(plan),
        jax_version=_jax_compat.JAX_VERSION,
        notes=_notes(target, plan) + static_hash_notes(plan),
    )
    recorder = DecisionRecorder(target.function, parameter_roles(plan))
    record_later = options.compile and RECORDING_SLOWS_TRACING
    from jaxexplain.explain.leaks import tracers_in_user_globals

    held_before = tracers_in_user_globals(target)
    try:
        with contextlib.nullcontext() if record_later else recorder:
            stages = trace_plan(target, plan)
    except Exception as exc:
        if record_later:
            _record_again(recorder, target, plan)
        from jaxexplain.explain.dispatch import explain_failure

        return _replace(
            base,
            error=explain_failure(exc, target, plan, recorder),
            decisions=recorder.decisions(),
            decisions_unavailable=recorder.unavailable,
        )
    if _jax_compat.leaked_tracers(stages.traced):
        if record_later:
            _record_again(recorder, target, plan)
        from jaxexplain.explain.leaks import leaked_tracer_error

        report = _traced_report(base, target, plan, stages, recorder)
        return _replace(report, error=leaked_tracer_error(target, stages))
    from jaxexplain.explain.leaks import global_leak_error, tracer_in_user_globals

    leaked_global = tracer_in_user_globals(target, held_before)
    if leaked_global is not None:
        if record_later:
            _record_again(recorder, target, plan)
        report = _traced_report(base, target, plan, stages, recorder)
        return _replace(report, error=global_leak_error(*leaked_global))
    if not options.compile:
        return _traced_report(base, target, plan, stages, recorder)
    with ThreadPoolExecutor(max_workers=1) as pool:
        compiled = _lower_then_compile(pool, stages, options)
        if record_later:
            _record_again(recorder, target, plan)
        report = _traced_report(base, target, plan, stages, recorder)
        if while_compiling is not None:
            while_compiling()
        return _compiled(report, compiled)


def _record_again(recorder: DecisionRecorder, target: Target, plan: CallPlan) -> None:
    """Runs the trace again under the recorder, for its decisions alone; a failing trace fails
    again, and the decisions up to the failure are what the report shows."""
    with contextlib.suppress(Exception), recorder:
        trace_plan(target, plan)


def _traced_report(
    base: TraceReport, target: Target, plan: CallPlan, stages: Stages, recorder: DecisionRecorder
) -> TraceReport:
    """The report of a successful trace: cache key, jaxpr, decisions and annotated source."""
    inner = _jax_compat.inner_jaxpr(stages.traced)
    credits = printed_credits(inner)
    jaxpr = jaxpr_info(inner, credits)
    return _replace(
        base,
        cache_key=cache_key_of(target, plan, stages),
        jaxpr=jaxpr,
        trace_seconds=stages.trace_seconds,
        decisions=with_loop_equations(recorder.decisions(), stages.traced),
        decisions_unavailable=recorder.unavailable,
        library_decisions=recorder.library_decisions(),
        sources=recorder.listings(
            [c.user for c in credits.equations], [c.library for c in credits.equations]
        ),
    )


def _lower_then_compile(
    pool: ThreadPoolExecutor, stages: Stages, options: Options
) -> Callable[[], CompileInfo]:
    """Lowers here (so that its time is its own) and starts XLA's compile in `pool`.

    Returns what waits for the figures, raising what lowering or compiling raised."""
    try:
        lowered = lower_stages(stages)
    except Exception as exc:
        failure = exc

        def reraise() -> CompileInfo:
            raise failure

        return reraise
    return pool.submit(
        compile_lowered, lowered, hlo=options.hlo, stablehlo=options.stablehlo
    ).result


def _compiled(report: TraceReport, compile: Callable[[], CompileInfo]) -> TraceReport:
    """The report with XLA's figures, or with the error that lowering or compiling raised."""
    try:
        compiled = compile()
    except Exception as exc:
        from jaxexplain.explain.frames import error_info

        return _replace(report, error=error_info(exc))
    return _replace(report, compile=compiled)


def parameter_roles(plan: CallPlan) -> dict[str, str]:
    """Each parameter's role for the decision recorder: a default nobody passed is a constant.

    `**kwargs` itself is traced when any keyword passed into it is, static when all are.
    """
    roles = {
        p.name: "default" if not p.passed else "static" if p.static else "traced"
        for p in plan.params
    }
    into_kwargs = [p for p in plan.params if p.kind == inspect.Parameter.VAR_KEYWORD and p.passed]
    for p in plan.params:
        if p.kind == inspect.Parameter.VAR_KEYWORD and not p.passed and into_kwargs:
            roles[p.name] = "static" if all(q.static for q in into_kwargs) else "traced"
        if p.passed and not p.static:
            value = wrappers.user_value(p.value)
            roles.update({f"{p.name}.{a}": "static" for a in _aux_attributes(value)})
    return roles


def _aux_attributes(value: Any) -> list[str]:
    """The attributes of a traced pytree object that are none of its leaves: a registered
    class's aux data (`tree_flatten` returning `(children, (self.adapt,))`), or a dataclass's
    meta fields. jit keys its cache on them through the tree structure, as on a static, so a
    decision on `state.adapt` depends on that value, not on any shape."""
    if isinstance(value, (tuple, list, dict)) or not hasattr(value, "__dict__"):
        return []
    leaves = {id(leaf) for leaf in jax.tree_util.tree_leaves(value)}
    if not leaves:
        return []
    return [
        name
        for name, attribute in vars(value).items()
        if not any(id(leaf) in leaves for leaf in jax.tree_util.tree_leaves(attribute))
    ]


def _replace(report: TraceReport, **changes: Any) -> TraceReport:
    from dataclasses import replace

    return replace(report, **changes)


def _notes(target: Target, plan: CallPlan) -> tuple[str, ...]:
    notes = []
    if target.library == wrappers.FILTER_JIT:
        notes.append(wrappers.filter_jit_note(plan))
    elif target.library == wrappers.NNX_JIT:
        notes.append(wrappers.nnx_jit_note(plan))
    elif target.library is not None:
        notes.append(wrappers.unmodelled_note(target.library))
    from_decorator = _decorator_statics_in_call(plan)
    if from_decorator:
        notes.append(
            ("static argument " if len(from_decorator) == 1 else "static arguments ")
            + ", ".join(from_decorator)
            + (" comes" if len(from_decorator) == 1 else " come")
            + " from the target's jax.jit decorator"
        )
    extra = set(plan.static_names) - set(target.decorator_statics())
    if target.options is not None and extra:
        notes.append(
            f"{', '.join(sorted(extra))} made static on top of the decorator's: "
            f"traced with a new jax.jit wrapper, not the target's own cache"
        )
    return tuple(notes) + _x64_notes(plan)


def _decorator_statics_in_call(plan: CallPlan) -> tuple[str, ...]:
    """The decorator's static names that are arguments of this call (passed, or a default of
    the signature): a name in `static_argnames` that the call never passes, such as one meant
    for a `**kwargs` nobody filled, has no argument row and no cache-key entry to explain."""
    in_call = {p.name for p in plan.params if p.static and (p.passed or p.source == "default")}
    return tuple(name for name in plan.decorator_statics if name in in_call)


def _x64_notes(plan: CallPlan) -> tuple[str, ...]:
    """64-bit arrays that JAX traces as 32-bit, silently, while `jax_enable_x64` is off."""
    import numpy as np

    narrowed = []
    for param in plan.params:
        if param.static or not param.passed:
            continue
        for leaf in jax.tree_util.tree_leaves(wrappers.user_value(param.value)):
            dtype = getattr(leaf, "dtype", None)
            if isinstance(dtype, np.dtype) and jax.dtypes.canonicalize_dtype(dtype) != dtype:
                narrowed.append(f"{param.name} ({dtype} -> {jax.dtypes.canonicalize_dtype(dtype)})")
                break
    if not narrowed:
        return ()
    return (
        f"64-bit inputs traced as 32-bit: {', '.join(narrowed)}; JAX narrows them while "
        f"jax_enable_x64 is off (set JAX_ENABLE_X64=1 to keep 64-bit types)",
    )


def function_info(fn: Callable[..., Any]) -> FunctionInfo:
    """Where the function is defined (under a `jax.grad`, `jax.vmap` or `functools.partial`)."""
    fn = user_function(fn)
    code = getattr(fn, "__code__", None)
    return FunctionInfo(
        name=getattr(fn, "__name__", repr(fn)),
        file=code.co_filename if code else "",
        line=code.co_firstlineno if code else 0,
        qualname=getattr(fn, "__qualname__", ""),
    )


def describe_arguments(plan: CallPlan) -> tuple[Argument, ...]:
    """Every parameter with its role, where its value came from, and its value or abstract value."""
    described = []
    for p in plan.params:
        if not p.passed and p.source != "default":
            continue
        if p.static:
            described.append(
                Argument(
                    p.name, "static", p.source, value=static_repr(p.value), kind=p.kind.name.lower()
                )
            )
        else:
            described.append(
                Argument(
                    p.name,
                    "traced",
                    p.source,
                    aval=describe_aval(wrappers.traced_part(p.value)),
                    kind=p.kind.name.lower(),
                    pytree=pytree_kind(wrappers.user_value(p.value)),
                )
            )
    return tuple(described)


def describe_aval(value: Any) -> Any:
    """`f32[8,128]` for an array-like leaf; for a pytree, its leaves' abstract values nested by
    their key paths (`model.layers[0].weight` under "layers", 0, "weight").

    Built from the paths JAX flattens, not from the objects' attributes: an equinox module's
    static fields, a flax.nnx module's bookkeeping or a NamedTuple's empty states are no
    leaves, and only strings, dicts and lists reach the report (it must serialise as JSON).
    """
    with_paths, treedef = jax.tree_util.tree_flatten_with_path(value)
    if jax.tree_util.treedef_is_leaf(treedef) and with_paths:
        return _leaf_aval(with_paths[0][1])
    tree: dict[str, Any] = {}
    for path, leaf in with_paths:
        _insert_at(tree, [_path_key(entry) for entry in path], _leaf_aval(leaf))
    return _lists_where_indexed(tree)


def pytree_kind(value: Any) -> str | None:
    """What a traced pytree argument is, in the user's words: `Batch (NamedTuple)`, `MLP`,
    `dict`; None for a single array."""
    if jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(value)):
        return None
    name = type(value).__name__
    return (
        f"{name} (NamedTuple)" if isinstance(value, tuple) and hasattr(value, "_fields") else name
    )


def _leaf_aval(leaf: Any) -> str:
    try:
        aval = jax.typeof(leaf)
    except TypeError:
        return f"<{type(leaf).__name__}: not an array>"
    return specs.format_aval(
        tuple(aval.shape), str(aval.dtype), bool(getattr(aval, "weak_type", False))
    )


def _path_key(entry: Any) -> str | int:
    """One key-path entry as a dict key (attribute, dict key) or a list index."""
    for attribute in ("name", "key"):
        if hasattr(entry, attribute):
            return str(getattr(entry, attribute))
    index = getattr(entry, "idx", None)
    return int(index) if index is not None else str(entry)


def _insert_at(tree: dict[Any, Any], keys: list[str | int], leaf: str) -> None:
    node = tree
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1] if keys else ""] = leaf


def _lists_where_indexed(tree: Any) -> Any:
    """Nodes keyed 0..n-1 by sequence indices become lists; other keys become strings."""
    if not isinstance(tree, dict):
        return tree
    items = {key: _lists_where_indexed(child) for key, child in tree.items()}
    if (
        items
        and all(isinstance(key, int) for key in items)
        and sorted(items) == list(range(len(items)))
    ):
        return [items[i] for i in range(len(items))]
    return {str(key): child for key, child in items.items()}
