"""Static fixes: re-tracing with traced Python numbers made static, to find which reached the
failure, and the make-static suggestions that re-tracing proved (or could not try)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jaxexplain.explain.constructs import Construct
from jaxexplain.explain.dependencies import dependencies
from jaxexplain.explain.frames import frames_below_target, read_sites, user_frames
from jaxexplain.explain.kinds import is_concretization
from jaxexplain.explain.retrace import (
    TRACED,
    Attempt,
    Budget,
    attempt,
    failure_place,
    where_it_fails,
)
from jaxexplain.explain.values import (
    array_value_params,
    aval_text,
    concrete_scalar,
    could_be_static,
    scalar_without_value,
    static_values,
)
from jaxexplain.explain.wording import and_join, jit_static, static_how, static_option
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.inputs.calling import BoundParam, CallPlan
from jaxexplain.report import Dependency, Suggestion
from jaxexplain.tracing.stages import Target


@dataclass(frozen=True)
class StaticTrial:
    """One re-trace with `group` static, and whether it got past the failure explained."""

    group: tuple[str, ...]
    result: Attempt
    past_it: bool


def probe_statics(
    exc: BaseException | None,
    target: Target,
    plan: CallPlan,
    candidates: Sequence[str],
    budget: Budget,
) -> list[StaticTrial]:
    """Re-traces with traced Python numbers made static: each alone, then all together, then a
    group widened by the traced numbers its re-trace still needed (`while t < t_end`, `t`
    stepped by `dt`); stops at the first that traces.

    Perturbing is the truth where the source cannot be followed (a value needed inside a
    library): the group whose static re-trace gets past this failure is what reached it.
    """
    params = {p.name: p for p in plan.params}
    groups: list[tuple[str, ...]] = [(name,) for name in candidates]
    if len(candidates) > 1:
        groups.append(tuple(candidates))
    trials: list[StaticTrial] = []
    for group in groups:
        if not budget.take():
            return trials
        trials.append(_static_trial(exc, target, plan, group, params))
        if trials[-1].result.ok:
            return trials
    tried = {trial.group for trial in trials}
    for trial in list(trials):
        assert trial.result.error is not None
        more = _more_scalars_needed(trial.result.error, target, plan, list(trial.group))
        wider = tuple(dict.fromkeys((*trial.group, *more)))
        if not more or wider in tried or not budget.take():
            continue
        tried.add(wider)
        trials.append(_static_trial(exc, target, plan, wider, params))
        if trials[-1].result.ok:
            return trials
    return trials


def _static_trial(
    exc: BaseException | None,
    target: Target,
    plan: CallPlan,
    group: tuple[str, ...],
    params: dict[str, BoundParam],
) -> StaticTrial:
    result = attempt(target, plan.with_values(static_values(group, params), static=set(group)))
    past_it = (
        result.ok or exc is None or failure_place(result.error) != failure_place(exc)  # type: ignore[arg-type]
    )
    return StaticTrial(group, result, past_it)


def responsible(trials: Sequence[StaticTrial]) -> StaticTrial | None:
    """The first re-trace that got past the failure: the smallest group tried first."""
    return next((trial for trial in trials if trial.past_it), None)


def probed_dependencies(
    depends_on: Sequence[Dependency], trials: Sequence[StaticTrial]
) -> list[Dependency]:
    """The value dependencies perturbing proved: the group whose static re-trace got past the
    failure (with it static the value was concrete, so nothing else traced reached it);
    none when no re-trace got past it; static and global dependencies stay."""
    kept = [d for d in depends_on if d.via != "value"]
    found = responsible(trials)
    if found is None:
        return kept
    return [*(Dependency(name, "value") for name in found.group), *kept]


def make_static_suggestions(
    target: Target,
    plan: CallPlan,
    depends_on: Sequence[Dependency],
    construct: Construct | None,
    exc: BaseException | None,
    budget: Budget,
    trials: Sequence[StaticTrial] | None = None,
    *,
    vocabulary: Vocabulary,
) -> list[Suggestion]:
    """Making traced Python scalars static, as far as re-tracing proved it (`probe_statics`):
    the first group that traced, verified; else the first that got past this failure, with
    where tracing then fails; groups that fail here again are not offered.

    A 0-d traced argument given without a Python value cannot be re-traced static; when the
    value comes from 0-d arguments, one of them such (and from no array data), making them all
    static is offered unverified, with how to let jaxexplain verify it; so are such arguments
    when `trials` (perturbing where the source could not tell) found nothing responsible.
    """
    params = {p.name: p for p in plan.params}
    scalars = [
        d.name
        for d in depends_on
        if d.via == "value" and d.name in params and could_be_static(params[d.name])
    ]
    if any(scalar_without_value(params[name]) for name in scalars):
        if array_value_params(plan, depends_on):
            return []
        return [unverifiable_static_suggestion(scalars, params, construct, vocabulary)]
    probed = trials is not None
    if trials is None:
        candidates = [
            d.name
            for d in depends_on
            if d.via == "value" and d.name in params and concrete_scalar(params[d.name]) is not None
        ]
        trials = probe_statics(exc, target, plan, candidates, budget)
    passed = next((trial for trial in trials if trial.result.ok), None)
    if passed is not None:
        return [static_suggestion(list(passed.group), params, construct, vocabulary, verified=True)]
    found = responsible(trials)
    unvalued = [p.name for p in plan.params if not p.static and scalar_without_value(p)]
    if probed and found is None and unvalued and not array_value_params(plan, depends_on):
        # The source could not tell, and perturbing could not try these (no Python value):
        # they may be what reached it.
        return [unverifiable_static_suggestion(unvalued, params, construct, vocabulary)]
    if found is None:
        return []
    return [
        static_suggestion(
            list(found.group),
            params,
            construct,
            vocabulary,
            verified=False,
            then=found.result.error,
        )
    ]


def _more_scalars_needed(
    exc: BaseException, target: Target, plan: CallPlan, group: list[str]
) -> list[str]:
    """Traced Python numbers that a re-trace with `group` static still needed concretely:
    `while t < t_end` with `t` stepped by `dt` needs `t_end` first, then `dt` (the test is
    the same line both times), so `t_end` alone never gets past it, and both together do."""
    if not is_concretization(exc):
        return []
    static_plan = plan.with_values(
        static_values(group, {p.name: p for p in plan.params}), static=set(group)
    )
    sites = read_sites(frames_below_target(user_frames(exc), target))
    params = {p.name: p for p in static_plan.params}
    return [
        d.name
        for d in dependencies(exc, target, static_plan, sites)
        if d.via == "value"
        and d.name not in group
        and d.name in params
        and concrete_scalar(params[d.name]) is not None
    ]


def static_suggestion(
    names: list[str],
    params: dict[str, BoundParam],
    construct: Construct | None,
    vocabulary: Vocabulary,
    *,
    verified: bool,
    then: BaseException | None = None,
) -> Suggestion:
    """Making `names` static, as the caller writes it: verified where their re-trace traced,
    else with where tracing then fails (`then`)."""
    subject = f"Mark {and_join([f'`{n}`' for n in names])} static"
    how = static_how(names, {n: concrete_scalar(params[n]) for n in names}, params, vocabulary)
    if verified:
        text = f"{subject}{how}: jaxexplain re-traced with it, and tracing succeeds."
    else:
        text = (
            f"{subject}{how}: that gets past this line, but tracing then fails at "
            f"{where_it_fails(then) if then else 'another line'}."
        )
    cost = static_cost(names, construct)
    checks = (TRACED,) if verified else ()
    return Suggestion(
        "make_static", tuple(names), text, cost=cost, verified=verified, checks=checks
    )


def unverifiable_static_suggestion(
    names: list[str],
    params: dict[str, BoundParam],
    construct: Construct | None,
    vocabulary: Vocabulary,
) -> Suggestion:
    """Making 0-d traced arguments static, unverified: some were given as arrays (`i32[]`),
    with no Python value to re-trace with."""
    unvalued = [n for n in names if scalar_without_value(params[n])]
    subject = f"Mark {and_join([f'`{n}`' for n in names])} static"
    how = f" ({jit_static(names)})"
    values = {n: concrete_scalar(params[n]) for n in names if n not in unvalued}
    flags = static_option(names, values, params, vocabulary)
    kinds = and_join([f"{n} as a Python {scalar_without_value(params[n])}" for n in unvalued])
    avals = and_join([f"{n} as an array ({aval_text(params[n].value)})" for n in unvalued])
    text = (
        f"{subject}{how}: not verified, because this call gives {avals}, not a Python number "
        f"jaxexplain could re-trace with as a static argument. Pass {kinds} with {flags} to let "
        f"jaxexplain re-trace and verify it."
    )
    return Suggestion("make_static", tuple(names), text, cost=static_cost(names, construct))


def static_cost(names: Sequence[str], construct: Construct | None) -> str:
    """What a static argument costs: a compilation per value, and an unrolled loop's body."""
    cost = "one compilation per distinct value of " + and_join(names)
    if construct is not None and construct.kind == "for_range":
        cost += ", and the loop is unrolled into the jaxpr (one copy of its body per iteration)"
    return cost
