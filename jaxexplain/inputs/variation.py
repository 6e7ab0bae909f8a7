"""Side B of a diff: side A's call plan with some values changed, each keeping its role.

A change is read by the role its parameter has on side A: a static stays static (its text a
Python literal), a traced argument stays traced (its text a spec); `NAME.FIELD` changes one
field of a NamedTuple, dataclass or dict that side A already passes.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import jax

from jaxexplain.errors import UsageError
from jaxexplain.inputs import specs
from jaxexplain.inputs.caller import FUNCTION_API, Vocabulary
from jaxexplain.inputs.calling import BoundParam, CallPlan, parameters_text
from jaxexplain.inputs.loader import arguments_from
from jaxexplain.report import Source
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.stages import Target


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


def plan_with_values(
    target: Target, plan_a: CallPlan, vs: Mapping[str, Any], static_names: set[str]
) -> CallPlan:
    """Side B of a Python API diff: `vs` holds Python values (spec strings for arrays).

    A parameter not passed on side A is static on B if `static_names` or the decorator say so.
    """
    defaults_static = static_names | set(target.decorator_statics())
    changes = {
        name: _value_change(plan_a, name, value, defaults_static) for name, value in vs.items()
    }
    return as_wrapper_splits(target, vary_plan(plan_a, changes, "api"))


def as_wrapper_splits(target: Target, plan: CallPlan) -> CallPlan:
    """Side B as the target's wrapper splits it: `equinox.filter_jit` decides on every call,
    from the values themselves, which leaves are static (a module's float field is, whatever
    role side A's module had), so side B's new values are split afresh."""
    return wrappers.filter_jit_plan(plan) if target.library == wrappers.FILTER_JIT else plan


def _value_change(
    plan: CallPlan, name: str, value: Any, defaults_static: set[str]
) -> tuple[bool, Any]:
    """(static?, value) for an API `vs` entry, by the parameter's role on side A."""
    param = _parameter(plan, name, FUNCTION_API)
    static = param.static if param is not None and param.passed else name in defaults_static
    return (True, value) if static else (False, specs.abstract_spec_strings(value))


_BY_POSITION = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def plan_with_factory(
    target: Target, plan_a: CallPlan, spec: str, vocabulary: Vocabulary
) -> tuple[CallPlan, dict[str, str]]:
    """Side B from a `--vs-from` factory's values, for what no literal can say (a rebuilt
    optimizer, a redefined lambda, a new module instance): each replaces side A's value and
    keeps its role, as a `--vs` does; its positional values are bound to side A's parameters
    in order.

    Returns:
        Side B's plan, and what made each value (`{"tx": "opt.py:rebuilt()"}`) for the report.
    """
    shown = vocabulary.vs_from(spec)
    args, kwargs = arguments_from(spec, shown)
    values = {**_by_position(plan_a, args, shown), **kwargs}
    _refuse_unknown(plan_a, values, shown)
    decorator_statics = set(target.decorator_statics())
    changes = {
        name: _object_change(plan_a, name, value, decorator_statics, vocabulary)
        for name, value in values.items()
    }
    plan_b = as_wrapper_splits(target, vary_plan(plan_a, changes, "factory"))
    return plan_b, dict.fromkeys(values, f"{spec}()")


def _by_position(plan: CallPlan, args: tuple[Any, ...], shown: str) -> dict[str, Any]:
    """A factory's positional values by the names of the parameters they would be passed to."""
    names = [p.name for p in plan.params if p.kind in _BY_POSITION]
    if len(args) > len(names):
        raise UsageError(
            f"{shown} gives {len(args)} positional values, and the target takes "
            f"{len(names)} positional parameters ({', '.join(names)}); return the values by "
            f"name in a dict"
        )
    return dict(zip(names, args, strict=False))


def _refuse_unknown(plan: CallPlan, values: Mapping[str, Any], shown: str) -> None:
    """A name the target does not take, unless its `**kwargs` takes any."""
    names = [p.name for p in plan.params]
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in plan.params):
        return
    unknown = [name for name in values if name not in names]
    if unknown:
        raise UsageError(
            f"{shown} gives {', '.join(unknown)}, which the target does not take; "
            f"{parameters_text(names)}"
        )


def _object_change(
    plan: CallPlan, name: str, value: Any, decorator_statics: set[str], vocabulary: Vocabulary
) -> tuple[bool, Any]:
    """(static?, value) for a factory's object, by the parameter's role on side A; for one
    not passed there, static if the decorator says so or the object holds no array."""
    param = _parameter(plan, name, vocabulary)
    if param is not None and param.passed:
        return param.static, value
    holds_arrays = any(wrappers.is_array(leaf) for leaf in jax.tree_util.tree_leaves(value))
    return name in decorator_statics or not holds_arrays, value


def plan_with_texts(
    target: Target, plan_a: CallPlan, vs: Mapping[str, str], vocabulary: Vocabulary
) -> CallPlan:
    """Side B from NAME -> VALUE texts (`--vs`, `diff_target`), each read by its role on A.

    For a parameter not passed on side A, the text is static if the jit decorator says so or
    if it is no array spec.
    """
    decorator_statics = set(target.decorator_statics())
    filter_jit = target.library == wrappers.FILTER_JIT
    changes: dict[str, tuple[bool, Any]] = {}
    for name, text in vs.items():
        root, _, fields = name.partition(".")
        if fields:
            current = changes.get(root) or _side_a_value(plan_a, root, vocabulary)
            changes[root] = _field_change(current, name, text, vocabulary, filter_jit)
        else:
            changes[name] = _text_change(plan_a, name, text, decorator_statics, vocabulary)
    return as_wrapper_splits(target, vary_plan(plan_a, changes, "cli"))


