"""Targets for the trace tests."""

from functools import partial

import jax
import jax.numpy as jnp


def affine(x, w, b):
    return x @ w + b


def scale(x, factor=2.0):
    return x * factor


def with_tree(params, x):
    return jnp.tanh(x @ params["w"] + params["b"])


def positional_only(x, n, /, *, mode="sum"):
    return x * n if mode == "sum" else x


def varargs(*xs):
    return sum(xs)


@partial(jax.jit, static_argnums=(1,))
def by_argnum(x, n):
    return x * n


class Model:
    def __init__(self):
        self.depth = 2

    def apply(self, x):
        for _ in range(self.depth):
            x = jnp.sin(x)
        return x

    @staticmethod
    def pure(x):
        return x + 1


class NeedsArgs:
    def __init__(self, size):
        self.size = size

    def apply(self, x):
        return x


def tree_args():
    return {
        "params": {
            "w": jax.ShapeDtypeStruct((3, 4), jnp.float32),
            "b": jax.ShapeDtypeStruct((4,), jnp.float32),
        },
        "x": jax.ShapeDtypeStruct((2, 3), jnp.float32),
    }


def pair_args():
    return (jax.ShapeDtypeStruct((2, 3), jnp.float32),), {
        "w": jax.ShapeDtypeStruct((3, 3), jnp.float32),
        "b": 1.0,
    }


def not_args():
    return 42


def failing_factory():
    raise RuntimeError("factory exploded")


NOT_CALLABLE = 3
