"""Library jit wrappers: which ones jaxexplain models exactly, and how they split arguments.

`flax.nnx.jit` is traced through a fresh `nnx.jit` of the user's function, so nnx splits the
arguments itself; the cache key names the state leaves by the user's paths.

`equinox.filter_jit` traces every array leaf and holds every other leaf static, so a Python int
is static and a module holding arrays and functions is fine. jaxexplain models that split with
one `jax.jit` whose arguments are split the same way per parameter: a parameter without arrays
is a static argument, and a parameter mixing both is a `FilterSplit` whose children are its
arrays and whose pytree structure holds the other leaves, compared by `==` as equinox compares
its static part; the cache key lists each of those leaves as a static by the user's path
(`model.scale`). A wrapper that is not modelled is named in a note, never traced as if it were
the function under it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax

from jaxexplain.inputs.calling import CallPlan

FILTER_JIT = "equinox.filter_jit"
NNX_JIT = "flax.nnx.jit"
NNX_JIT_SHARDED = "flax.nnx.jit with in_shardings or out_shardings"

# Library wrappers recognised by their class: (module, class name) -> what the user wrote.
_WRAPPER_CLASSES = {
    ("equinox._jit", "_JitWrapper"): FILTER_JIT,
    ("flax.nnx.transforms.compilation", "JitWrapped"): NNX_JIT,
    ("flax.nnx.transforms.compilation", "SimpleJitWrapped"): "flax.nnx.jit in tree mode",
}


def library_wrapper(obj: Any) -> str | None:
    """The library wrapper `obj` is (`equinox.filter_jit`, `flax.nnx.jit`), or None."""
    kind = type(obj)
    return _WRAPPER_CLASSES.get((kind.__module__, kind.__name__))


def is_partial(obj: Any) -> bool:
    """A `functools.partial`, or equinox's `Partial` (what a filter_jit method bound to its
    module is), both with `func`, `args` and `keywords`."""
    kind = type(obj)
    return isinstance(obj, functools.partial) or (
        kind.__module__.startswith("equinox.") and kind.__name__ == "Partial"
    )


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


class StaticLeaves(tuple):  # type: ignore[type-arg]
    """A filter_jit split's static leaves (`None` where an array sits), compared and hashed as
    the plain tuple equinox compares; in the pytree structure it reads as their count only,
    since the cache key lists each of them by path, with its value, among the statics."""

    def __repr__(self) -> str:
        return f"static leaves {len([s for s in self if s is not None])}"


@jax.tree_util.register_pytree_with_keys_class
class FilterSplit:
    """One parameter split as `equinox.filter_jit` splits it: arrays traced, the rest static.

    The static part (every non-array leaf, `None` where an array sits, and the tree structure)
    is the pytree's aux data, which `jax.jit` compares by `==` and hash exactly as equinox
    compares its static argument; the arrays are the children, keyed by their paths.
    """

    def __init__(self, arrays: tuple[Any, ...], static: tuple[Any, ...], treedef: Any) -> None:
        self.arrays = arrays
        self.static = StaticLeaves(static)
        self.treedef = treedef

    @classmethod
    def of(cls, value: Any) -> FilterSplit:
        leaves, treedef = jax.tree_util.tree_flatten(value)
        arrays = tuple(leaf for leaf in leaves if is_array(leaf))
        static = tuple(None if is_array(leaf) else leaf for leaf in leaves)
        return cls(arrays, static, treedef)

    def leaf_paths(self) -> list[str]:
        """Every leaf's path inside the parameter (`.layers[0].weight`), in leaf order."""
        positions = jax.tree_util.tree_unflatten(self.treedef, range(self.treedef.num_leaves))
        with_paths = jax.tree_util.tree_flatten_with_path(positions)[0]
        return [jax.tree_util.keystr(path) for path, _ in with_paths]

    def static_leaves(self) -> list[tuple[str, Any]]:
        """(path, value) of every leaf equinox holds static: each is part of the cache key."""
        return [
            (path, leaf)
            for path, leaf in zip(self.leaf_paths(), self.static, strict=True)
            if leaf is not None
        ]

    def with_static_leaf(self, path: str, value: Any) -> FilterSplit:
        """The split with the static leaf at `path` holding `value` (a new static value)."""
        paths = self.leaf_paths()
        static = tuple(value if p == path else s for p, s in zip(paths, self.static, strict=True))
        return FilterSplit(self.arrays, static, self.treedef)

    def joined_with(self, path: str, value: Any) -> Any:
        """The user's value with the leaf at `path` replaced by `value` (a tracer, where the
        leaf is passed traced instead of static)."""
        arrays = iter(self.arrays)
        leaves = [
            value if p == path else next(arrays) if s is None else s
            for p, s in zip(self.leaf_paths(), self.static, strict=True)
        ]
        return jax.tree_util.tree_unflatten(self.treedef, leaves)

    def joined(self) -> Any:
        """The user's value again, arrays (or tracers) back in their places."""
        arrays = iter(self.arrays)
        leaves = [next(arrays) if s is None else s for s in self.static]
        return jax.tree_util.tree_unflatten(self.treedef, leaves)

    def static_leaf_count(self) -> int:
        return sum(s is not None for s in self.static)

    def tree_flatten_with_keys(self) -> tuple[list[tuple[UserPath, Any]], tuple[Any, Any]]:
        paths = [p for p, s in zip(self.leaf_paths(), self.static, strict=True) if s is None]
        keyed = [(UserPath(p), a) for p, a in zip(paths, self.arrays, strict=True)]
        return keyed, (self.static, self.treedef)

    @classmethod
    def tree_unflatten(cls, aux: tuple[Any, Any], children: Any) -> FilterSplit:
        return cls(tuple(children), *aux)


