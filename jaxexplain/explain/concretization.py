"""Concretization failures: a tracer reached Python control flow or a conversion (`if`,
`range`, `int()`, a boolean mask, NumPy), or a library rejected a traced value; where, from
which arguments, and the fixes that re-tracing proved."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax

from jaxexplain import _jax_compat
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.explain.carried import explain_carried
from jaxexplain.explain.constructs import Construct
from jaxexplain.explain.dependencies import dependencies, provenance, uses_at_target
from jaxexplain.explain.frames import (
    JAX_PACKAGES,
    LibrarySite,
    Site,
    UserFrame,
    columns,
    error_info,
    frames_below_target,
    library_site,
    line_text,
    read_sites,
    user_frames,
)
from jaxexplain.explain.retrace import MAX_RETRACES, Budget, proven_first
from jaxexplain.explain.rewrite_fixes import rewrite_suggestions
from jaxexplain.explain.static_fixes import (
    StaticTrial,
    make_static_suggestions,
    probe_statics,
    probed_dependencies,
    responsible,
)
from jaxexplain.explain.values import (
    array_value_params,
    aval_text,
    concrete_scalar,
    is_number_mapping,
    is_number_sequence,
    is_python_number,
    scalar_without_value,
    traced_scalars,
)
from jaxexplain.explain.wording import (
    ADVICE,
    NEEDS,
    and_join,
    capitalised,
    expression_text,
    it_or_them,
)
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.inputs.calling import BoundParam, CallPlan
from jaxexplain.report import Dependency, ErrorInfo, Suggestion
from jaxexplain.tracing.stages import Target


def explain_concretization(
    exc: BaseException,
    target: Target,
    plan: CallPlan,
    recorder: DecisionRecorder | None,
    vocabulary: Vocabulary,
) -> ErrorInfo:
    """A tracer reached Python control flow or a conversion: where, from what, and what works."""
    sites = read_sites(frames_below_target(user_frames(exc), target))
    if sites:
        sites[-1] = _jitted_static(exc, _mask_index(exc, sites[-1]))
    carried = explain_carried(exc, target, plan, sites, recorder, vocabulary)
    if carried is not None:
        return carried
    base = error_info(exc)
    site = sites[-1] if sites else None
    construct = site.construct if site else None
    library = library_site(exc)
    depends_on = dependencies(exc, target, plan, sites)
    budget = Budget(MAX_RETRACES)
    trials: list[StaticTrial] | None = None
    if _source_cannot_tell(exc, target, sites, library):
        trials = probe_statics(exc, target, plan, _probe_candidates(plan, depends_on), budget)
        depends_on = probed_dependencies(depends_on, trials)
    if _inside_library_call(library, sites):
        depends_on = [d for d in depends_on if d.via == "value"]
    from_constants = _from_constants(exc, target, sites, depends_on) and trials is None
    suggestions = make_static_suggestions(
        target, plan, depends_on, construct, exc, budget, trials, vocabulary=vocabulary
    )
    data_dependent = array_value_params(plan, depends_on)
    if site is not None and construct is not None and site.function is not None:
        suggestions += rewrite_suggestions(target, plan, site, sites, budget, from_constants)
        advice = ADVICE.get(construct.kind)
        if advice and not any(s.verified for s in suggestions):
            suggestions.append(Suggestion("advice", (), advice))
    explanation = concretization_text(
        site, construct, depends_on, plan, data_dependent, from_constants, library, trials
    )
    return dataclasses.replace(
        base,
        file=site.frame.file if site else base.file,
        line=site.frame.line if site else base.line,
        depends_on=tuple(depends_on),
        suggestions=proven_first(suggestions),
        construct=construct.kind if construct else None,
        explanation=explanation,
        column=columns(site)[0],
        end_column=columns(site)[1],
    )


def _jitted_static(exc: BaseException, site: Site) -> Site:
    """`jnp.cumsum(x, axis=a)` reads, by its syntax alone, as a call whose result is the tracer;
    JAX's message says that the function it calls is jitted with static arguments and one of
    them got a tracer, which JAX cannot hash to key that function's cache."""
    construct = site.construct
    if (
        _jax_compat.TRACER_AS_STATIC.search(str(exc)) is not None
        and construct is not None
        and construct.kind == "call"
    ):
        return dataclasses.replace(
            site, construct=dataclasses.replace(construct, kind="jit_static")
        )
    return site


