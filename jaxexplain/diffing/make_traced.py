"""Baked-in constants: whether a static value (or a closed-over Python number) only changes the
program's constants, and, checked by calling JAX, that passing it traced gives one program.

A static learning rate compiles once per value and writes one disk-cache entry per value, though
every program differs only in a literal. Before jaxexplain says "pass it as an argument" it
re-traces with the value traced, calls that one jit with both values on random inputs, reads
JAX's cache size (one entry must serve both) and compares the results with the original's, the
function jitted with the value baked in, at each value. `sweep` calls `check` for any two points.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jax
import numpy as np
from jax.extend.core import ClosedJaxpr, Jaxpr, Literal
from jax.extend.linear_util import WrappedFun

from jaxexplain import _jax_compat
from jaxexplain.explain.retrace import TRACED
from jaxexplain.explain.rewrite_checks import VALUES, random_arguments, same_values
from jaxexplain.inputs.caller import PROGRAM, Vocabulary
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.inputs.specs import format_aval
from jaxexplain.renderers.words import (
    CLOSURE_HOW,
    filter_field_how,
    filter_field_stay_static_text,
    make_traced_rejected_text,
    make_traced_text,
    stay_static_text,
    traced_how,
)
from jaxexplain.report import DiffReport, Recommendation, Suggestion
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.stages import Target

ONE_ENTRY = "one_entry"
ALL_CHECKS = (TRACED, ONE_ENTRY, VALUES)
NUMBERS = (bool, int, float, complex, np.number, np.bool_)
SEED = 0


@dataclass(frozen=True)
class Candidate:
    """A value that made two programs: how to build the original at a value, and the rewrite.

    `baked(value)` is the original with the value baked in (the function and its call, the
    value static or held by a closure cell); `traced(value, arguments)` runs the rewrite, the
    value traced, on the other traced arguments (by parameter name, as `random_arguments`
    makes them). `where` is "static", "closure" or "filter_jit" (a value equinox.filter_jit holds static: a module's float field, or an argument without arrays); `owner` names the closure's maker; `source`
    who made a static static (the user's jax.jit: "decorator"; the caller's option: "cli").
    """

    name: str
    a: Any
    b: Any
    baked: Callable[[Any], tuple[Target, CallPlan]]
    traced: Callable[[Any, dict[str, Any]], Any]
    where: str = "static"
    owner: str = ""
    source: str = "decorator"

    @property
    def key(self) -> tuple[Any, ...]:
        """What identifies the check of this value's pair among one function's checks (the
        type too: 1 and 1.0 are equal, yet different statics)."""
        return (self.where, self.name, type(self.a), self.a, type(self.b), self.b)


@dataclass(frozen=True)
class Place:
    """An equation of a jaxpr: its number (from 1) and primitive; `parameter`, on the way down
    to a sub-jaxpr, the equation's parameter that holds it."""

    equation: int
    primitive: str
    parameter: str = ""


@dataclass(frozen=True)
class StructureDifference:
    """The first thing two jaxprs differ in beyond literals and constants: a fact, worded by
    `renderers.words.structure_text`.

    `part` is what differs: "constants" or "inputs" (their count or an abstract value),
    "equations" (their count), "primitive", "operands" (their count or one operand),
    "parameters" (their names), "parameter" (the value of `parameter`), "outputs" (of the
    equation `at`, or of the jaxpr itself when `at` is None). `a` and `b` are the two sides as
    JAX prints them; `within` the sub-jaxprs the difference is in, outermost first.
    """

    part: str
    a: str
    b: str
    at: Place | None = None
    within: tuple[Place, ...] = ()
    parameter: str = ""


@dataclass(frozen=True)
class Outcome:
    """What checking a candidate showed: `structure` what the value changes in the program
    (None: only literals and constants); `checks` the checks passed (ALL_CHECKS: verified);
    `error` what the rewrite raised when traced (the value cannot simply be passed traced);
    `no_inputs` that no random inputs could stand for the other arguments (not checked)."""

    candidate: Candidate
    structure: StructureDifference | None = None
    checks: tuple[str, ...] = ()
    cache_size: int | None = None
    error: str = ""
    no_inputs: bool = False

    @property
    def verified(self) -> bool:
        return self.checks == ALL_CHECKS


def check(candidate: Candidate) -> Outcome:
    """Compares the two baked programs, then, where they differ only in constants, checks the
    rewrite with JAX: it traces, one compiled entry serves both values, and the results equal
    the original's at each value."""
    baked = [candidate.baked(value) for value in (candidate.a, candidate.b)]
    jaxprs = [_call(target.fresh_jit(plan).trace, plan).jaxpr for target, plan in baked]
    structure = structure_difference(jaxprs[0], jaxprs[1])
    if structure is not None:
        return Outcome(candidate, structure=structure)
    plan = baked[0][1]
    arguments = random_arguments(plan, np.random.default_rng(SEED))
    if arguments is None:
        return Outcome(candidate, no_inputs=True)
    rewrite = jax.jit(candidate.traced)
    try:
        outputs = [rewrite(value, arguments) for value in (candidate.a, candidate.b)]
    except Exception as exc:
        return Outcome(candidate, error=f"{type(exc).__name__}: {_first_line(exc)}")
    size = _jax_compat.cache_size(rewrite)
    checks = [TRACED] + ([ONE_ENTRY] if size == 1 else [])
    originals = [
        _call(target.fresh_jit(plan), wrappers.with_arguments(plan, arguments))
        for target, plan in baked
    ]
    if all(same_values(o, r) for o, r in zip(originals, outputs, strict=True)):
        checks.append(VALUES)
    return Outcome(candidate, checks=tuple(checks), cache_size=size)


def structure_difference(
    a: ClosedJaxpr | Jaxpr, b: ClosedJaxpr | Jaxpr
) -> StructureDifference | None:
    """What differs between two jaxprs beyond literals and constants, or None when nothing does.

    Same structure means: the same input, constant and output abstract values (shape, dtype,
    weak type), and equation by equation the same primitive, the same output abstract values
    and the same parameters, sub-jaxprs compared in the same way; each operand is the same
    variable (counted by where it was defined) or a literal of the same abstract value. Literal
    values and constant values may differ: they are what a baked-in number changes. Functions
    held in parameters (a custom_jvp's rule) are rebuilt per trace and are not compared.
    """
    return _Walk(()).jaxprs(a, b)


Found = StructureDifference | None


class _Walk:
    """One comparison of a jaxpr (the sub-jaxpr `within` places name): the variables of each
    side numbered in the order they were defined."""

    def __init__(self, within: tuple[Place, ...]) -> None:
        self.within = within
        self.numbers: tuple[dict[Any, int], dict[Any, int]] = ({}, {})

    def found(
        self, part: str, a: Any, b: Any, at: Place | None = None, parameter: str = ""
    ) -> Found:
        return StructureDifference(part, str(a), str(b), at, self.within, parameter)

    def jaxprs(self, a: Any, b: Any) -> Found:
        a, b = _open(a), _open(b)
        for part, xs, ys in (
            ("constants", a.constvars, b.constvars),
            ("inputs", a.invars, b.invars),
        ):
            found = self._binders(xs, ys, part, None)
            if found:
                return found
        if len(a.eqns) != len(b.eqns):
            return self.found("equations", len(a.eqns), len(b.eqns))
        for i, (x, y) in enumerate(zip(a.eqns, b.eqns, strict=True)):
            found = self.equation(x, y, i + 1)
            if found:
                return found
        return self.operands(a.outvars, b.outvars, "outputs", None)

    def _binders(self, xs: Sequence[Any], ys: Sequence[Any], part: str, at: Place | None) -> Found:
        if len(xs) != len(ys):
            return self.found(part, len(xs), len(ys), at)
        for x, y in zip(xs, ys, strict=True):
            if _aval(x) != _aval(y):
                return self.found(part, x.aval.str_short(), y.aval.str_short(), at)
            for side, var in zip(self.numbers, (x, y), strict=True):
                side[var] = len(side)
        return None

    def equation(self, x: Any, y: Any, number: int) -> Found:
        if x.primitive != y.primitive:
            return self.found(
                "primitive", x.primitive, y.primitive, Place(number, str(x.primitive))
            )
        at = Place(number, str(x.primitive))
        found = self.operands(x.invars, y.invars, "operands", at) or self.params(
            x.params, y.params, at
        )
        return found or self._binders(x.outvars, y.outvars, "outputs", at)

    def operands(self, xs: Sequence[Any], ys: Sequence[Any], part: str, at: Place | None) -> Found:
        if len(xs) != len(ys):
            return self.found(part, len(xs), len(ys), at)
        for x, y in zip(xs, ys, strict=True):
            if isinstance(x, Literal) != isinstance(y, Literal) or _aval(x) != _aval(y):
                return self.found(part, x, y, at)
            if not isinstance(x, Literal) and self.numbers[0].get(x) != self.numbers[1].get(y):
                return self.found(part, x, y, at)
        return None

    def params(self, xs: dict[str, Any], ys: dict[str, Any], at: Place) -> Found:
        if sorted(xs) != sorted(ys):
            return self.found("parameters", sorted(xs), sorted(ys), at)
        for name in xs:
            found = self.param(xs[name], ys[name], at, name)
            if found:
                return found
        return None

    def param(self, x: Any, y: Any, at: Place, name: str) -> Found:
        if isinstance(x, (ClosedJaxpr, Jaxpr)) and isinstance(y, (ClosedJaxpr, Jaxpr)):
            inside = Place(at.equation, at.primitive, name)
            return _Walk((*self.within, inside)).jaxprs(x, y)
        if _holds_functions(x) and _holds_functions(y) and len(x) == len(y):
            return next(
                (found for u, v in zip(x, y, strict=True) if (found := self.param(u, v, at, name))),
                None,
            )
        if _is_function(x) and _is_function(y):
            return None
        return None if _equal(x, y) else self.found("parameter", x, y, at, name)


def _call(fn: Callable[..., Any], plan: CallPlan) -> Any:
    args, kwargs = plan.call_args()
    return fn(*args, **kwargs)


def _holds_functions(value: Any) -> bool:
    """A tuple or list of parameters with a sub-jaxpr or function among them (a cond's
    branches), compared item by item; any other tuple (a shape) is compared whole."""
    return isinstance(value, (tuple, list)) and any(
        isinstance(v, (ClosedJaxpr, Jaxpr, tuple, list)) or _is_function(v) for v in value
    )


def _is_function(value: Any) -> bool:
    """A function in a parameter (a custom_jvp's rule, wrapped as JAX's WrappedFun or plain)."""
    return isinstance(value, WrappedFun) or (callable(value) and not isinstance(value, type))


def _open(jaxpr: Any) -> Jaxpr:
    return jaxpr.jaxpr if isinstance(jaxpr, ClosedJaxpr) else jaxpr


def _aval(var: Any) -> tuple[Any, ...]:
    aval = var.aval
    return (
        type(aval),
        tuple(getattr(aval, "shape", ())),
        str(getattr(aval, "dtype", "")),
        bool(getattr(aval, "weak_type", False)),
    )


def _equal(x: Any, y: Any) -> bool:
    try:
        return bool(np.all(x == y)) and type(x) is type(y)
    except Exception:
        return x is y


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


# --- diff: a static that differs between the two sides -------------------------------------


def static_candidate(target: Target, plan_a: CallPlan, plan_b: CallPlan, name: str) -> Candidate:
    """The static parameter `name`, at side A's and side B's values: baked in as the plans make
    it static, or traced by a jit of the same function with it unmarked."""
    values = {p.name: p.value for p in plan_b.params}
    traced_plan = replace(
        plan_a,
        params=tuple(replace(p, static=False) if p.name == name else p for p in plan_a.params),
    )

    def baked(value: Any) -> tuple[Target, CallPlan]:
        return target, plan_a.with_values({name: value})

    def traced(value: Any, arguments: dict[str, Any]) -> Any:
        args, kwargs = traced_plan.with_values({**arguments, name: value}).call_args()
        return target.as_traced(*args, **kwargs)

    source = next(p.source for p in plan_a.params if p.name == name)
    if name in plan_a.decorator_statics:
        source = "decorator"  # static in the function's own jax.jit whatever the caller says
    return Candidate(name, _value_of(plan_a, name), values[name], baked, traced, source=source)


def _value_of(plan: CallPlan, name: str) -> Any:
    return next(p.value for p in plan.params if p.name == name)


def changed_static(report: DiffReport, plan_a: CallPlan, plan_b: CallPlan) -> str | None:
    """The one static parameter the sides differ in, when nothing else in the cache key differs
    and both of its values are Python (or NumPy) numbers; None otherwise."""
    changes = report.cache_key_changes
    roots = {c.path.partition(".")[0].partition("[")[0] for c in changes}
    if not changes or any(c.component != "static" for c in changes) or len(roots) != 1:
        return None
    (name,) = roots
    statics = set(plan_a.static_names) & set(plan_b.static_names)
    if name not in statics:
        return None
    values = (_value_of(plan_a, name), _value_of(plan_b, name))
    return name if all(isinstance(v, NUMBERS) for v in values) else None


Checks = dict[tuple[Any, ...], Outcome]
"""Outcomes already found, by function and `Candidate.key`: `watch` checks a pair once, for
its recommendation and for the diff `--explain` shows of the same recompilation."""


def checked(candidate: Candidate, checks: Checks | None = None, of: Any = None) -> Outcome:
    """`check(candidate)`, or the outcome found before for the same function (`of`) and pair."""
    if checks is None:
        return check(candidate)
    key = (of, *candidate.key)
    if key not in checks:
        checks[key] = check(candidate)
    return checks[key]


def with_make_traced(
    report: DiffReport,
    target: Target,
    plans: tuple[CallPlan, CallPlan],
    vocabulary: Vocabulary,
    checks: Checks | None = None,
    of: Any = None,
) -> DiffReport:
    """The diff with the make_traced suggestion it earns (verified), or the advice to keep a
    static that changes the program's structure, or a note on why a constants-only static was
    not offered; unchanged when the sides differ in more than one static number. `checks` and
    `of` (the function) share outcomes with `watch`'s recommendation."""
    candidate = diff_candidate(report, target, plans) if report.ok else None
    if candidate is None:
        return report
    outcome = checked(candidate, checks, of)
    suggestion = suggestion_of(outcome, vocabulary)
    if suggestion is None:
        return replace(report, notes=(*report.notes, rejected_text(outcome)))
    return replace(report, suggestions=(*report.suggestions, suggestion))


def diff_candidate(
    report: DiffReport, target: Target, plans: tuple[CallPlan, CallPlan]
) -> Candidate | None:
    """The one number the sides differ in: a static argument, or a field that
    equinox.filter_jit holds static (a module's float); None for any other difference."""
    name = changed_static(report, *plans)
    if name is not None:
        return static_candidate(target, *plans, name)
    # filter_fields builds on this module's Candidate, so it is imported where it is needed.
    from jaxexplain.diffing import filter_fields

    field = filter_fields.changed_field(report, *plans)
    return None if field is None else filter_fields.field_candidate(target, *plans, field)


def rejected_text(outcome: Outcome) -> str:
    """Which check a constants-only value failed, in words."""
    return make_traced_rejected_text(
        outcome.candidate.name,
        outcome.error,
        outcome.no_inputs,
        outcome.cache_size if ONE_ENTRY not in outcome.checks else None,
    )


def suggestion_of(outcome: Outcome, vocabulary: Vocabulary = PROGRAM) -> Suggestion | None:
    """make_traced when verified; "advice" to keep it static when the structure differs."""
    c = outcome.candidate
    if outcome.structure is not None:
        return Suggestion("advice", (c.name,), stay_static_advice(c, outcome.structure))
    if not outcome.verified:
        return None
    return Suggestion(
        "make_traced",
        (c.name,),
        fix_text(c, vocabulary),
        verified=True,
        checks=outcome.checks,
    )


def fix_text(candidate: Candidate, vocabulary: Vocabulary) -> str:
    """The make_traced wording of a verified candidate, in the caller's words."""
    c = candidate
    how = (
        CLOSURE_HOW
        if c.where == "closure"
        else filter_field_how(c.name, c.a)
        if c.where == "filter_jit"
        else traced_how(c.name, spec_of(c.a), c.source, vocabulary)
    )
    return make_traced_text(c.name, c.a, c.b, how, c.where, c.owner)


def stay_static_advice(candidate: Candidate, structure: StructureDifference) -> str:
    """Why a number that changes the program must stay static, in the words of what holds it
    static (a jax.jit's static argument, or equinox.filter_jit's field)."""
    c = candidate
    if c.where == "filter_jit":
        return filter_field_stay_static_text(c.name, c.a, c.b, structure)
    return stay_static_text(c.name, c.a, c.b, structure)


def spec_of(value: Any) -> str:
    """The array spec a number is traced as: `f32[]` for a Python float (without x64)."""
    return format_aval((), str(jax.dtypes.canonicalize_dtype(np.asarray(value).dtype)))


# --- watch: a closure made again per value, or a static number, that only changes constants --


def closure_change(first: Any, later: Any) -> tuple[str, Any, Any] | None:
    """(name, first value, later value) when two functions differ only in one closed-over
    Python number: the same code, and every other cell holding the very same object."""
    if getattr(first, "__code__", None) is not getattr(later, "__code__", None):
        return None
    cells = first.__closure__ or ()
    changed = [
        (name, x.cell_contents, y.cell_contents)
        for name, x, y in zip(
            first.__code__.co_freevars, cells, later.__closure__ or (), strict=True
        )
        if x.cell_contents is not y.cell_contents
    ]
    if len(changed) != 1 or not all(isinstance(v, NUMBERS) for v in changed[0][1:]):
        return None
    return changed[0] if changed[0][1] != changed[0][2] else None


def with_cell(function: Any, name: str, value: Any) -> Any:
    """A copy of `function` whose closure cell `name` holds `value` (the others shared)."""
    cells = tuple(
        types.CellType(value) if free == name else cell
        for free, cell in zip(function.__code__.co_freevars, function.__closure__, strict=True)
    )
    copy = types.FunctionType(
        function.__code__, function.__globals__, function.__name__, function.__defaults__, cells
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    return copy


def closure_candidate(function: Any, plan: CallPlan, change: tuple[str, Any, Any]) -> Candidate:
    """The closed-over number `change` names: baked in as the user's closure holds it, or
    traced by one jit of a copy whose cell holds the traced value."""
    name, a, b = change

    def baked(value: Any) -> tuple[Target, CallPlan]:
        fn = with_cell(function, name, value)
        return Target(fn, fn, None), plan

    def traced(value: Any, arguments: dict[str, Any]) -> Any:
        args, kwargs = plan.with_values(arguments).call_args()
        return with_cell(function, name, value)(*args, **kwargs)

    owner = function.__qualname__.partition(".<locals>")[0]
    return Candidate(name, a, b, baked, traced, where="closure", owner=owner)


def watched_static_candidate(function: Any, plans: Sequence[CallPlan], name: str) -> Candidate:
    """A static number of a watched jit function, from the calls of its first two entries."""
    return static_candidate(Target(function, function, None), plans[0], plans[1], name)


def recommendation_of(
    outcome: Outcome, function: str, file: str, line: int
) -> Recommendation | None:
    """The watch report's make_traced recommendation, only when every check passed."""
    c = outcome.candidate
    if not outcome.verified:
        return None
    return Recommendation(
        function=function,
        kind="make_traced",
        text=f"{function}: " + fix_text(c, PROGRAM),
        verified=True,
        checks=outcome.checks,
        params=(c.name,),
        file=file,
        line=line,
    )
