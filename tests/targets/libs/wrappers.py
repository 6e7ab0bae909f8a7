"""User code written against the libraries' jit wrappers and argument kinds (equinox, flax.nnx,
haiku, optax, distrax, numpyro), for tests/test_libs_wrappers.py."""

from __future__ import annotations

import enum
import functools
import warnings
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

# Python side effects run only while JAX traces: each count is one trace (one compile).
TRACES = {"forward": 0}


class Scaled(eqx.Module):
    """A module with arrays, a plain function field and a static field (not a leaf)."""

    mlp: eqx.nn.MLP
    activation: Any
    name: str = eqx.field(static=True)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.activation(jax.vmap(self.mlp)(x))


def make_scaled() -> Scaled:
    return Scaled(eqx.nn.MLP(4, 2, 8, 2, key=jax.random.key(0)), jax.nn.tanh, "scaled")


@eqx.filter_jit
def forward(model: Scaled, x: jax.Array, n: int) -> jax.Array:
    TRACES["forward"] += 1
    for _ in range(n):
        x = x + 1.0
    return model(x)


def forward_args() -> dict[str, Any]:
    return {"model": make_scaled(), "x": jnp.zeros((3, 4)), "n": 2}


class Batch(NamedTuple):
    x: jax.Array
    y: jax.Array


@eqx.filter_jit
def batch_dot(batch: Batch) -> jax.Array:
    if not isinstance(batch, Batch):
        raise TypeError("batch_dot needs a Batch")
    return jnp.sum(batch.x * batch.y)


def batch_args() -> dict[str, Any]:
    return {"batch": Batch(jnp.zeros(3), jnp.ones(3))}


def nnx_apply(model: Any, x: jax.Array) -> jax.Array:
    return model(x)


def nnx_jitted_with_shardings() -> Any:
    """An nnx.jit with in_shardings, which nnx splits by filters: not modelled."""
    from flax import nnx

    return nnx.jit(nnx_apply, in_shardings=(None, None))


def nnx_jitted_in_tree_mode() -> Any:
    """An nnx.jit with graph=False, which treats modules as plain pytrees: not modelled."""
    from flax import nnx

    return nnx.jit(nnx_apply, graph=False)


def nnx_args() -> dict[str, Any]:
    from flax import nnx

    return {"model": nnx.Linear(4, 2, rngs=nnx.Rngs(0)), "x": jnp.zeros((3, 4))}


class Mode(enum.Enum):
    TRAIN = "train"
    EVAL = "eval"


def anything(value: Any, option: Any = None) -> jax.Array:
    """Takes any argument kind a library passes and uses its array leaves."""
    leaves = [
        jnp.sum(jnp.asarray(leaf, jnp.float32))
        for leaf in jax.tree_util.tree_leaves(value)
        if isinstance(leaf, jax.Array) and not jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)
    ]
    return sum(leaves, jnp.float32(0))


def library_values() -> dict[str, tuple[Any, Any]]:
    """Each argument kind the libraries pass, as (traced value, static option)."""
    import haiku as hk
    import numpyro.distributions as dist
    import optax
    from flax import nnx

    def net(x: jax.Array) -> jax.Array:
        return hk.Linear(2)(x)

    with warnings.catch_warnings():  # distrax's TFP backend uses a deprecated jax.core name
        warnings.simplefilter("ignore", DeprecationWarning)
        import distrax

    params = hk.transform(net).init(jax.random.key(0), jnp.zeros((1, 3)))
    return {
        "nnx_module": (nnx.Linear(3, 2, rngs=nnx.Rngs(0)), None),
        "nnx_param": (nnx.Param(jnp.ones(3)), None),
        "nnx_variable": (nnx.Variable(jnp.ones(2)), None),
        "equinox_module": (eqx.nn.Linear(3, 2, key=jax.random.key(0)), None),
        "haiku_params": (params, None),
        "optax_state": (optax.adam(1e-3).init(params), None),
        "distrax": (distrax.Normal(jnp.zeros(2), jnp.ones(2)), None),
        "numpyro": (dist.Normal(jnp.zeros(2), 1.0), None),
        "prng_key": (jax.random.key(0), None),
        "none_leaves": ({"w": jnp.ones(2), "b": None}, None),
        "enum_static": (jnp.ones(2), Mode.TRAIN),
        "callable_static": (jnp.ones(2), jax.nn.relu),
        "optimizer_static": (jnp.ones(2), optax.adam(1e-3)),
    }


class Counter(eqx.Module):
    """A module whose method is jitted with filter_jit: `model.apply` is an equinox Partial."""

    linear: eqx.nn.Linear

    @eqx.filter_jit
    def apply(self, x: jax.Array, n: int) -> jax.Array:
        TRACES["apply"] = TRACES.get("apply", 0) + 1
        for _ in range(n):
            x = self.linear(x)
        return x


def make_counter() -> Counter:
    return Counter(eqx.nn.Linear(3, 3, key=jax.random.key(0)))


@eqx.filter_jit
def total(*xs: Any) -> jax.Array:
    """Sums its array arguments, scaled by its Python ints (static to equinox)."""
    TRACES["total"] = TRACES.get("total", 0) + 1
    scale = 1
    for x in xs:
        if isinstance(x, int):
            scale *= x
    return scale * sum(x for x in xs if not isinstance(x, int))


def haiku_net(x: jax.Array, is_training: bool) -> jax.Array:
    import haiku as hk

    y = hk.Linear(2)(x)
    return y * 2.0 if is_training else y


def haiku_apply() -> tuple[Any, Any]:
    """`jax.jit(model.apply)` of an `hk.transform`, and the parameters `init` made."""
    import haiku as hk

    model = hk.transform(haiku_net)
    params = model.init(jax.random.key(0), jnp.zeros((1, 3)), True)
    return jax.jit(model.apply, static_argnames="is_training"), params


class Scale:
    """A plain class whose method is jitted: bound (`self` inside the function) or unbound
    with `self` static (hashed and compared by `k`)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def __call__(self, x: jax.Array) -> jax.Array:
        return x * self.k

    def __hash__(self) -> int:
        return hash(self.k)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scale) and other.k == self.k


class BadHash:
    """A static whose `__hash__` raises, as a half-built config object might."""

    def __hash__(self) -> int:
        raise RuntimeError("config is not frozen yet")


@functools.partial(jax.jit, static_argnames="config")
def scaled_by(x: jax.Array, config: Any) -> jax.Array:
    return x * 2.0


def bad_hash_args() -> dict[str, Any]:
    return {"x": jnp.zeros(3), "config": BadHash()}
