"""A training step with the optimizer and the loss passed static, as training scripts pass
them; side B of a diff rebuilds the optimizer, or redefines the loss lambda."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax


@functools.partial(jax.jit, static_argnames=("tx", "loss"))
def train_step(params: Any, opt_state: Any, batch: Any, tx: Any, loss: Any) -> Any:
    grads = jax.grad(lambda p: loss(batch @ p["w"]))(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


TX = optax.adam(1e-3)
PARAMS = {"w": jnp.zeros((4, 2))}


def squared(y: Any) -> Any:
    return jnp.mean(y**2)


def step_args() -> dict[str, Any]:
    return {
        "params": PARAMS,
        "opt_state": TX.init(PARAMS),
        "batch": jnp.ones((8, 4)),
        "tx": TX,
        "loss": squared,
    }


def rebuilt_optimizer() -> dict[str, Any]:
    """`optax.adam(1e-3)` built again, as a loop that builds it per step does."""
    return {"tx": optax.adam(1e-3)}


def redefined_loss() -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The same loss written again as a lambda; `params` given by position."""
    return (PARAMS,), {"loss": lambda y: jnp.mean(y**2)}


def same_optimizer() -> dict[str, Any]:
    return {"tx": TX}


def learning_rate() -> dict[str, Any]:
    return {"lr": 1e-3}


def too_many() -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (PARAMS, None, None, TX, squared, None), {}