def user_value(value: Any) -> Any:
    """A parameter's value as the user gave it (a `FilterSplit` joined again, also each of a
    `*args` tuple)."""
    if isinstance(value, tuple) and any(isinstance(v, FilterSplit) for v in value):
        return tuple(map(user_value, value))
    return value.joined() if isinstance(value, FilterSplit) else value


def traced_part(value: Any) -> Any:
    """A parameter's traced part in the user's structure: a `FilterSplit`'s static leaves
    left out (None is an empty subtree), the whole value otherwise."""
    if isinstance(value, tuple) and any(isinstance(v, FilterSplit) for v in value):
        return tuple(map(traced_part, value))
    if not isinstance(value, FilterSplit):
        return value
    arrays = iter(value.arrays)
    leaves = [next(arrays) if s is None else None for s in value.static]
    return jax.tree_util.tree_unflatten(value.treedef, leaves)


def split_for_filter_jit(plan: CallPlan) -> CallPlan:
    """The plan with each traced parameter that mixes arrays and other leaves split as
    equinox splits it (the parameters without arrays are already static)."""
    import inspect

    params = []
    for p in plan.params:
        if p.passed and not p.static and p.kind == inspect.Parameter.VAR_POSITIONAL:
            p = dataclasses.replace(p, value=tuple(_split_if_mixed(v) for v in p.value))
        elif p.passed and not p.static:
            p = dataclasses.replace(p, value=_split_if_mixed(p.value))
        params.append(p)
    return dataclasses.replace(plan, params=tuple(params))


def _split_if_mixed(value: Any) -> Any:
    """`value` split as equinox splits it where it holds any leaf that is no array (each of
    `*args` on its own: a Python int among them is static, its value part of the key)."""
    if isinstance(value, FilterSplit):
        return value
    split = FilterSplit.of(value)
    return split if split.static_leaf_count() else value


def with_arguments(plan: CallPlan, arguments: dict[str, Any]) -> CallPlan:
    """The plan with its traced parameters' values from `arguments` (random inputs made from
    another plan): a split parameter keeps this plan's static leaves and takes only the
    arrays, so that a value baked into this plan is not replaced by the other's."""
    current = {p.name: p.value for p in plan.params}
    return plan.with_values(
        {name: _arrays_into(current.get(name), value) for name, value in arguments.items()}
    )


