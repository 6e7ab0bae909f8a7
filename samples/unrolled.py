"""A static loop count unrolls: `n` iterations become `n` copies of the body in the jaxpr.

Try `--static n=4` and `--static n=64`, then compare with `lax.fori_loop` in `rolled_power`.
"""

import jax.numpy as jnp
from jax import lax


def unrolled_power(x, n):
    y = jnp.ones_like(x)
    for _ in range(n):
        y = y * x
    return y


def rolled_power(x, n):
    return lax.fori_loop(0, n, lambda _, y: y * x, jnp.ones_like(x))
