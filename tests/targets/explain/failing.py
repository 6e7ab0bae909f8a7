"""User code for the tests of jaxexplain/explain/ that are not about rewrites: failures of
other kinds, and a module whose imports are named unusually."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def grad_of_loop(x, n):
    """The gradient of a `lax.fori_loop` whose trip count is traced."""
    return jax.grad(lambda v: jax.lax.fori_loop(0, n, lambda i, c: c * v, 1.0))(x)


def raises_its_own_error(x):
    """A failure of the user's own, not JAX's."""
    raise ValueError("the user's own check")


def loops_over(x, n):
    """A `for` over `range` of a traced count."""
    total = x
    for _ in range(n):
        total = total * 2
    return total


def zeros_of(x, n):
    """An array shape from a traced count."""
    return x + jnp.zeros(n).sum()


def reshapes_in_numpy(x):
    """NumPy's own code raises, below the user's line."""
    return x + np.reshape(np.ones(3), (2, 2))
