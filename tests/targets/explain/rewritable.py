"""Functions whose failing line jaxexplain rewrites (tests/test_explain_rewrites.py and
tests/test_explain_rewrite_checks.py): one per construct a rewrite exists for. Each fails under
jit as written and runs eagerly on the inputs the tests draw."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

SCALE = 3.0


def clipped_sqrt(x):
    """A scalar branch: `jnp.where`, the double where and `lax.cond` all fit."""
    if x > 0:
        return jnp.sqrt(x)
    return 0.0


def piecewise(x):
    """An `if`/`elif` chain on a scalar, each branch assigning the same name."""
    if x > 1.0:
        y = x * 2
    elif x > -1.0:
        y = x + 1
    else:
        y = -x
    return y


def sign_flip(x):
    """A conditional expression on a reduction of an array."""
    return x * 2 if x.mean() > 0 else -x


def weighted_sum(x, n):
    """A `for` loop over `range` of a traced count."""
    total = x
    for i in range(n):
        total = total + x * i
    return total


def halve_while_large(x):
    """A `while` loop on a traced scalar."""
    while x > 1.0:
        x = x / 2
    return x


def spin(x):
    """A `while` loop that never ends on a positive input."""
    while x > 0:
        x = x + 1.0
    return x


def scaled_by_mean(x):
    """A conversion to a Python float of a traced value."""
    return x * float(x.mean())


def positive_sum(x):
    """A boolean mask whose result is summed."""
    return x[x > 0].sum()


def constant_branch(x):
    """A branch on a value computed by JAX from constants only."""
    if jnp.ones(3).sum() > 2:
        return x * SCALE
    return x


def numpy_sin(x):
    """A NumPy function applied to a traced array."""
    return np.sin(x) + 1


def carried_count(x, n):
    """A loop body that reads its trip count from a carry (a nested function, so the count can
    be read by closure instead)."""

    def body(carry):
        total, reps = carry
        for _ in range(reps):
            total = total + 1.0
        return total, reps

    return body((x, n))[0]


def branch_on_local(x, limit):
    """A test on locals computed from a parameter and a module global."""
    scaled = x * SCALE
    total = scaled.sum()
    if total > limit:
        return total
    return limit


def relu_or_square(x):
    """An `if` on a whole array: only its per-element reading has a rewrite."""
    if x > 0:
        y = x * x
    else:
        y = -x
    return y


def make_scaler(factor):
    """A closure: its rewrite must keep the cell it reads `factor` from."""

    def scale(x):
        if x > 0:
            return x * factor
        return x

    return scale
