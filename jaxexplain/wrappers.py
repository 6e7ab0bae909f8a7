"""Library jit wrappers: which ones jaxexplain models exactly, and how they split arguments.

`equinox.filter_jit` traces every array leaf and holds every other leaf static, so a Python int
is static and a module holding arrays and functions is fine. jaxexplain models that split with
one `jax.jit` whose arguments are split the same way per parameter: a parameter without arrays
is a static argument, and a parameter mixing both is a `FilterSplit` whose children are its
arrays and whose pytree structure holds the other leaves, compared by `==` as equinox compares
its static part. A wrapper that is not modelled is named in a note, never traced as if it were
the function under it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax

from jaxexplain.calling import CallPlan

FILTER_JIT = "equinox.filter_jit"
NNX_JIT = "flax.nnx.jit"

# Library wrappers recognised by their class: (module, class name) -> what the user wrote.
_WRAPPER_CLASSES = {
    ("equinox._jit", "_JitWrapper"): FILTER_JIT,
    ("flax.nnx.transforms.compilation", "JitWrapped"): NNX_JIT,
}


def library_wrapper(obj: Any) -> str | None:
    """The library wrapper `obj` is (`equinox.filter_jit`, `flax.nnx.jit`), or None."""
    kind = type(obj)
    return _WRAPPER_CLASSES.get((kind.__module__, kind.__name__))


def wrapped_function(obj: Any) -> Callable[..., Any]:
    """The user's function under a filter_jit wrapper (equinox sets `__wrapped__` to it)."""
    return obj.__wrapped__


def is_array(leaf: Any) -> bool:
    """An array leaf as `equinox.is_array` decides, with an abstract array (a
    `jax.ShapeDtypeStruct` from `--arg` or `jax.eval_shape`) standing for the array it
    describes; Python numbers are not arrays to equinox, so they are static."""
    import numpy as np

    return isinstance(leaf, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct))


@dataclasses.dataclass(frozen=True)
class UserPath:
    """A key-path entry that prints the user's path inside a parameter (`.layers[0].weight`)."""

    text: str

    def __str__(self) -> str:
        return self.text


@jax.tree_util.register_pytree_with_keys_class
class FilterSplit:
    """One parameter split as `equinox.filter_jit` splits it: arrays traced, the rest static.

    The static part (every non-array leaf, `None` where an array sits, and the tree structure)
    is the pytree's aux data, which `jax.jit` compares by `==` and hash exactly as equinox
    compares its static argument; the arrays are the children, keyed by their paths.
    """

    def __init__(self, arrays: tuple[Any, ...], static: tuple[Any, ...], treedef: Any) -> None:
        self.arrays = arrays
        self.static = static
        self.treedef = treedef

    @classmethod
    def of(cls, value: Any) -> FilterSplit:
        leaves, treedef = jax.tree_util.tree_flatten(value)
        arrays = tuple(leaf for leaf in leaves if is_array(leaf))
        static = tuple(None if is_array(leaf) else leaf for leaf in leaves)
        return cls(arrays, static, treedef)

    def joined(self) -> Any:
        """The user's value again, arrays (or tracers) back in their places."""
        arrays = iter(self.arrays)
        leaves = [next(arrays) if s is None else s for s in self.static]
        return jax.tree_util.tree_unflatten(self.treedef, leaves)

    def static_leaf_count(self) -> int:
        return sum(s is not None for s in self.static)

    def tree_flatten_with_keys(self) -> tuple[list[tuple[UserPath, Any]], tuple[Any, Any]]:
        positions = range(self.treedef.num_leaves)
        with_paths = jax.tree_util.tree_flatten_with_path(
            jax.tree_util.tree_unflatten(self.treedef, positions)
        )[0]
        paths = [jax.tree_util.keystr(path) for path, i in with_paths if self.static[i] is None]
        keyed = [(UserPath(p), a) for p, a in zip(paths, self.arrays, strict=True)]
        return keyed, (self.static, self.treedef)

    @classmethod
    def tree_unflatten(cls, aux: tuple[Any, Any], children: Any) -> FilterSplit:
        return cls(tuple(children), *aux)


def user_value(value: Any) -> Any:
    """A parameter's value as the user gave it (a `FilterSplit` joined again)."""
    return value.joined() if isinstance(value, FilterSplit) else value


def traced_part(value: Any) -> Any:
    """A parameter's traced part in the user's structure: a `FilterSplit`'s static leaves
    left out (None is an empty subtree), the whole value otherwise."""
    if not isinstance(value, FilterSplit):
        return value
    arrays = iter(value.arrays)
    leaves = [next(arrays) if s is None else None for s in value.static]
    return jax.tree_util.tree_unflatten(value.treedef, leaves)


def split_for_filter_jit(plan: CallPlan) -> CallPlan:
    """The plan with each traced parameter that mixes arrays and other leaves split as
    equinox splits it (the parameters without arrays are already static)."""
    params = []
    for p in plan.params:
        if p.passed and not p.static and not isinstance(p.value, FilterSplit):
            split = FilterSplit.of(p.value)
            if split.static_leaf_count():
                p = dataclasses.replace(p, value=split)
        params.append(p)
    return dataclasses.replace(plan, params=tuple(params))


def joining(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` called with every `FilterSplit` joined, returning only its array outputs, as
    equinox's own jitted function does (its other outputs travel outside the jit)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        out = fn(*map(user_value, args), **{k: user_value(v) for k, v in kwargs.items()})
        return [leaf for leaf in jax.tree_util.tree_leaves(out) if is_array(leaf)]

    return call


def filter_jit_note(plan: CallPlan) -> str:
    """How equinox split this call, in the user's terms."""
    static = [p.name for p in plan.params if p.passed and p.static]
    mixed = [
        f"{p.name} ({len(p.value.arrays)} arrays traced, "
        f"{p.value.static_leaf_count()} other leaves static)"
        for p in plan.params
        if isinstance(p.value, FilterSplit)
    ]
    parts = []
    if static:
        parts.append(
            f"{', '.join(static)} static (no array in {'them' if len(static) > 1 else 'it'})"
        )
    if mixed:
        parts.append(f"{', '.join(mixed)}, the static leaves part of the cache key's pytree")
    return (
        "equinox.filter_jit traces every array leaf and holds every other leaf static"
        + (": " + "; ".join(parts) if parts else "")
        + "; jaxexplain models it with one jax.jit that splits the arguments the same way"
    )


def unmodelled_note(wrapper: str) -> str:
    """What the report of a wrapper that is not modelled can and cannot be trusted for."""
    return (
        f"{wrapper} is not modelled: jaxexplain traced the wrapper inside a jax.jit of its own, "
        f"so the cache key is that jax.jit's on these arguments, not {wrapper}'s own cache; "
        f"the jaxpr and decisions are those of the wrapped function"
    )


def filter_jit_plan(plan: CallPlan) -> CallPlan:
    """The call as `equinox.filter_jit` makes it: a parameter without arrays is static (a
    Python int, a string, a function), one mixing arrays and other leaves is split."""
    import inspect

    params = []
    for p in plan.params:
        holds_array = any(is_array(leaf) for leaf in jax.tree_util.tree_leaves(p.value))
        if p.passed and not holds_array and p.kind != inspect.Parameter.VAR_POSITIONAL:
            p = dataclasses.replace(p, static=True)
        params.append(p)
    return split_for_filter_jit(dataclasses.replace(plan, params=tuple(params)))
