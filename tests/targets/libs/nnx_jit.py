"""User code written against flax.nnx.jit, for tests/test_libs_nnx_jit.py: a train step over a
module and an optimizer, and a step with a Python int made static by the decorator."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

# Python side effects run only while JAX traces: each count is one trace (one compile).
TRACES = {"train_step": 0, "repeat": 0}
TX = optax.adam(1e-3)


class MLP(nnx.Module):
    def __init__(self, width: int, rngs: nnx.Rngs) -> None:
        self.linear = nnx.Linear(4, width, rngs=rngs)
        self.out = nnx.Linear(width, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(jax.nn.relu(self.linear(x)))


@nnx.jit
def train_step(model: MLP, optimizer: nnx.Optimizer, x: jax.Array, y: jax.Array) -> jax.Array:
    TRACES["train_step"] += 1

    def loss_fn(model: MLP) -> jax.Array:
        return jnp.mean((model(x) - y) ** 2)

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


def train_args(width: int = 8, seed: int = 0) -> dict[str, Any]:
    """Arguments for `train_step`; one optax transformation for all, as a user builds it once."""
    model = MLP(width, nnx.Rngs(seed))
    return {
        "model": model,
        "optimizer": nnx.Optimizer(model, TX, wrt=nnx.Param),
        "x": jnp.zeros((3, 4)),
        "y": jnp.zeros((3, 1)),
    }


@nnx.jit(static_argnames="n")
def repeat(model: MLP, x: jax.Array, n: int) -> jax.Array:
    TRACES["repeat"] += 1
    for _ in range(n):
        x = x + model(x).sum()
    return x


def repeat_args() -> dict[str, Any]:
    return {"model": MLP(8, nnx.Rngs(0)), "x": jnp.zeros((3, 4)), "n": 2}
