"""Traced arguments that are not arrays (a string, an object): which one, and whether making it
static traces."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import jax

from jaxexplain import _jax_compat
from jaxexplain.explain.frames import at_definition
from jaxexplain.explain.retrace import attempt, where_it_fails
from jaxexplain.explain.wording import static_how
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import Dependency, ErrorInfo, Suggestion
from jaxexplain.tracing.cache_key import is_hashable, uses_identity_hash
from jaxexplain.tracing.stages import Target


def explain_not_an_array(
    exc: BaseException, target: Target, plan: CallPlan, vocabulary: Vocabulary
) -> ErrorInfo:
    """A traced argument JAX cannot turn into an array: which one, and whether static works."""
    match = _jax_compat.NOT_AN_ARRAY.search(str(exc))
    path = match["path"] if match else ""
    root = re.match(r"\w+", path)
    params = {p.name: p for p in plan.params}
    name = root[0] if root and root[0] in params else _first_non_array(plan)
    base = at_definition(exc, target)
    if name is None:
        return base
    param = params[name]
    leaf = _non_array_leaf(param.value)
    kind = type(leaf).__name__
    explanation = (
        f"`{name}` is passed traced, but jit can only trace arrays and numbers; "
        f"{'its leaf ' + path + ' is' if path and path != name else 'it is'} a {kind}. "
        f"Values like this belong in static arguments (hashed, one compilation per value)."
    )
    suggestions: list[Suggestion] = []
    if is_hashable(param.value):
        result = attempt(target, plan.with_values({}, static={name}))
        cost = f"one compilation per distinct value of {name}"
        if uses_identity_hash(param.value):
            cost += f"; a {type(param.value).__name__} hashes by identity, so every new object recompiles"
        suggestions.append(
            Suggestion(
                "make_static",
                (name,),
                f"Mark `{name}` static{static_how([name], {name: param.value}, params, vocabulary)}"
                + (
                    ": jaxexplain re-traced with it static, and tracing succeeds."
                    if result.ok
                    else f"; tracing then fails at {where_it_fails(result.error)}."
                ),
                cost=cost,
                verified=result.ok,
            )
        )
    if dataclasses.is_dataclass(leaf):
        suggestions.append(
            Suggestion(
                "advice",
                (name,),
                f"If {kind} holds arrays, register it as a pytree "
                f"(jax.tree_util.register_dataclass) so that jit traces its array fields.",
            )
        )
    return dataclasses.replace(
        base,
        depends_on=(Dependency(name, "value"),),
        suggestions=tuple(suggestions),
        construct="argument",
        explanation=explanation,
    )


def _is_array_like(leaf: Any) -> bool:
    """JAX can make an abstract array of the leaf (an array or a number)."""
    try:
        _jax_compat.typeof(leaf)
    except TypeError:
        return False
    return True


def _non_array_leaf(value: Any) -> Any:
    """The first leaf JAX cannot trace, or the value itself."""
    return next(
        (leaf for leaf in jax.tree_util.tree_leaves(value) if not _is_array_like(leaf)), value
    )


def _first_non_array(plan: CallPlan) -> str | None:
    """The first traced parameter with a leaf JAX cannot trace (JAX's message named none)."""
    for p in plan.params:
        if p.passed and not p.static and not _is_array_like(_non_array_leaf(p.value)):
            return p.name
    return None