def _arrays_into(split: Any, value: Any) -> Any:
    if isinstance(split, FilterSplit) and isinstance(value, FilterSplit):
        return FilterSplit(value.arrays, split.static, split.treedef)
    return value


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
    static += [
        f"{p.name}[{i}]"
        for p in plan.params
        if p.passed
        and not p.static
        and isinstance(p.value, tuple)
        and p.kind.name == "VAR_POSITIONAL"
        for i, v in enumerate(p.value)
        if isinstance(v, FilterSplit) and not v.arrays
    ]
    parts = []
    if static:
        parts.append(
            f"{', '.join(static)} static (no array in {'them' if len(static) > 1 else 'it'})"
        )
    if mixed:
        parts.append(f"{', '.join(mixed)}, each static leaf a static of the cache key by its path")
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
    """The call as `equinox.filter_jit` makes it, decided afresh from each value as equinox
    decides on every call: a parameter without arrays is static (a Python int, a string, a
    function), one holding arrays is traced, split where it mixes arrays and other leaves."""
    import inspect

    params = []
    for p in plan.params:
        if p.passed and p.kind != inspect.Parameter.VAR_POSITIONAL:
            value = user_value(p.value)
            holds_array = any(is_array(leaf) for leaf in jax.tree_util.tree_leaves(value))
            p = dataclasses.replace(p, static=not holds_array, value=value)
        elif p.passed:
            p = dataclasses.replace(p, value=user_value(p.value))
        params.append(p)
    return split_for_filter_jit(dataclasses.replace(plan, params=tuple(params)))


def dispatch_cache_of(jitted: Any) -> Any:
    """The `jax.jit` whose dispatch cache counts the compiles of `jitted`: nnx.jit's inner
    one, equinox's cached one, or `jitted` itself."""
    from jaxexplain import _jax_compat

    if isinstance(jitted, NnxJit):
        jitted = jitted.wrapper
    library = library_wrapper(jitted)
    if library in (NNX_JIT, NNX_JIT_SHARDED):
        return jitted.jitted_fn
    if library == FILTER_JIT:
        return _jax_compat.filter_jit_cache(jitted)
    return jitted


def nnx_modelled(wrapper: Any) -> bool:
    """True for an `nnx.jit` in graph mode without shardings: the split jaxexplain models
    (shardings make nnx split the states by filters, a layout not modelled here)."""
    return wrapper.in_shardings is None and wrapper.out_shardings is None


@dataclasses.dataclass(frozen=True)
class NnxJit:
    """A fresh `flax.nnx.jit` over the user's function, traced through nnx itself: nnx splits
    each graph node into its graphdef (the static part of the inner `jax.jit`'s pytree) and
    its states (traced), and JAX's trace is that of nnx's inner `jax.jit`."""

    fn: Callable[..., Any]
    static_argnums: tuple[int, ...]
    static_argnames: tuple[str, ...]
    donate_argnums: tuple[int, ...] = ()
    donate_argnames: tuple[str, ...] = ()

    @functools.cached_property
    def wrapper(self) -> Any:
        """One nnx.jit, made once: its inner jax.jit's cache is what a verification counts."""
        from flax import nnx

        return nnx.jit(
            self.fn,
            static_argnums=self.static_argnums or None,
            static_argnames=self.static_argnames or None,
            donate_argnums=self.donate_argnums or None,
            donate_argnames=self.donate_argnames or None,
        )

    def trace(self, *args: Any, **kwargs: Any) -> Any:
        return self.wrapper.trace(*args, **kwargs).traced

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.wrapper(*args, **kwargs)


@jax.tree_util.register_pytree_with_keys_class
class NnxPure:
    """One argument as `nnx.jit` hands it to its inner `jax.jit`, its leaves keyed by the
    user's paths (`.linear.kernel`, not `.states[0][3]`), for the cache key's traced leaves."""

    def __init__(self, pure: Any, names: dict[int, str]) -> None:
        self.pure = pure
        self.names = names

    def tree_flatten_with_keys(self) -> tuple[list[tuple[Any, Any]], Any]:
        with_paths, treedef = jax.tree_util.tree_flatten_with_path(self.pure)
        keyed = [
            (UserPath(self.names.get(id(leaf), jax.tree_util.keystr(path))), leaf)
            for path, leaf in with_paths
        ]
        return keyed, treedef

    @classmethod
    def tree_unflatten(cls, treedef: Any, children: Any) -> NnxPure:
        return cls(jax.tree_util.tree_unflatten(treedef, children), {})


