"""A training loop whose learning rate is a static float that decays: one compile per value."""

from functools import partial

import jax
import jax.numpy as jnp


@partial(jax.jit, static_argnames=("lr",))
def step(w, x, y, lr):
    grad = jax.grad(lambda w: jnp.mean((x @ w - y) ** 2))(w)
    return w - lr * grad


if __name__ == "__main__":
    w = jnp.zeros(3)
    x, y = jnp.ones((8, 3)), jnp.ones(8)
    for i in range(3):
        w = step(w, x, y, lr=0.1 / (i + 1))
    w = step(w, x, y, lr=0.1)
    print(f"loss {float(jnp.mean((x @ w - y) ** 2)):.4f}")
