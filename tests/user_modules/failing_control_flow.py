"""Failing targets for tests/test_explain_concretization.py: Python control flow on traced values.

Each function fails to trace under jax.jit for the reason its docstring gives. The tests find
each failing line by its text and assert the exact number, so keep those lines unique.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def branch_on_array(x, threshold):
    """An `if` on an array comparison: no static choice helps; jnp.where does."""
    if x > threshold:
        return x * 2
    return x


def branch_on_scalar(x, n):
    """An `if` on a traced Python scalar: making n static helps."""
    if n > 0:
        return x * n
    return x


def branch_assigns(x, y):
    """An if/else that assigns one value per branch, from a local computed from x."""
    scaled = x * 2
    if scaled.sum() > y:  # noqa: SIM108 (the if/else is the point)
        out = scaled - y
    else:
        out = scaled + y
    return out


def branch_with_statements(x, limit):
    """Branches that do more than select a value: lax.cond fits a scalar predicate."""
    total = x.sum()
    if total > limit:
        y = jnp.sin(x)
        return y * total
    y = jnp.cos(x)
    return y - total


def conditional_expression(x):
    """A conditional expression on a scalar tracer."""
    return x * 2 if x.mean() > 0 else -x


def halve_while_large(x):
    """A `while` test on a traced scalar: lax.while_loop fits."""
    while x > 1.0:
        x = x / 2
    return x


def loop_over_traced_count(x, n):
    """`range(n)` with n traced: make n static, or lax.fori_loop."""
    total = jnp.zeros_like(x)
    for i in range(n):
        total = total + x * i
    return total


def int_of_traced(x, n):
    """`int(n)` as a shape: only making n static helps."""
    return jnp.zeros(int(n)) + x.sum()


def float_of_traced(x):
    """`float()` of array data."""
    return x * float(x.sum())


def item_of_traced(x):
    """`.item()` of array data."""
    return x * x.mean().item()


def numpy_on_traced(x):
    """A NumPy function on a tracer."""
    return np.sin(x) + 1


def boolean_mask(x):
    """Boolean-mask indexing: the result's shape depends on the data."""
    return x[x > 0].sum()


def branch_in_loop(x, steps):
    """An `if` inside a loop over a static count, on data and the loop index."""
    for i in range(steps):
        if x.sum() > i:
            x = x - 1
    return x


def branch_on_global(x):
    """An `if` comparing data to a module-level constant."""
    if x.sum() > LIMIT:
        return x
    return -x


def branch_on_shape_and_data(x, scale):
    """The failing value reads x's shape and x's data, and a static."""
    size = x.shape[0]
    if x.sum() * scale > size:
        return x
    return x + size


LIMIT = 3.0


def static_then_data(x, n):
    """Making n static gets past the first `if`; the second depends on x's data."""
    if n > 0:
        x = x * 2
    if x.sum() > 0:
        return x
    return -x


def carry_changes_shape(x, n):
    """The loop's carry starts as a Python float and becomes an array: fori_loop cannot carry it."""
    total = 0.0
    for _ in range(n):
        total = total + x
    return total


def array_branch_in_loop(x, steps):
    """An elementwise `if` evaluated several times per call: no per-element reference exists."""
    for i in range(steps):
        if x > i:
            x = x - 1
    return x


def elif_chain(x):
    """An if/elif/else chain on array data: nested jnp.where."""
    if x > 1:
        return x * 3
    elif x > 0:
        return x * 2
    else:
        return -x


def assert_on_data(x):
    """An `assert` on array data."""
    assert x.sum() > 0, "positive"
    return x


def filter_in_comprehension(x):
    """A comprehension whose filter reads array data (a frame of its own on Python 3.11)."""
    return jnp.stack([x[i] for i in range(3) if x[i] > 0])


def branch_in_vmapped_lambda(x):
    """The lambda's `r` is bound by jax.vmap to rows of x."""
    return jax.vmap(lambda r: r if r.sum() > 0 else -r)(x)


def branch_in_scan_body(x):
    """A nested scan body: its `row` comes from x through lax.scan."""

    def body(carry, row):
        if row.sum() > 0:
            carry = carry + row
        return carry, None

    final, _ = lax.scan(body, jnp.zeros_like(x[0]), x)
    return final


class Scaler:
    """A method target: `self` is bound, not a parameter of the trace."""

    def __init__(self):
        self.scale = 2.0

    def apply(self, x):
        if x.sum() > self.scale:
            return x * self.scale
        return x


def branch_on_constant(x):
    """No argument is involved: jnp operations on constants are traced too."""
    if jnp.ones(3).sum() > 2:
        return x
    return -x


def branch_on_dtype_limit(x):
    """The test reads x's data and, through finfo, x's dtype."""
    tiny = jnp.finfo(x.dtype).tiny
    if x.sum() > tiny:
        return x
    return -x


def branch_on_flag(x, flag):
    """A bare name tested: Python 3.11 gives the jump the position of the whole `if`."""
    if flag:
        return x
    return -x
