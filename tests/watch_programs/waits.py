"""Compiles once, says so, then waits to be interrupted or terminated."""

import time

import jax
import jax.numpy as jnp


@jax.jit
def step(x):
    return x + 1


if __name__ == "__main__":
    step(jnp.ones(2))
    print("ready", flush=True)
    time.sleep(120)
