"""A number that `equinox.filter_jit` holds static inside a traced argument (a module's Python
float field): the make_traced check of storing it as an array, which filter_jit traces.

filter_jit traces every array leaf and holds every other leaf static, so `M(w, scale=0.5)`
compiles once per value of `scale`. The fix is equinox's, not jax.jit's: no static_argnums to
remove, only the field to store as `jnp.asarray(scale)`. It is checked as make_traced checks a
static: the two baked programs differ only in constants, and one jit of the function with the
field traced serves both values (JAX's cache size) with the original's results.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jaxexplain.diffing.make_traced import NUMBERS, Candidate, static_candidate
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import DiffReport
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.stages import Target


def split_field(plan: CallPlan, name: str) -> tuple[str, str] | None:
    """(parameter, path inside it) when `name` is a leaf that filter_jit holds static in one
    of the plan's traced parameters (`model.scale` -> ("model", ".scale")); None otherwise."""
    for p in plan.params:
        if not (p.passed and isinstance(p.value, wrappers.FilterSplit)):
            continue
        path = name.removeprefix(p.name)
        if path != name and any(path == q for q, _ in p.value.static_leaves()):
            return p.name, path
    return None


def field_value(plan: CallPlan, name: str) -> Any:
    """The value of the static leaf `name` in the plan (`split_field` found it)."""
    found = split_field(plan, name)
    if found is None:
        raise KeyError(name)
    param, path = found
    split = next(p.value for p in plan.params if p.name == param)
    return dict(split.static_leaves())[path]


def changed_field(report: DiffReport, plan_a: CallPlan, plan_b: CallPlan) -> str | None:
    """The one filter_jit static field the sides differ in, when nothing else in the cache key
    differs and both of its values are numbers; None otherwise."""
    changes = report.cache_key_changes
    if len(changes) != 1 or changes[0].component != "static":
        return None
    name = changes[0].path
    if split_field(plan_a, name) is None or split_field(plan_b, name) is None:
        return None
    values = (field_value(plan_a, name), field_value(plan_b, name))
    return name if all(isinstance(v, NUMBERS) for v in values) else None


def field_candidate(target: Target, plan_a: CallPlan, plan_b: CallPlan, name: str) -> Candidate:
    """The static field `name` at side A's and side B's values: baked in as filter_jit holds
    it, or traced by one jit of the function whose module holds the traced value there."""
    found = split_field(plan_a, name)
    if found is None:
        raise KeyError(name)
    param, path = found
    split = next(p.value for p in plan_a.params if p.name == param)

    def baked(value: Any) -> tuple[Target, CallPlan]:
        return target, plan_a.with_values({param: split.with_static_leaf(path, value)})

    def traced(value: Any, arguments: dict[str, Any]) -> Any:
        module = arguments[param].joined_with(path, value)
        args, kwargs = plan_a.with_values({**arguments, param: module}).call_args()
        return target.as_traced(*args, **kwargs)

    a, b = field_value(plan_a, name), field_value(plan_b, name)
    return Candidate(name, a, b, baked, traced, where="filter_jit")


def watched_candidate(function: Any, plans: tuple[CallPlan, CallPlan], name: str) -> Candidate:
    """A number a watched filter_jit function recompiled for, from the calls of its first two
    entries: a field it holds static, or a whole argument it holds static (no array in it);
    `function` is the user's function under the wrapper."""
    target = Target.of(wrappers.filter_jit_of(function))
    if split_field(plans[0], name) is not None:
        return field_candidate(target, *plans, name)
    candidate = static_candidate(target, *plans, name)
    return replace(candidate, where="filter_jit")
