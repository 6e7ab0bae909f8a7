"""Source in every shape that jaxexplain/_source_ast.py reads: decorators, nested functions and
closures, lambdas (two on one line), every kind of comprehension, match, walrus, a condition
over several lines, methods of every kind, and calls that reach functions through JAX.
tests/test_source_ast.py reads it through `ast` and `dis`; only `branchy` and `Model` run."""

from __future__ import annotations

import functools
from functools import partial

import jax
from jax import lax

LIMIT = 3


def decorated_twice(f):
    return f


@decorated_twice
@functools.lru_cache(maxsize=8)
def cached(n):
    if n > LIMIT:
        return n
    return cached(n + 1) if n < 0 else n


def outer(xs, scale=2.0, *rest, flag=False, **options):
    """Nested functions, a closure, lambdas and every comprehension."""
    total = 0

    def inner(y):
        nonlocal total
        total += y * scale
        return total

    square = lambda v: v * v  # noqa: E731
    pair = (lambda a: a + 1, lambda b: b * 2)
    as_list = [square(x) for x in xs if x > 0 if x < 10]
    as_set = {x for x in xs}
    as_dict = {k: v for k, v in zip(xs, xs, strict=True)}
    lazily = sum(inner(x) for row in [xs] for x in row if x)
    sites = {"a": ("sample", xs), "b": ("plate", xs)}
    kinds = [kind for kind, _ in sites.values()]
    if (n := len(xs)) > 2 and (
        flag or options.get("force the total even where the list is short and flag is off")
    ):
        total += n
    return as_list, as_set, as_dict, lazily, pair, kinds, total


def matching(command):
    match command:
        case ["go", direction] if direction in ("north", "south"):
            return direction
        case {"stop": True}:
            return "stop"
        case str() as name:
            return name
        case _:
            return None


def branchy(adaptive, dt0=None):
    """A name bound in branches: which value it holds is decided by their tests."""
    if adaptive:
        dt0 = None
    elif dt0 is None:
        dt0 = 0.1
    while True:
        break
    return dt0


class Model:
    size = 4

    def __init__(self, depth):
        self.depth = depth

    def apply(self, x):
        for _ in range(self.depth):
            x = x * 2
        else:
            x = x + 1
        while x > 100:
            x = x / 2
        assert x >= 0, "negative"
        return x

    @staticmethod
    def helper(x):
        return x

    @classmethod
    def build(cls, depth):
        return cls(depth)

    def __call__(self, x):
        return self.apply(x)


def transforms(params, xs, n):
    """Calls that reach functions through JAX: vmap of a partial, scan, a local wrapper."""
    step = jax.jit(Model.helper)
    mapped = jax.vmap(partial(outer, scale=n), in_axes=(0,))(xs)

    def body(carry, x):
        total, count = carry
        return (total + x, count), x

    (total, count), ys = lax.scan(body, (params, n), xs)
    model = Model.build(3)
    return step(mapped), total, count, ys, model(n), outer(xs, 3.0, 4, flag=True, extra=1)


def handled(values):
    try:
        result = sum(values)
    except TypeError as error:
        result = error
    with open(__file__) as stream:
        stream.read()
    for i, v in enumerate(values):  # noqa: B007
        pass
    for a, b in zip(values, values, strict=True):  # noqa: B007
        continue
    import math

    return result, i, v, a, b, math.pi
