"""A small training loop with the bugs that make jit recompile: the step count passed as a
Python int to a static parameter, and the last batch smaller than the others."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp


def loss_fn(w, x, y):
    return jnp.mean((jnp.tanh(x @ w) - y) ** 2)


@partial(jax.jit, static_argnames=("warmup_steps", "step"))
def train_step(w, x, y, step, warmup_steps=2):
    lr = 0.1 * min(1.0, (step + 1) / warmup_steps)
    loss, g = jax.value_and_grad(loss_fn)(w, x, y)
    return w - lr * g, loss


def main():
    key = jax.random.key(1)
    x = jax.random.normal(key, (50, 3))
    y = jnp.tanh(x @ jnp.array([1.0, -2.0, 0.5]))
    w = jnp.zeros(3)
    step = 0
    for _epoch in range(2):
        for start in range(0, 50, 20):
            w, loss = train_step(w, x[start : start + 20], y[start : start + 20], step)
            step += 1
    print("final loss", float(loss))


if __name__ == "__main__":
    main()
