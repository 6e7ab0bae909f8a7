"""Static arguments that cannot be hashed: which one, and hashable forms of it (a tuple, a
frozen dataclass, a hashable mapping) or passing it traced, each re-traced to prove it."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

from jaxexplain.explain.frames import at_definition
from jaxexplain.explain.retrace import Budget, attempt, proven_first, where_it_fails
from jaxexplain.explain.values import HashableDict
from jaxexplain.explain.wording import tuple_on_command_line
from jaxexplain.inputs.calling import BoundParam, CallPlan
from jaxexplain.report import Dependency, ErrorInfo, Suggestion
from jaxexplain.tracing.cache_key import is_hashable
from jaxexplain.tracing.stages import Target


def explain_unhashable_static(exc: BaseException, target: Target, plan: CallPlan) -> ErrorInfo:
    """A static argument JAX cannot hash: which one, and hashable forms re-traced to work."""
    culprits = [p for p in plan.params if p.static and p.passed and not is_hashable(p.value)]
    base = at_definition(exc, target)
    if not culprits:
        return base
    param = culprits[0]
    budget = Budget(3)
    suggestions = proven_first(
        [s for s in hashable_suggestions(target, plan, param, budget) if s is not None]
    )
    kind = type(param.value).__name__
    explanation = (
        f"Static arguments key jit's cache, so JAX hashes them; `{param.name}` is a {kind}, "
        f"which cannot be hashed ({_unhash_reason(param.value)})."
    )
    return dataclasses.replace(
        base,
        depends_on=(Dependency(param.name, "static"),),
        suggestions=suggestions,
        construct="static_argument",
        explanation=explanation,
    )


def _unhash_reason(value: Any) -> str:
    try:
        hash(value)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "hashable"


def hashable_suggestions(
    target: Target, plan: CallPlan, param: BoundParam, budget: Budget
) -> list[Suggestion | None]:
    """Hashable stand-ins for the value (tuple, frozen dataclass, hashable mapping), or tracing it."""
    value = param.value
    out: list[Suggestion | None] = []
    if isinstance(value, np.ndarray | jax.Array):
        traced = _traced_suggestion(target, plan, param, budget)
        out.append(traced)
        if traced is not None and traced.verified:
            return out
    frozen = _frozen_form(value)
    for text, replacement, cost in [frozen] if frozen is not None else []:
        if not budget.take():
            break
        if param.source == "cli" and type(replacement) is tuple:
            text += tuple_on_command_line(param.name, replacement)
        cost = f"{cost} of {param.name}"
        result = attempt(target, plan.with_values({param.name: replacement}))
        out.append(
            Suggestion(
                "hashable",
                (param.name,),
                text
                + (
                    ": jaxexplain re-traced with it, and tracing succeeds."
                    if result.ok
                    else f"; tracing with it still fails at {where_it_fails(result.error)}."
                ),
                cost=cost,
                verified=result.ok,
            )
        )
        if result.ok:
            return out
    if not isinstance(value, np.ndarray | jax.Array):
        out.append(_traced_suggestion(target, plan, param, budget))
    return out


def _traced_suggestion(
    target: Target, plan: CallPlan, param: BoundParam, budget: Budget
) -> Suggestion | None:
    """Passing the value traced, when all its leaves are arrays or numbers, re-traced to check."""
    if not _traceable(param.value) or not budget.take():
        return None
    result = attempt(target, _as_traced(plan, param.name))
    text = f"Pass `{param.name}` as a traced argument instead (it holds array data)"
    if result.ok:
        text += ": jaxexplain re-traced with it traced, and tracing succeeds."
    else:
        assert result.error is not None
        text += f"; tracing then fails at {where_it_fails(result.error)}."
    return Suggestion(
        "make_traced",
        (param.name,),
        text,
        cost="none: its values no longer key the cache (one compilation per shape and dtype)",
        verified=result.ok,
    )


def _frozen_form(value: Any) -> tuple[str, Any, str] | None:
    """A hashable equivalent of `value` and how to write it, for lists, dicts and dataclasses."""
    per_value = "one compilation per distinct value"
    list_fields = _list_fields(value)
    if list_fields:
        frozen = _tuples_for_lists(value)
        if is_hashable(frozen):
            names = ", ".join(f"`{name}`" for name in list_fields)
            return (
                f"Make {names} of {type(value).__name__} a tuple: {frozen!r}",
                frozen,
                per_value,
            )
    if isinstance(value, list | tuple) and not isinstance(value, np.ndarray):
        frozen = _tuples_for_lists(value)
        if is_hashable(frozen):
            return (f"Pass a tuple instead of a list: {frozen!r}", frozen, per_value)
    if isinstance(value, dict):
        frozen_dict = HashableDict(value)
        if is_hashable(frozen_dict):
            return (
                "Pass an immutable, hashable mapping instead of a dict (for example "
                "flax.core.FrozenDict, or a frozen dataclass); jaxexplain tried a hashable dict "
                "with the same items",
                frozen_dict,
                per_value,
            )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        stand_in = _hashable_dataclass(value)
        if stand_in is not None:
            name = type(value).__name__
            return (
                f"Declare {name} with @dataclass(frozen=True) so that it hashes by its fields "
                f"(jaxexplain tried a copy of {name} hashed by its fields)",
                stand_in,
                per_value,
            )
    if isinstance(value, np.ndarray | jax.Array):
        frozen = _deep_tuple(np.asarray(value).tolist())
        return (
            f"Pass the values as a (nested) tuple: tuple({_short_repr(value)}.tolist())",
            frozen,
            per_value,
        )
    return None


def _short_repr(value: Any) -> str:
    return "x" if len(repr(value)) > 40 else repr(value)


def _deep_tuple(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_deep_tuple(v) for v in value)
    return value


def _fields_of(value: Any) -> dict[str, Any] | None:
    """A NamedTuple's or a dataclass instance's fields by name; None for other values."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return dict(zip(value._fields, value, strict=True))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
    return None