def _source_cannot_tell(
    exc: BaseException, target: Target, sites: list[Site], library: LibrarySite | None
) -> bool:
    """JAX names no argument of the target, and the source cannot be followed to the value:
    it was needed inside a library (the user's line only shows the call's arguments), or in a
    function a library called back."""
    if provenance(exc, target) is not None:
        return False
    return _inside_library_call(library, sites) or not sites or uses_at_target(sites) is None


def _inside_library_call(library: LibrarySite | None, sites: list[Site]) -> bool:
    """The value was needed inside a library's call: the user's line shows every argument of
    the call (`segment_mean(nodes, ..., num_segments=total)` reads the shapes of `nodes`), not
    which one reached the value, so only the traced arguments JAX names (or re-tracing found)
    are what it depends on. A function JAX jits with static arguments rejects a tracer at the
    call itself, with no library frame below it."""
    kind = _construct_kind(sites)
    return kind == "jit_static" or (library is not None and kind == "call")


def _construct_kind(sites: list[Site]) -> str | None:
    construct = sites[-1].construct if sites else None
    return construct.kind if construct else None


def _probe_candidates(plan: CallPlan, depends_on: Sequence[Dependency]) -> list[str]:
    """The traced Python numbers to re-trace static: those the source points to first, then
    every other (a library's own computations may reach any of them)."""
    pointed = [d.name for d in depends_on if d.via == "value"]
    scalars = traced_scalars(plan)
    return [n for n in scalars if n in pointed] + [n for n in scalars if n not in pointed]


def _mask_index(exc: BaseException, site: Site) -> Site:
    """`x[mask]` with `mask` a name reads, by its syntax alone, as indexing a sequence with a
    traced integer; JAX's boolean-index error says the index is a mask, which decides the
    result's shape and calls for other fixes."""
    construct = site.construct
    if (
        isinstance(exc, jax.errors.NonConcreteBooleanIndexError)
        and construct is not None
        and construct.kind == "index"
    ):
        return dataclasses.replace(
            site, construct=dataclasses.replace(construct, kind="bool_index")
        )
    return site


def _from_constants(
    exc: BaseException, target: Target, sites: list[Site], depends_on: Sequence[Dependency]
) -> bool:
    """The tracer came from no traced argument: JAX says so, or the source shows it."""
    if any(d.via == "value" for d in depends_on):
        return False
    jax_says = provenance(exc, target)
    if jax_says is not None:
        return not jax_says
    return bool(sites) and uses_at_target(sites) is not None


def concretization_text(
    site: Site | None,
    construct: Construct | None,
    depends_on: Sequence[Dependency],
    plan: CallPlan,
    data_dependent: Sequence[BoundParam],
    from_constants: bool,
    library: LibrarySite | None = None,
    trials: Sequence[StaticTrial] | None = None,
) -> str:
    """The explanation, short and specific: the construct, the tracer, where it came from.

    A value needed inside a library's call is worded at the library's line, which needed it;
    the call's result is no tracer. Where perturbing decided the dependencies (`trials`), what
    it showed is said.
    """
    if site is None or construct is None:
        return ""
    expression = expression_text(construct)
    needs = NEEDS.get(construct.kind, "a concrete value")
    head = f"{capitalised(construct.label)} needs {needs}, but `{expression}` is a tracer"
    if library is not None and construct.kind == "call":
        head = f"{inside_call(expression, library)} needs a concrete value, but gets a tracer"
    if construct.kind == "jit_static":
        head = (
            f"`{expression}` calls a function JAX jits with static arguments, which key its "
            f"cache and so must be hashable Python values, but one of them gets a tracer"
        )
    traced = traced_params(plan, depends_on)
    parts = [origin_text(head, expression, traced, from_constants, site.frame)]
    if library is not None and construct.kind != "call":
        if library.package not in JAX_PACKAGES:
            parts.append(f"It is needed at {library.where} (`{library.source}`).")
        elif construct.kind in JAX_CALLS:
            parts.append(f"It is needed at JAX's line {library.where} (`{library.source}`).")
    return " ".join([*parts, *static_outlook(depends_on, plan, data_dependent, trials)])


# Constructs that are calls of JAX's own functions (`jnp.zeros((n,))`, `x.reshape(n, -1)`,
# `jnp.unique(x)`): the JAX line below the user's that needed the value is where the error is
# raised; below any other construct (`if`, `int()`) JAX's line is its tracer's own machinery.
JAX_CALLS = ("shape", "sized")


def traced_params(plan: CallPlan, depends_on: Sequence[Dependency]) -> list[BoundParam]:
    """The traced parameters the value came from, in the order of `depends_on`."""
    params = {p.name: p for p in plan.params}
    return [params[d.name] for d in depends_on if d.via == "value" and d.name in params]


