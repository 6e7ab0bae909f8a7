"""What a traced argument could be as a static one: the Python number, or tuple of numbers, that
would carry its value, and how it is shown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from jaxexplain import _jax_compat
from jaxexplain.inputs.calling import BoundParam, CallPlan
from jaxexplain.inputs.specs import format_aval
from jaxexplain.report import Dependency


def concrete_scalar(param: BoundParam) -> Any:
    """The hashable Python value a traced parameter given with a value would take as a static
    argument (it could be static), else None: a number; a concrete 0-d numeric array
    (`jnp.array(5)` from a factory) as its Python number (arrays are unhashable statics); a
    short tuple or list of these (`sample_shape=(4, 5)`, traced as a pytree of 0-d ints) as a
    tuple, since a list is no hashable static either; a dict of these (a configuration,
    `{"NUM_ENVS": 4, "ANNEAL_LR": True}`) as a dict that hashes by its items, standing in for
    the hashable mapping (flax's `FrozenDict`) a static argument needs."""
    return _static_form(param.value)


# A sequence of numbers longer than this is data, not a shape or a handful of sizes.
MAX_STATIC_LEAVES = 8
# A configuration holds more numbers than a shape; a dict of more than this is data.
MAX_CONFIG_LEAVES = 64


def _static_form(value: Any) -> Any:
    """`value` as a hashable static: a number, a 0-d array's number, a short plain sequence of
    these as a tuple, a plain dict of these as a hashable dict; None for anything else."""
    if is_python_number(value):
        return value
    numeric = isinstance(value, np.ndarray | jax.Array) and value.shape == ()
    if numeric and any(jax.dtypes.issubdtype(value.dtype, kind) for kind, _ in _PYTHON_SCALARS):
        return value.item()
    if type(value) is dict:
        return _static_mapping(value)
    if not _is_plain_sequence(value) or len(jax.tree_util.tree_leaves(value)) > MAX_STATIC_LEAVES:
        return None
    items = [_static_form(item) for item in value]
    return tuple(items) if items and None not in items else None


def _static_mapping(value: dict[Any, Any]) -> HashableDict | None:
    """A plain dict of numbers (nested dicts and short sequences of them too) as a hashable
    dict; None for an empty one, one holding anything else, or one too large for a
    configuration."""
    if not value or len(jax.tree_util.tree_leaves(value)) > MAX_CONFIG_LEAVES:
        return None
    items = {key: _static_form(item) for key, item in value.items()}
    return HashableDict(items) if None not in items.values() else None


class HashableDict(dict):  # type: ignore[type-arg]
    """A dict that hashes by its items, standing in for FrozenDict when a fix is tried."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: repr(kv[0]))))


def _is_plain_sequence(value: Any) -> bool:
    """A tuple or list, not a NamedTuple (its fields are a structure of their own)."""
    return isinstance(value, tuple | list) and not hasattr(value, "_fields")


def is_number_sequence(param: BoundParam) -> bool:
    """A tuple or list of Python numbers (or 0-d arrays) that a static tuple could carry."""
    return _is_plain_sequence(param.value) and concrete_scalar(param) is not None


def is_number_mapping(param: BoundParam) -> bool:
    """A dict of Python numbers (a configuration) that a static hashable mapping could carry."""
    return type(param.value) is dict and concrete_scalar(param) is not None


def is_python_number(value: Any) -> bool:
    """A Python or NumPy scalar: what a static argument that keys jit's cache by value is."""
    return isinstance(value, bool | int | float | complex | np.generic)


def static_values(names: Sequence[str], params: dict[str, BoundParam]) -> dict[str, Any]:
    """The values that make `names` static: a 0-d array becomes its Python number."""
    return {n: concrete_scalar(params[n]) for n in names}


def scalar_without_value(param: BoundParam) -> str | None:
    """The Python type ("int", "float", "bool", "complex") a traced 0-d parameter would take as
    a static argument, when it was given as an array (`--arg n=i32[]`) rather than a Python
    number, so jaxexplain has no Python value to re-trace it with; None for anything else.

    The rule for "a static choice may help": the value needed concretely reads a parameter that
    is one 0-d number, so the parameter itself can be the static choice. An array with elements
    (f32[8]) is data, never a static argument, and a PRNG key (an extended dtype) is no number.
    """
    if concrete_scalar(param) is not None:
        return None
    leaves = jax.tree_util.tree_leaves(param.value)
    if len(leaves) != 1 or leaves[0] is not param.value:
        return None
    try:
        aval = _jax_compat.typeof(param.value)
    except TypeError:
        return None
    if aval.shape != ():
        return None
    for numpy_kind, python_type in _PYTHON_SCALARS:
        if jax.dtypes.issubdtype(aval.dtype, numpy_kind):
            return python_type
    return None


_PYTHON_SCALARS = (
    (np.bool_, "bool"),
    (np.integer, "int"),
    (np.floating, "float"),
    (np.complexfloating, "complex"),
)


def could_be_static(param: BoundParam) -> bool:
    """A traced 0-d number, given as a Python number or as a 0-d array: static, it is concrete."""
    return concrete_scalar(param) is not None or scalar_without_value(param) is not None


def array_value_params(plan: CallPlan, depends_on: Sequence[Dependency]) -> list[BoundParam]:
    """Traced parameters the value depends on through their array data: not 0-d numbers,
    which a static argument could carry instead."""
    params = {p.name: p for p in plan.params}
    return [
        params[d.name]
        for d in depends_on
        if d.via == "value" and d.name in params and not could_be_static(params[d.name])
    ]


def traced_scalars(plan: CallPlan) -> list[str]:
    """Every traced parameter with a Python number to re-trace it static with."""
    return [p.name for p in plan.params if not p.static and concrete_scalar(p) is not None]


def static_value(param: BoundParam) -> Any:
    """The Python value the parameter would take as a static argument, or None."""
    return param.value if param.static else concrete_scalar(param)


def aval_text(value: Any) -> str:
    """`f32[8]`, `~i32[]` (weakly typed): the abstract value jit traces `value` as; the type's
    name for a value JAX cannot trace."""
    try:
        aval = _jax_compat.typeof(value)
    except TypeError:
        return type(value).__name__
    return format_aval(tuple(aval.shape), str(aval.dtype), bool(getattr(aval, "weak_type", False)))
