"""Functions whose cost grows with a static value or a traced dimension, for `sweep`'s tests."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def unrolled(x: jax.Array, n: int) -> jax.Array:
    """A Python loop that unrolls `n` times: two equations per pass."""
    acc = x
    for _ in range(n):
        acc = jnp.sin(acc) * 1.5
    return acc


def looped(x: jax.Array, n: int) -> jax.Array:
    """The same loop as a `lax.fori_loop`: one equation whatever `n`."""
    return lax.fori_loop(0, n, lambda i, acc: jnp.sin(acc) * 1.5, x)


def matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    """An n x n matmul: XLA counts 2n^3 flops."""
    return a @ b


def scaled(x: jax.Array, scale: float) -> jax.Array:
    """A static that only changes a constant of the program."""
    return x * scale + 1.0


def picky(x: jax.Array, n: int) -> jax.Array:
    """Fails to trace for n above 4: a point with its explanation, not the end of the sweep."""
    if n > 4:
        return jnp.reshape(x, (n, -1, 7))
    return x * n


def interrupted(x: jax.Array, n: int) -> jax.Array:
    """Stands for a user pressing Ctrl-C while the point n=4 traces."""
    if n >= 4:
        raise KeyboardInterrupt
    return x * n


def terminated(x: jax.Array, n: int) -> jax.Array:
    """Stands for a job scheduler sending SIGTERM while the point n=4 traces."""
    if n >= 4:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGTERM)
    return x * n