def origin_text(
    head: str,
    expression: str,
    traced: Sequence[BoundParam],
    from_constants: bool,
    frame: UserFrame | None,
) -> str:
    """`{head}: n is a Python int passed traced, ..., so jit does not know its value.`: what
    needed a concrete value (`head`), and where the tracer it got came from."""
    if len(traced) == 1 and expression == traced[0].name:
        return (
            f"{head}: {expression} is {describe_traced(traced[0])}, so jit does not know its value."
        )
    if traced:
        listed = and_join([f"{p.name} ({describe_traced(p)})" for p in traced])
        return (
            f"{head}: it is computed from {listed}, whose values jit does not know while it traces."
        )
    if from_constants:
        return (
            f"{head}: it is computed by JAX operations, which jit traces even on constants; "
            f"compute it with NumPy or plain Python to keep it concrete."
        )
    if frame is not None and frame.called_through:
        callers = and_join(frame.called_through)
        return (
            f"{head}: it is computed from what {callers} passed to `{frame.code.co_name}`, "
            f"which jaxexplain does not follow to your arguments."
        )
    return f"{head}; jaxexplain could not follow which arguments it came from."


def static_outlook(
    depends_on: Sequence[Dependency],
    plan: CallPlan,
    data_dependent: Sequence[BoundParam],
    trials: Sequence[StaticTrial] | None = None,
) -> list[str]:
    """Whether making arguments static would make the value concrete: those already static,
    array data no static choice can carry, and the traced numbers that static would be
    concrete; what re-tracing showed where it decided the dependencies (`trials`)."""
    traced = traced_params(plan, depends_on)
    parts: list[str] = []
    if trials and not traced:
        parts.append(_probe_text(trials))
    static = [d.name for d in depends_on if d.via == "static"]
    if static:
        verb = "is" if len(static) == 1 else "are"
        parts.append(
            f"{and_join(static)} {verb} already static; making {it_or_them(static)} static does not help."
        )
    if data_dependent:
        parts.append(
            f"The value depends on the array data of {and_join([p.name for p in data_dependent])}, "
            f"so no static choice can help."
        )
        return parts
    sequences = [p for p in traced if is_number_sequence(p)]
    if sequences:
        parts.append(_sequences_text(sequences))
    mappings = [p.name for p in traced if is_number_mapping(p)]
    if mappings:
        one = len(mappings) == 1
        parts.append(
            f"{and_join(mappings)} {'is a dict' if one else 'are dicts'} of Python numbers "
            f"passed traced: as a static hashable mapping{'' if one else 's'} (flax.core."
            f"FrozenDict), {it_or_them(mappings)} would be concrete."
        )
    scalars = [p.name for p in traced if is_python_number(p.value)]
    if scalars:
        parts.append(
            f"{and_join(scalars)} {'is a Python number' if len(scalars) == 1 else 'are Python numbers'} "
            f"passed traced: as static {'it' if len(scalars) == 1 else 'they'} would be concrete."
        )
    valued = [
        p.name
        for p in traced
        if not is_python_number(p.value)
        and not is_number_sequence(p)
        and not is_number_mapping(p)
        and concrete_scalar(p) is not None
    ]
    if valued:
        one = len(valued) == 1
        parts.append(
            f"{and_join(valued)} {'is a 0-d array' if one else 'are 0-d arrays'} passed traced: as "
            f"static Python {'a number' if one else 'numbers'}, {it_or_them(valued)} would be concrete."
        )
    unvalued = [p for p in traced if scalar_without_value(p) is not None]
    if unvalued:
        one = len(unvalued) == 1
        what = "is a 0-d traced argument" if one else "are 0-d traced arguments"
        kinds = and_join(sorted({f"a Python {scalar_without_value(p)}" for p in unvalued}))
        parts.append(
            f"{and_join([p.name for p in unvalued])} {what}: passed static, as {kinds}, "
            f"{'it' if one else 'they'} would be concrete."
        )
    return parts


def _sequences_text(sequences: Sequence[BoundParam]) -> str:
    """`sample_shape is a tuple of Python numbers passed traced: as a static tuple it would be
    concrete.`"""
    one = len(sequences) == 1
    kinds = and_join(sorted({type(p.value).__name__ for p in sequences}))
    what = f"is a {kinds}" if one else f"are {kinds}s"
    return (
        f"{and_join([p.name for p in sequences])} {what} of Python numbers passed traced: as a "
        f"static tuple{'' if one else 's'}, {it_or_them([p.name for p in sequences])} would be concrete."
    )


