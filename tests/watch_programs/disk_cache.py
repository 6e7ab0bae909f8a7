"""A jitted function whose constant comes from the environment (SCALE), so that runs over one
persistent cache directory can differ in the computation, the XLA flags, or nothing."""

import os

import jax
import jax.numpy as jnp

SCALE = float(os.environ.get("SCALE", "2.0"))


@jax.jit
def scaled_sine(x):
    y = x * SCALE
    return jnp.sin(y) + 1


if __name__ == "__main__":
    print(float(scaled_sine(jnp.ones(3))[0]))
