"""Static arguments that real libraries build: optax optimizers, partials, closures."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax


def apply_optimizer(params: Any, grads: Any, tx: Any) -> Any:
    """One optimizer update with the optimizer passed as a static argument."""
    state = tx.init(params)
    updates, _ = tx.update(grads, state, params)
    return optax.apply_updates(params, updates)


def apply_activation(x: Any, activation: Any) -> Any:
    return activation(x)


def scale_by(x: Any, factor: Any) -> Any:
    return x * factor


@dataclass(frozen=True)
class Head:
    """A frozen config whose `==` is by value, except for the function it holds."""

    width: int
    activation: Any


def apply_head(x: Any, head: Head) -> Any:
    return head.activation(x[: head.width])


def leaky(x: Any, slope: float = 0.1) -> Any:
    return jnp.where(x > 0, x, slope * x)


def train_rebuilding_optimizer(steps: int) -> Any:
    """The training-loop mistake: the optimizer is rebuilt on every step."""
    step = jax.jit(apply_optimizer, static_argnames="tx")
    params = jnp.ones(3)
    for _ in range(steps):
        params = step(params, jnp.ones(3), tx=optax.adam(1e-3))
    return step


def train_building_optimizer_once(steps: int) -> Any:
    """The fix: one optimizer object, reused."""
    step = jax.jit(apply_optimizer, static_argnames="tx")
    tx = optax.adam(1e-3)
    params = jnp.ones(3)
    for _ in range(steps):
        params = step(params, jnp.ones(3), tx=tx)
    return step


def partial_leaky(slope: float) -> Any:
    return functools.partial(leaky, slope=slope)
