"""A value that reached the failing line through a loop carry (`range(carry[1])` with init
`(h, reps)`): the argument the slot was built from, why making it static alone does not help,
and the rewrite that reads it from the enclosing function instead."""

from __future__ import annotations

import ast
import dataclasses
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jaxexplain import _source_ast as sa
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.decisions.resolve import CarrySlot
from jaxexplain.explain import rewrites
from jaxexplain.explain.dependencies import in_signature_order
from jaxexplain.explain.frames import Site, columns, error_info, function_object
from jaxexplain.explain.retrace import (
    MAX_RETRACES,
    TRACED,
    Attempt,
    Budget,
    attempt,
    failure_place,
    proven_first,
    where_it_fails,
)
from jaxexplain.explain.rewrite_checks import FAILS, VERIFIED, verify_rewrite
from jaxexplain.explain.rewrite_fixes import compared_text, module_aliases
from jaxexplain.explain.rewrites import Rewrite
from jaxexplain.explain.static_fixes import StaticTrial, static_cost, static_suggestion
from jaxexplain.explain.values import aval_text, static_value
from jaxexplain.explain.wording import (
    ADVICE,
    NEEDS,
    and_join,
    capitalised,
    expression_text,
    it_or_them,
    relative_path,
    static_how,
    static_option,
)
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import Dependency, ErrorInfo, Suggestion
from jaxexplain.tracing.stages import Target

LOOPS = {"scan": "lax.scan", "fori_loop": "lax.fori_loop", "while_loop": "lax.while_loop"}


def explain_carried(
    exc: BaseException,
    target: Target,
    plan: CallPlan,
    sites: list[Site],
    recorder: DecisionRecorder | None,
    vocabulary: Vocabulary,
) -> ErrorInfo | None:
    """A value a loop body read from its carry (`range(carry[1])` with init `(h, reps)`): the
    argument the slot was built from, that the carry is traced whatever it was, whether
    making it static alone helps (re-traced), and the rewrite that reads it from the
    enclosing function instead, verified. None where the value came through no carry (the
    source and JAX's own account explain it then)."""
    site = sites[-1] if sites else None
    if recorder is None or site is None or site.construct is None:
        return None
    code, needed = site.frame.code, site.construct.needed
    slots = [slot for e in needed for slot in recorder.carry_slots_of(code, e)]
    if not slots:
        return None
    params = {p.name: p for p in plan.params}
    carried = list(dict.fromkeys(d.name for s in slots for d in s.dependencies if d.name in params))
    found = [d for e in needed for d in recorder.dependencies_of(code, e, needs_value=True)]
    # A carry slot is traced, whatever the argument it was built from was.
    depends_on = in_signature_order(
        plan, dict.fromkeys(Dependency(d.name, "value") if d.name in carried else d for d in found)
    )
    budget = Budget(MAX_RETRACES)
    static_alone = _static_alone(exc, target, plan, carried, budget)
    suggestions = []
    if static_alone is not None and static_alone.trial.result.ok:
        suggestions.append(
            static_suggestion(
                list(static_alone.trial.group), params, site.construct, vocabulary, verified=True
            )
        )
    else:
        suggestions += _read_outside_carry(
            target, plan, (site, sites), carried, slots, budget, vocabulary
        )
    advice = ADVICE.get(site.construct.kind)
    if advice and not any(s.verified for s in suggestions):
        suggestions.append(Suggestion("advice", (), advice))
    return dataclasses.replace(
        error_info(exc),
        file=site.frame.file,
        line=site.frame.line,
        depends_on=tuple(depends_on),
        suggestions=proven_first(suggestions),
        construct=site.construct.kind,
        explanation=_carried_text(site, _nearest_slot(slots, code), carried, static_alone),
        column=columns(site)[0],
        end_column=columns(site)[1],
    )


def _nearest_slot(slots: Sequence[CarrySlot], code: types.CodeType) -> CarrySlot:
    """The carry of the function that failed (not of a loop around its loop)."""
    return next((slot for slot in slots if slot.function == code.co_name), slots[0])


@dataclass(frozen=True)
class CarriedStatic:
    """What making the carried arguments static did: `already` where they were static in the
    failing trace itself (its failure is the proof), else the re-trace with them static."""

    already: bool
    trial: StaticTrial


def _static_alone(
    exc: BaseException, target: Target, plan: CallPlan, carried: Sequence[str], budget: Budget
) -> CarriedStatic | None:
    """The trace with the carried arguments static but still carried; None where one has no
    Python value to re-trace it static with."""
    params = {p.name: p for p in plan.params}
    if carried and all(params[name].static for name in carried):
        return CarriedStatic(True, StaticTrial(tuple(carried), Attempt(exc), past_it=False))
    if not carried or any(static_value(params[n]) is None for n in carried):
        return None
    if not budget.take():
        return None
    static = {name: static_value(params[name]) for name in carried}
    result = attempt(target, plan.with_values(static, static=set(carried)))
    past_it = result.ok or failure_place(result.error) != failure_place(exc)  # type: ignore[arg-type]
    return CarriedStatic(False, StaticTrial(tuple(carried), result, past_it))


