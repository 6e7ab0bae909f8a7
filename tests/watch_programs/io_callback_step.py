"""A step that logs through jax.experimental.io_callback every call: a host callback with a side
effect, so no call is served by JAX's C++ fast path."""

import jax
import jax.numpy as jnp
from jax.experimental import io_callback

LOGGED = []


@jax.jit
def step(w):
    io_callback(LOGGED.append, None, w.sum())
    return w + 1.0


STEPS = 5

if __name__ == "__main__":
    w = jnp.zeros(2)
    for _ in range(STEPS):
        w = step(w)
    print(len(LOGGED))
