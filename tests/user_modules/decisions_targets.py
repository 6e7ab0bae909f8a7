"""Functions traced by tests/test_decisions.py; `# D:name` marks each decision's line."""

from __future__ import annotations

import decisions_helpers
import jax
import jax.numpy as jnp

DEBUG = False


def branches(x, n):
    """An if/elif chain that the second elif decides, and two conditional expressions on one
    line that go different ways."""
    if n == 0:  # D:if
        y = x
    elif n == 1:  # D:elif1
        y = x + 1
    elif n == 2:  # D:elif2
        y = x + 2
    else:
        y = x + 3
    return y * (1 if n > 1 else 2) * (3 if n > 5 else 4)  # D:ternaries


def loops(x, n):
    """Zero iterations, break in the third pass, continue, for-else, while, nested loops."""
    for _ in range(n - n):  # D:empty
        x = x + 1
    for i in range(10):  # D:break
        if i == 2:  # D:break_test
            break
        x = x * 2
    total = 0
    for i in range(4):  # D:continue
        if i % 2 == 0:  # D:alternating
            continue
        total += i
    for j in range(n):  # D:for_else
        x = x - j
    else:
        x = x + total
    k = n
    while k > 1:  # D:while
        k //= 2
    while True:  # D:while_true
        k += 1
        if k > 2:  # D:while_true_exit
            break
    for a in range(3):  # D:outer
        for b in range(a):  # D:inner
            x = x + b
    return x


def matching(x, mode, limit):
    """A match statement whose guard decides between two cases with the same pattern."""
    match mode:  # D:match
        case "identity":
            return x
        case ("scale", factor) if factor > limit:
            return x * limit
        case ("scale", factor):
            return x * factor
        case _:
            return -x


def comprehensions(x, n):
    """A list comprehension, one with a filter, and a generator expression."""
    parts = [x * i for i in range(n)]  # D:listcomp
    evens = [p for i, p in enumerate(parts) if i % 2 == 0]  # D:filtered
    return sum(p.sum() for p in evens)  # D:genexpr


def site_sums(x):
    """numpyro-style sites filtered by kind, in a generator expression and a list."""
    sites = {"a": ("sample", x), "b": ("plate", x), "c": ("sample", x * 2)}
    lazily = sum(v.sum() for kind, v in sites.values() if kind == "sample")  # D:genexp_if
    eagerly = sum([v.sum() for kind, v in sites.values() if kind == "sample"])  # D:listcomp_if
    return lazily + eagerly


def asserting(x, n):
    """An assert on the rank, and one per loop pass."""
    assert x.ndim == 2, "x must be a matrix"  # D:assert
    for i in range(n):  # D:assert_loop
        assert i < n  # D:assert_in_loop
    return x


def dependencies(x, n, scale=2.0):
    """Decisions on a shape through a local, a dtype, a global, a default and a literal."""
    d = x.shape[-1]
    if d > 4:  # D:shape_local
        x = x[..., :4]
    if x.dtype == jnp.float32:  # D:dtype
        x = x.astype(jnp.bfloat16)
    if DEBUG:  # D:global
        x = x + 1
    if scale > 1:  # D:default
        x = x * scale
    if n < 3:  # D:static
        x = x - 1
    if 3 > 2:  # D:constant
        x = x - 1
    return x


def with_helpers(x, n, kind):
    """Decisions in helpers of another file, two calls deep."""
    return decisions_helpers.outer(x * 2, n, kind)


class Stack:
    """A method whose decisions read `self` attributes."""

    width = 8

    def __init__(self, n_layers):
        self.n_layers = n_layers

    def apply(self, x):
        for _ in range(self.n_layers):  # D:method_loop
            x = jnp.tanh(x)
        if self.width > 4:  # D:method_attr
            x = x * 2
        return x


def with_method(x, n):
    """Calls a method of an object built from a static argument."""
    return Stack(n).apply(x)


def with_closure(x, n):
    """A function JAX calls (a fori_loop body) deciding on the root's static argument."""

    def body(i, carry):
        return carry * 2 if n > 2 else carry  # D:closure

    return jax.lax.fori_loop(0, 3, body, x)


def _signs(n):
    for i in range(n):  # D:gen_loop
        if i % 2:  # D:gen_if
            yield 1
        else:
            yield -1


def _depth(levels):
    if levels == 0:  # D:recursion
        return 0
    return 1 + _depth(levels - 1)


def _lookup(options, key):
    try:
        return options[key]
    except KeyError:
        return 1 if options else 0  # D:handler


def unusual_flow(x, n):
    """A user generator, recursion, an exception handled in user code, `pass` bodies."""
    x = x * sum(s for s in _signs(n))  # D:gen_consumer
    x = x * _depth(2)
    x = x * _lookup({"a": 2}, "b")
    for i in range(n):  # D:pass_loop
        if i == 1:  # D:pass_if
            pass
    return x


def fails_on_value(x, n):
    """Tracing fails in the first pass of the loop: the test needs a traced value's truth."""
    for _ in range(n):  # D:fail_loop
        if x.sum() > 0:  # D:fail_if
            return x
    return -x