def _parameter(plan: CallPlan, name: str, vocabulary: Vocabulary) -> Any:
    """The parameter a change names; None for a new keyword into the target's `**kwargs`."""
    for p in plan.params:
        if p.name == name:
            return p
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in plan.params):
        return None
    raise UsageError(
        f"{vocabulary.vs(name)}: the target has no parameter {name!r}; "
        f"{parameters_text(p.name for p in plan.params)}"
    )


def _text_change(
    plan: CallPlan, name: str, text: str, decorator_statics: set[str], vocabulary: Vocabulary
) -> tuple[bool, Any]:
    """(static?, value) for the text of a change, read by the parameter's role on side A."""
    param = _parameter(plan, name, vocabulary)
    if param is not None and param.passed:
        static = param.static
    else:
        static = name in decorator_statics or not _spells_arrays(name, text, vocabulary)
    return static, _read(name, text, static, vocabulary)


def _read(name: str, text: str, static: bool, vocabulary: Vocabulary) -> Any:
    """A static literal, or the abstract value of a traced spec."""
    if static:
        return specs.parse_static_value(text, vocabulary)
    return specs.to_abstract(specs.parse_traced_value(name, text, vocabulary, side_b=True))


def _side_a_value(plan: CallPlan, name: str, vocabulary: Vocabulary) -> tuple[bool, Any]:
    """(static?, value) of a parameter on side A, its default included (a module that
    filter_jit split, joined again)."""
    param = _parameter(plan, name, vocabulary)
    if param is None:
        raise UsageError(f"{vocabulary.vs(name + '.FIELD')}: {name} is not an argument of side A")
    return param.static, wrappers.user_value(param.value)


def _field_change(
    current: tuple[bool, Any], path: str, text: str, vocabulary: Vocabulary, filter_jit: bool
) -> tuple[bool, Any]:
    """`config.causal=False`: side A's value with one field replaced, read by its role.

    A static configuration (a NamedTuple, a dataclass, a dict) cannot be spelled as a literal,
    so a field is changed in place; a traced pytree's leaf is changed the same way, except
    that under `equinox.filter_jit` a leaf that is no array is static (a module's float field),
    so its text is a literal."""
    static, value = current
    root, *fields = path.split(".")
    leaf_static = static or (filter_jit and not wrappers.is_array(_field_value(value, fields)))
    new = _read(path, text, leaf_static, vocabulary)
    return static, _with_field(value, fields, new, root, vocabulary)


def _field_value(value: Any, fields: list[str]) -> Any:
    """The value at `fields` inside `value`, or None where there is none (then changing it is
    refused with the fields there are)."""
    for name in fields:
        names = _field_names(value)
        if names is None or name not in names:
            return None
        value = value[name] if isinstance(value, Mapping) else getattr(value, name)
    return value


def _with_field(value: Any, fields: list[str], new: Any, where: str, vocabulary: Vocabulary) -> Any:
    """A copy of `value` whose field (attribute or dict key) `fields[0]`... is `new`."""
    name, rest = fields[0], fields[1:]
    here = f"{where}.{name}"
    names = _field_names(value)
    if names is None or name not in names:
        has = f" with fields {', '.join(names)}" if names else ", which has no fields to change"
        raise UsageError(
            f"{vocabulary.vs(here)}: {where} is {_a(type(value).__name__)}{has}; "
            f"{vocabulary.vs('NAME.FIELD', 'VALUE')} changes a field of a NamedTuple, a "
            f"dataclass or a dict"
        )
    current = value[name] if isinstance(value, Mapping) else getattr(value, name)
    inner = _with_field(current, rest, new, here, vocabulary) if rest else new
    if isinstance(value, Mapping):
        return {**value, name: inner}
    if isinstance(value, tuple):
        return value._replace(**{name: inner})  # type: ignore[attr-defined]
    return dataclasses.replace(value, **{name: inner})


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _field_names(value: Any) -> list[str] | None:
    """The fields a `NAME.FIELD` change can change: a dict's string keys, a NamedTuple's or a
    dataclass instance's fields; None for anything else."""
    if isinstance(value, Mapping):
        return [k for k in value if isinstance(k, str)]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return list(value._fields)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [f.name for f in dataclasses.fields(value)]
    return None


def _spells_arrays(name: str, text: str, vocabulary: Vocabulary) -> bool:
    """True when the text is an array spec or a literal pytree of them."""
    try:
        value = specs.parse_traced_value(name, text, vocabulary, side_b=True)
    except UsageError:
        return False
    return any(isinstance(leaf, specs.ArraySpec) for leaf in jax.tree_util.tree_leaves(value))


class _Bare(str):
    """A string whose repr is itself: an abstract value inside a container's repr."""

    def __repr__(self) -> str:
        return str(self)


def shown_values(vs: Mapping[str, Any]) -> dict[str, str]:
    """How a Python API diff's `vs` values read in the report: an array as its abstract value,
    not all its numbers, also inside a tuple, dict or NamedTuple of arrays
    (`Params(w=f32[4,2], b=f32[2])`)."""

    def shown(leaf: Any) -> Any:
        if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
            return _Bare(specs.format_aval(tuple(leaf.shape), str(leaf.dtype)))
        return leaf

    return {name: repr(jax.tree_util.tree_map(shown, value)) for name, value in vs.items()}
