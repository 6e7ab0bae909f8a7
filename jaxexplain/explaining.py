"""One explanation, start to end: trace the plan, record its decisions, lower and compile
(overlapping the report's own Python work), and build the report; both sides of a diff.

The CLI and the public functions in `jaxexplain.api` call in here; `jaxexplain.inputs` turns
what they were given into a `Target` and a `CallPlan` (in the caller's words when it cannot),
and everything after that happens here.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import jax
import numpy as np

from jaxexplain import _jax_compat
from jaxexplain._py_compat import RECORDING_SLOWS_TRACING
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.inputs import specs
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.inputs.calling import CallPlan, user_function
from jaxexplain.inputs.targets import prepare_target, target_name
from jaxexplain.inputs.variation import plan_with_factory, plan_with_texts
from jaxexplain.renderers import words
from jaxexplain.report import (
    Argument,
    CompileInfo,
    DiffReport,
    FunctionInfo,
    PersistentKey,
    TraceReport,
    Verification,
)
from jaxexplain.tracing import verify, wrappers
from jaxexplain.tracing.cache_key import static_hash_notes, static_repr
from jaxexplain.tracing.stages import (
    Stages,
    Target,
    cache_key_of,
    compile_with_disk_key,
    jaxpr_info,
    lower_stages,
    printed_credits,
    trace_plan,
    with_loop_equations,
)
from jaxexplain.userfiles import counted_as_user_code


def silently(stage: str) -> None:
    """Says nothing: the library works without a word unless its caller asks for the stages."""


@dataclass(frozen=True)
class Options:
    """Whose words the report speaks, what to compute beyond the trace itself, and whom to tell
    each stage as it starts (the CLI's progress line; nobody for the library)."""

    vocabulary: Vocabulary
    compile: bool = True
    hlo: bool = False
    stablehlo: bool = False
    on_stage: Callable[[str], object] = silently

    def told_as(self, prefix: Callable[[str], str]) -> Options:
        """These options, each stage told through `prefix` (which side, which point)."""
        tell = self.on_stage
        return replace(self, on_stage=lambda stage: tell(prefix(stage)))


def explain_target(
    spec: str | None,
    static: Mapping[str, Any],
    traced: Mapping[str, Any],
    args_from: str | None,
    options: Options,
    *,
    target_from: str | None = None,
    while_compiling: Callable[[], object] | None = None,
) -> TraceReport:
    """The report of a TARGET string, or of the function a `target_from` factory returns, with
    its values and factory (`trace_target`, the CLI)."""
    options.on_stage(words.IMPORTING_TARGET)
    target, plan = prepare_target(
        spec, static, traced, args_from, target_from=target_from, vocabulary=options.vocabulary
    )
    name = target_name(spec, target_from, target)
    return explain(target, plan, name, options, while_compiling=while_compiling)


def diff_target_texts(
    spec: str | None,
    static: Mapping[str, Any],
    traced: Mapping[str, Any],
    vs: Mapping[str, str],
    args_from: str | None,
    options: Options,
    *,
    target_from: str | None = None,
    vs_from: str | None = None,
    verify_limit: int | None,
) -> DiffReport:
    """The diff of a TARGET string (or a `target_from` factory's function) whose side B is
    side A with the `vs_from` factory's values, then each NAME -> VALUE text of `vs`, applied
    (`diff_target`, the CLI)."""
    options.on_stage(words.IMPORTING_TARGET)
    target, plan_a = prepare_target(
        spec, static, traced, args_from, target_from=target_from, vocabulary=options.vocabulary
    )
    plan_b, made = (
        plan_with_factory(target, plan_a, vs_from, options.vocabulary) if vs_from else (plan_a, {})
    )
    plan_b = plan_with_texts(target, plan_b, vs, options.vocabulary)
    return diff_plans(
        target,
        plan_a,
        plan_b,
        target_name(spec, target_from, target),
        options,
        verify_limit=verify_limit,
        vs={**made, **vs},
    )


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
        notes=_notes(target, plan, options.vocabulary) + static_hash_notes(plan),
    )
    recorder = DecisionRecorder(target.function, parameter_roles(plan))
    record_later = options.compile and RECORDING_SLOWS_TRACING
    from jaxexplain.explain.leaks import tracers_in_user_globals

    held_before = tracers_in_user_globals(target)
    options.on_stage(words.TRACING_ONLY)
    try:
        with contextlib.nullcontext() if record_later else recorder:
            stages = trace_plan(target, plan)
    except Exception as exc:
        if record_later:
            _record_again(recorder, target, plan, options)
            base = _ran_again_note(base, recorder)
        from jaxexplain.explain.dispatch import explain_failure

        return replace(
            base,
            error=explain_failure(exc, target, plan, recorder, options.vocabulary),
            decisions=recorder.decisions(),
            decisions_unavailable=recorder.unavailable,
        )
    if _jax_compat.leaked_tracers(stages.traced):
        if record_later:
            _record_again(recorder, target, plan, options)
            base = _ran_again_note(base, recorder)
        from jaxexplain.explain.leaks import leaked_tracer_error

        report = _traced_report(base, target, plan, stages, recorder)
        return replace(report, error=leaked_tracer_error(target, stages))
    from jaxexplain.explain.leaks import global_leak_error, tracer_in_user_globals

    leaked_global = tracer_in_user_globals(target, held_before)
    if leaked_global is not None:
        if record_later:
            _record_again(recorder, target, plan, options)
            base = _ran_again_note(base, recorder)
        report = _traced_report(base, target, plan, stages, recorder)
        return replace(report, error=global_leak_error(*leaked_global))
    if not options.compile:
        return _traced_report(base, target, plan, stages, recorder)
    with ThreadPoolExecutor(max_workers=1) as pool:
        compiled = _lower_then_compile(pool, stages, options)
        if record_later:
            _record_again(recorder, target, plan, options)
            base = _ran_again_note(base, recorder)
        report = _traced_report(base, target, plan, stages, recorder)
        if while_compiling is not None:
            while_compiling()
        return _compiled(report, compiled)


