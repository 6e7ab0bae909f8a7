"""User code for tests/test_explain_rewrite_checks.py: failing functions whose rewrites are
checked against them, helpers a target calls through module globals, and one host callback
that fails only when compiled code runs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def clipped_sqrt(x):
    """A scalar branch: the plain `jnp.where` has its values, not its gradient for x <= 0."""
    if x > 0:
        return jnp.sqrt(x)
    return 0.0


def through_helper(x):
    """The failing `if` is in a helper called through a module global."""
    return clipped_sqrt(x) * 3.0


jitted_sqrt = jax.jit(clipped_sqrt)


def through_jitted_helper(x):
    """The helper is called through a module global that is its own jit wrapper."""
    return jitted_sqrt(x) + 1.0


def relu_or_square(x):
    """An `if` on a whole array: it has no eager value, only one per element."""
    if x > 0:
        y = x * x
    else:
        y = -x
    return y


def scaled_by_mean(x):
    """A conversion to a Python number: run eagerly, the original's gradient stops at it."""
    return x * x.mean().item()


def numpy_sin(x):
    """NumPy on the input: it runs eagerly, but cannot be differentiated."""
    return np.sin(x) + 1


def halve_while_large(x):
    """A `while` on a traced scalar: its rewrite, a `lax.while_loop`, has no reverse mode."""
    while x > 1.0:
        x = x / 2
    return x


def grow_while_negative(x):
    """A `while` loop that never ends on a negative input."""
    while x < 0:
        x = x - 1.0
    return x


def count_positive(x):
    """An integer result: no gradients to compare."""
    if x > 0:
        return 1
    return 0


def refuse(value):
    """A host callback that fails when the compiled function runs (not while it traces)."""
    raise ValueError(f"refused {value}")
