"""User code whose jit wrapper holds a Python float static inside an argument: an equinox
module's float field under `equinox.filter_jit`, an nnx module's float attribute under
`nnx.jit`, and a flax linen `apply` with a static float, for tests/test_libs_equinox.py."""

from __future__ import annotations

from functools import partial
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import nnx


class Scaled(eqx.Module):
    """A weight and a plain float: filter_jit traces `w` and holds `scale` static."""

    w: jax.Array
    scale: float


@eqx.filter_jit
def apply(model: Scaled, x: jax.Array) -> jax.Array:
    return model.w * x * model.scale


def side_a() -> dict[str, Any]:
    return {"model": Scaled(jnp.ones(3), 0.5), "x": jnp.ones(3)}


def side_b() -> dict[str, Any]:
    return {"model": Scaled(jnp.ones(3), 2.0)}


class Steps(eqx.Module):
    """A float that decides how often a loop runs: it changes the program, not a constant."""

    w: jax.Array
    rate: float


@eqx.filter_jit
def unrolled(model: Steps, x: jax.Array) -> jax.Array:
    for _ in range(int(model.rate * 4)):
        x = x * model.w
    return x


class NnxScaled(nnx.Module):
    """An nnx module with a parameter and a plain float attribute, kept in its graphdef."""

    def __init__(self, scale: float) -> None:
        self.w = nnx.Param(jnp.ones(3))
        self.scale = scale


@nnx.jit
def nnx_apply(model: Any, x: jax.Array) -> jax.Array:
    return model.w * x * model.scale


def nnx_side_a() -> dict[str, Any]:
    return {"model": NnxScaled(0.5), "x": jnp.ones(3)}


def nnx_side_b() -> dict[str, Any]:
    return {"model": NnxScaled(2.0)}


def linen_apply() -> tuple[Any, Any]:
    """`jax.jit(model.apply)` of a linen module whose dropout-free `rate` is a static float."""
    import flax.linen as nn

    class Damped(nn.Module):
        @nn.compact
        def __call__(self, x: jax.Array, rate: float) -> jax.Array:
            return nn.Dense(2)(x) * rate

    model = Damped()
    params = model.init(jax.random.key(0), jnp.zeros((1, 3)), 0.5)
    return partial(jax.jit, static_argnames="rate")(model.apply), params