def nnx_key_plan(plan: CallPlan, fn: Callable[..., Any]) -> CallPlan:
    """The plan with each traced argument as nnx.jit passes it to its inner `jax.jit`.

    nnx splits all arguments in one context (a Variable two arguments share is passed once),
    so the whole call is split together, by nnx itself; a state leaf is the very array of the
    user's Variable, which names it by the user's path."""
    import inspect

    from flax import nnx

    args, kwargs = plan.call_args()
    wrapper = NnxJit(fn, (), ()).wrapper
    with nnx.graphlib.update_context(wrapper):
        pure_args, pure_kwargs = wrapper._get_pure_args_kwargs(args, kwargs)
    pure_positional = iter(pure_args)
    params = []
    for p in plan.params:
        if not p.passed:
            params.append(p)
            continue
        if p.kind == inspect.Parameter.VAR_POSITIONAL:
            pure = tuple(next(pure_positional) for _ in p.value)
        else:
            pure = next(pure_positional) if p.positional else pure_kwargs[p.name]
        if not p.static:
            p = dataclasses.replace(p, value=NnxPure(pure, _user_leaf_names(p.value)))
        params.append(p)
    return dataclasses.replace(plan, params=tuple(params))


def _user_leaf_names(value: Any) -> dict[int, str]:
    """Each array of the user's value by its path, a Variable's `.value` left out."""
    names: dict[int, str] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(value)[0]:
        text = jax.tree_util.keystr(path)
        names.setdefault(id(leaf), text.removesuffix(".value"))
    return names


def nnx_jit_note(plan: CallPlan) -> str:
    """How nnx.jit split this call, in the user's terms."""
    from flax import nnx

    nodes = [
        p.name
        for p in plan.params
        if p.passed
        and not p.static
        and any(
            nnx.graphlib.is_graph_node(leaf) or isinstance(leaf, nnx.Variable)
            for leaf in jax.tree_util.tree_leaves(
                p.value, is_leaf=lambda x: nnx.graphlib.is_graph_node(x)
            )
        )
    ]
    split = (
        f": {', '.join(nodes)} split into graphdef (static: structure, layer sizes, other "
        f"attributes) and state (traced)"
        if nodes
        else ""
    )
    return (
        "flax.nnx.jit splits every graph node (Module, Optimizer, Variable) into its graphdef, "
        "held static, and its state arrays, traced; other arguments go to its inner jax.jit as "
        f"they are (a Python int is traced unless static_argnums/static_argnames say so){split}; "
        "jaxexplain traced the call through nnx.jit itself"
    )


def filter_jit_call(
    fun: Any, args: tuple[Any, ...]
) -> tuple[Any, tuple[Any, ...], dict[str, Any]] | None:
    """The user's call behind one call of the `jax.jit` inside `equinox.filter_jit`:
    `(function, args, kwargs)` as the user passed them, or None for any other jitted function.

    Private (equinox's `fun_wrapped(dynamic_donate, dynamic_nodonate, static)` layout and its
    `hashable_combine`): a watch sees only that inner call, and equinox offers no way back from
    its split to the call the user made.
    """
    code = getattr(fun, "__code__", None)
    if code is None or code.co_name != "fun_wrapped" or not _in_equinox_jit(code.co_filename):
        return None
    from equinox._compile_utils import hashable_combine

    dynamic_donate, dynamic_nodonate, static = args
    dynamic = {**dynamic_donate, **dynamic_nodonate}
    static_fun, static_first, static_rest = static
    function = hashable_combine(dynamic["fun"], static_fun)
    first = hashable_combine(dynamic["first"], static_first)
    rest, kwargs = hashable_combine(dynamic["rest"], static_rest)
    # equinox appends a None to the positional arguments before splitting them.
    positional: tuple[Any, ...] = (first, *tuple(rest))[:-1]
    return function, positional, dict(kwargs)


def _in_equinox_jit(filename: str) -> bool:
    parts = filename.replace("\\", "/").rsplit("/", 2)
    return parts[-2:] == ["equinox", "_jit.py"]


def filter_jit_of(function: Callable[..., Any]) -> Any:
    """A filter_jit wrapper of `function`, as the user's own decorator made it."""
    import equinox

    return equinox.filter_jit(function)
