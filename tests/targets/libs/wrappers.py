"""User code written against the libraries' jit wrappers and argument kinds (equinox, flax.nnx,
haiku, optax, distrax, numpyro), for tests/test_libs_wrappers.py."""

from __future__ import annotations

import enum
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


def nnx_jitted() -> Any:
    from flax import nnx

    return nnx.jit(nnx_apply)


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
