"""A static config object without __eq__/__hash__, made anew each step: hashed by identity."""

from functools import partial

import jax
import jax.numpy as jnp


class Config:
    def __init__(self, scale):
        self.scale = scale


@partial(jax.jit, static_argnums=(1,))
def step(w, config):
    return w * config.scale


if __name__ == "__main__":
    w = jnp.ones(3)
    for _ in range(3):
        w = step(w, Config(0.5))
    print(f"w {[float(v) for v in w]}")
