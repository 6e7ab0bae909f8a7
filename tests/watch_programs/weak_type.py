"""A loop that passes its momentum as a Python float first, then as the array the step returns."""

import jax
import jax.numpy as jnp


@jax.jit
def step(w, momentum):
    momentum = 0.9 * momentum + jnp.sum(w)
    return w * 0.5, momentum


if __name__ == "__main__":
    w, momentum = jnp.ones(4), 0.0
    for _ in range(3):
        w, momentum = step(w, momentum)
    print(f"momentum {float(momentum):.4f}")