def _probe_text(trials: Sequence[StaticTrial]) -> str:
    """What re-tracing with traced Python numbers static showed, when none got past here."""
    names = list(dict.fromkeys(name for trial in trials for name in trial.group))
    widest = max((trial.group for trial in trials), key=len)
    together = " (each alone and together)" if len(names) > 1 and len(widest) > 1 else ""
    if len(names) > 1 and len(widest) == 1:
        together = " (each alone)"
    return (
        f"jaxexplain re-traced with {and_join(names)} static{together}, and it still fails here: "
        f"making {it_or_them(names)} static does not help."
    )


def describe_traced(param: BoundParam) -> str:
    value = param.value
    if is_python_number(value):
        return f"a Python {type(value).__name__} passed traced, as {aval_text(value)}"
    if is_number_sequence(param):
        avals = ", ".join(aval_text(leaf) for leaf in jax.tree_util.tree_leaves(value))
        return f"a {type(value).__name__} of Python numbers passed traced, as {avals}"
    if is_number_mapping(param):
        count = len(jax.tree_util.tree_leaves(value))
        return f"a dict of {count} Python number{'s' if count != 1 else ''} passed traced"
    leaves = jax.tree_util.tree_leaves(value)
    if len(leaves) == 1 and leaves[0] is value:
        return f"traced, {aval_text(value)}"
    return f"a traced pytree of {len(leaves)} array{'s' if len(leaves) != 1 else ''}"


def inside_call(expression: str, library: LibrarySite) -> str:
    """`Inside `call(...)`, flax's line flax/linen/attention.py:527 (`assert ...`)`."""
    owner = "JAX's" if library.package in JAX_PACKAGES else f"{library.package}'s"
    return f"Inside `{expression}`, {owner} line {library.where} (`{library.source}`)"


def rejected_in_library(exc: BaseException) -> bool:
    """A library's own check failed while tracing (a shape that must be hashable, an
    `assert isinstance(n, int)`): perhaps a traced value where it needs a concrete one."""
    checks = (TypeError, ValueError, AssertionError, IndexError)
    return isinstance(exc, checks) and library_site(exc) is not None


def explain_library_rejection(
    exc: BaseException, target: Target, plan: CallPlan, vocabulary: Vocabulary
) -> ErrorInfo:
    """A library rejected a value while tracing; when a traced Python number made static gets
    past the rejection, that number is what reached it, and the failure is explained like a
    tracer error. Otherwise the error is shown as it is.

    A re-trace that fails elsewhere blames the number only when the message named a tracer:
    a rejection unrelated to tracing may move for other reasons.
    """
    base = error_info(exc)
    library = library_site(exc)
    sites = read_sites(frames_below_target(user_frames(exc), target))
    trials = probe_statics(exc, target, plan, traced_scalars(plan), Budget(MAX_RETRACES))
    found = responsible(trials)
    names_tracer = _jax_compat.message_match(str(exc), *_jax_compat.TRACER_REPR) is not None
    if not sites or library is None or found is None or not (found.result.ok or names_tracer):
        return base
    site = sites[-1]
    depends_on = probed_dependencies((), trials)
    construct = site.construct
    suggestions = make_static_suggestions(
        target, plan, depends_on, construct, exc, Budget(0), trials, vocabulary=vocabulary
    )
    return dataclasses.replace(
        base,
        file=site.frame.file,
        line=site.frame.line,
        depends_on=tuple(depends_on),
        suggestions=tuple(suggestions),
        construct=construct.kind if construct else None,
        explanation=rejection_text(site, library, depends_on, plan, exc),
        column=columns(site)[0],
        end_column=columns(site)[1],
    )


def rejection_text(
    site: Site,
    library: LibrarySite,
    depends_on: Sequence[Dependency],
    plan: CallPlan,
    exc: BaseException,
) -> str:
    """`Inside `call`, the library's line L rejects a traced value (TypeError): it comes from
    n (...), which static would be concrete.`"""
    params = {p.name: p for p in plan.params}
    traced = [params[d.name] for d in depends_on if d.via == "value" and d.name in params]
    construct = site.construct
    expression = expression_text(construct) if construct else line_text(site.frame).strip()
    listed = and_join([f"{p.name} ({describe_traced(p)})" for p in traced])
    return (
        f"{inside_call(expression, library)} rejects a traced value ({type(exc).__name__}): "
        f"it comes from {listed}, whose value jit does not know while it traces; made static, "
        f"{it_or_them([p.name for p in traced])} would be a concrete Python number there."
    )