def _carried_text(
    site: Site, slot: CarrySlot, carried: Sequence[str], static: CarriedStatic | None
) -> str:
    """Which carry slot the value is, what it was built from, why it is traced, and what
    re-tracing with the argument static showed."""
    assert site.construct is not None
    loop = LOOPS.get(slot.loop, slot.loop)
    which = f"slot {slot.slot} of the `{loop}` carry" if slot.slot is not None else "the carry"
    needs = NEEDS.get(site.construct.kind, "a concrete value")
    parts = [
        f"{capitalised(site.construct.label)} needs {needs}, but "
        f"`{expression_text(site.construct)}` is a tracer: it is {which} that "
        f"`{slot.function}` receives as `{slot.parameter}`, built from `{slot.init}` "
        f"(line {slot.line}). JAX traces a loop's body once, with an abstract value in every "
        f"carry slot, so a carry is always traced, whatever the argument was."
    ]
    if static is None or static.trial.result.ok:
        return " ".join(parts)
    names = and_join([f"`{n}`" for n in carried])
    one = len(carried) == 1
    if static.already:
        said = f"{names} {'is' if one else 'are'} static in this trace, and it fails here anyway"
    else:
        said = f"jaxexplain re-traced with {names} static, and it still fails here"
    if static.trial.past_it:
        said = (
            f"jaxexplain re-traced with {names} static: that gets past this line, but tracing "
            f"then fails at {where_it_fails(static.trial.result.error)}"
        )
        return " ".join([*parts, f"{said}."])
    return " ".join(
        [
            *parts,
            f"{said}: making {it_or_them(carried)} static is not enough while "
            f"{it_or_them(carried)} {'is' if one else 'are'} in the carry.",
        ]
    )


def _read_outside_carry(
    target: Target,
    plan: CallPlan,
    failing: tuple[Site, list[Site]],
    carried: Sequence[str],
    slots: Sequence[CarrySlot],
    budget: Budget,
    vocabulary: Vocabulary,
) -> list[Suggestion]:
    """The fix: the body reads the argument from the enclosing function, not from the carry,
    with it static. Generated as a rewrite of the target (where the body is nested in it),
    re-traced with the argument static and compared with the user's code; said precisely and
    marked unverified where it cannot be generated or checked. `failing` is the failing site
    and every site of the trace."""
    site, sites = failing
    if len(carried) != 1 or site.construct is None or len(site.construct.needed) != 1:
        return []
    name, needed = carried[0], site.construct.needed[0]
    body, outer = _nearest_slot(slots, site.frame.code).function, sites[0].frame.code.co_name
    param = next(p for p in plan.params if p.name == name)
    value = static_value(param)
    known = {} if value is None else {name: value}
    how = static_how([name], known, {name: param}, vocabulary)
    static = f"mark it static{how}"
    cost = static_cost([name], site.construct)
    owner = function_object(target.function)
    rewrite, why_not = _closure_rewrite(sites, site, name, needed, owner)
    if rewrite is None:
        text = (
            f"Give `{name}` to `{body}` by closure or functools.partial instead of through the "
            f"carry, read it there instead of `{ast.unparse(needed)}`, and {static}. Not "
            f"verified: {why_not}, so jaxexplain cannot rewrite it."
        )
        return [Suggestion("rewrite", (name,), text, cost=cost)]
    subject = (
        f"Read `{name}` from `{outer}` instead of `{ast.unparse(needed)}` in `{body}`, and "
        f"{static}: replace line {rewrite.first_line} of {relative_path(site.frame.file)} with "
        f"the code below"
    )
    if value is None:
        text = (
            f"{subject}. Not verified: this call gives `{name}` as an array "
            f"({aval_text(param.value)}), not a Python number jaxexplain could re-trace with as a "
            f"static argument; pass it with {static_option([name], {}, {name: param}, vocabulary)}."
        )
        return [Suggestion("rewrite", (name,), text, code=rewrite.code, cost=cost)]
    if not budget.take():
        return []
    static_plan = plan.with_values({name: value}, static={name})
    aliases = module_aliases(owner.__globals__)
    check = verify_rewrite(target, static_plan, site, owner, rewrite, aliases, sites)
    if check.status == FAILS:
        text = f"{subject.split(': replace')[0]}: jaxexplain tried it, but {check.detail}."
        return [Suggestion("advice", (), text)]
    done = (
        f"jaxexplain traced it with `{name}` static and {compared_text(check)}"
        if check.status == VERIFIED
        else f"it traces with `{name}` static, but {check.detail}, so check it yourself"
    )
    return [
        Suggestion(
            "rewrite",
            (name,),
            f"{subject}; {done}.",
            code=rewrite.code,
            cost=cost,
            verified=check.status == VERIFIED,
            checks=check.checks or (TRACED,),
        )
    ]


def _closure_rewrite(
    sites: list[Site], site: Site, name: str, needed: ast.expr, owner: Any
) -> tuple[Rewrite | None, str]:
    """The target with `needed` (a plain read of the carry slot) replaced by `name`, the
    target's own parameter, which the body nested in it then reads by closure; else None and
    why not."""
    outer, body = sites[0].function, site.function
    if outer is None or body is None or sites[0].frame.code is not owner.__code__:
        return None, "jaxexplain cannot read the traced function's source"
    if len(list(sa.reads(needed, None))) != 1:
        return None, f"`{ast.unparse(needed)}` reads more than the carry slot"
    functions = [body.node, *(a for a in outer.ancestors(body.node) if isinstance(a, sa.FUNCTIONS))]
    if functions[-1] is not outer.node:
        return None, f"`{body.node.name}` is not defined inside `{outer.node.name}`"
    for function in functions[:-1]:
        if name in sa.parameters(function) or name in outer.source.bindings(function):
            where = getattr(function, "name", "a lambda")
            return None, f"`{name}` is also a name of `{where}`, which hides the argument"
    return rewrites.read_name_instead(outer, needed, name, "read_static"), ""