def _list_fields(value: Any) -> list[str]:
    """The fields of a config (NamedTuple, dataclass) that hold lists, which cannot hash."""
    fields = _fields_of(value) or {}
    return [name for name, item in fields.items() if isinstance(item, list)]


def _tuples_for_lists(value: Any) -> Any:
    """`value` with every list in it a tuple, NamedTuples and dataclasses kept as they are."""
    fields = _fields_of(value)
    if fields is not None:
        tupled = {name: _tuples_for_lists(item) for name, item in fields.items()}
        if isinstance(value, tuple):
            return type(value)(**tupled)
        return dataclasses.replace(value, **tupled)
    if isinstance(value, list | tuple):
        return tuple(_tuples_for_lists(v) for v in value)
    return value


def _hashable_dataclass(value: Any) -> Any:
    """A copy of a dataclass instance whose class hashes by its fields, if its fields hash."""
    cls = type(value)
    fields = tuple(getattr(value, f.name) for f in dataclasses.fields(value))
    if not is_hashable(fields):
        return None
    hashed = type(
        cls.__name__,
        (cls,),
        {
            "__hash__": lambda self: hash(
                tuple(getattr(self, f.name) for f in dataclasses.fields(self))
            )
        },
    )
    stand_in: Any = object.__new__(hashed)
    stand_in.__dict__.update(value.__dict__)
    return stand_in


def _traceable(value: Any) -> bool:
    """Every leaf is an array or a number: the value could be passed traced."""
    leaves = jax.tree_util.tree_leaves(value)
    return bool(leaves) and all(
        isinstance(leaf, np.ndarray | jax.Array | int | float | complex | np.generic)
        and not isinstance(leaf, bool)
        for leaf in leaves
    )


def _as_traced(plan: CallPlan, name: str) -> CallPlan:
    params = tuple(
        dataclasses.replace(p, static=False) if p.name == name else p for p in plan.params
    )
    return dataclasses.replace(plan, params=params)