def _record_again(
    recorder: DecisionRecorder, target: Target, plan: CallPlan, options: Options
) -> None:
    """Runs the trace again under the recorder, for its decisions alone; a failing trace fails
    again, and the decisions up to the failure are what the report shows."""
    options.on_stage(words.RECORDING)
    with contextlib.suppress(Exception), recorder:
        trace_plan(target, plan)


def _ran_again_note(report: TraceReport, recorder: DecisionRecorder) -> TraceReport:
    """The report saying how often the function's body ran where it was traced a second time
    for its decisions: its side effects (a print, an append to a list) happened that often."""
    runs = 1 + recorder.root_runs
    if runs == 1:
        return report
    note = (
        f"the function's body ran {runs} times while jaxexplain traced it (JAX runs it once "
        f"per trace), so its side effects happened {runs} times: once for the jaxpr and once "
        "more for its decisions, recorded while XLA compiled (recording slows Python 3.11's "
        "tracing of all code, JAX's included)"
    )
    return replace(report, notes=(*report.notes, note))


def _traced_report(
    base: TraceReport, target: Target, plan: CallPlan, stages: Stages, recorder: DecisionRecorder
) -> TraceReport:
    """The report of a successful trace: cache key, jaxpr, decisions and annotated source."""
    inner = _jax_compat.inner_jaxpr(stages.traced)
    credits = printed_credits(inner)
    jaxpr = jaxpr_info(inner, credits)
    return replace(
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
) -> Callable[[], tuple[CompileInfo, PersistentKey | None]]:
    """Lowers here (so that its time is its own) and starts XLA's compile in `pool`.

    Returns what waits for the figures, raising what lowering or compiling raised."""
    options.on_stage(words.LOWERING)
    try:
        lowered = lower_stages(stages)
    except Exception as exc:
        failure = exc

        def reraise() -> tuple[CompileInfo, PersistentKey | None]:
            raise failure

        return reraise
    options.on_stage(words.COMPILING)
    return pool.submit(
        compile_with_disk_key, lowered, hlo=options.hlo, stablehlo=options.stablehlo
    ).result


def _compiled(
    report: TraceReport, compile: Callable[[], tuple[CompileInfo, PersistentKey | None]]
) -> TraceReport:
    """The report with XLA's figures and the disk key, or with the error that lowering or
    compiling raised."""
    try:
        compiled, persistent = compile()
    except Exception as exc:
        from jaxexplain.explain.frames import error_info

        return replace(report, error=error_info(exc))
    return replace(report, compile=compiled, persistent=persistent)


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


def _notes(target: Target, plan: CallPlan, vocabulary: Vocabulary) -> tuple[str, ...]:
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
    return tuple(notes) + _x64_notes(plan, vocabulary)


def _decorator_statics_in_call(plan: CallPlan) -> tuple[str, ...]:
    """The decorator's static names that are arguments of this call (passed, or a default of
    the signature): a name in `static_argnames` that the call never passes, such as one meant
    for a `**kwargs` nobody filled, has no argument row and no cache-key entry to explain."""
    in_call = {p.name for p in plan.params if p.static and (p.passed or p.source == "default")}
    return tuple(name for name in plan.decorator_statics if name in in_call)


_X64_ON = {
    "cli": "set JAX_ENABLE_X64=1",
    "api": 'call jax.config.update("jax_enable_x64", True)',
    "program": 'call jax.config.update("jax_enable_x64", True) in the program',
}


def _x64_notes(plan: CallPlan, vocabulary: Vocabulary) -> tuple[str, ...]:
    """64-bit arrays that JAX traces as 32-bit, silently, while `jax_enable_x64` is off; how to
    turn it on depends on the caller: the command line reads the environment, a notebook's JAX
    is already imported and takes `jax.config.update`."""
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
        f"jax_enable_x64 is off ({_X64_ON[vocabulary.caller]} to keep 64-bit types)",
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
        aval = _jax_compat.typeof(leaf)
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
    from jaxexplain.diffing import make_traced
    from jaxexplain.diffing import reports as diffing

    report = diffing.diff(
        explain(target, plan_a, target_name, options.told_as(partial(words.side_stage_text, "A"))),
        explain(target, plan_b, target_name, options.told_as(partial(words.side_stage_text, "B"))),
        vs=vs,
    )
    if not report.ok or report.predicted is None:
        failed = "A" if not report.a.ok else "B"
        checked = Verification(False, f"not checked: side {failed} failed")
    elif verify_limit is None:
        checked = Verification(False, "not checked: verification was turned off")
    else:
        options.on_stage(words.VERIFYING)
        checked = verify.verify(target, plan_a, plan_b, report.predicted, limit=verify_limit)
    report = diffing.with_verification(report, checked)
    if not checked.checked:
        return report  # the check of a make_traced rewrite calls JAX just as verification does
    return make_traced.with_make_traced(report, target, (plan_a, plan_b), options.vocabulary)
