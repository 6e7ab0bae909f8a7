"""Recompilation puzzles users bring to diff."""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp


@jax.jit
def scale(x, s):
    return x * s


@partial(jax.jit, static_argnames=("n",))
def repeat_add(x, n):
    for _ in range(n):
        x = x + 1
    return x


class Params(NamedTuple):
    w: jax.Array
    b: jax.Array


@jax.jit
def affine(p, x):
    w, b = p
    return x @ w + b


@jax.jit
def apply_dict(p, x):
    return x @ p["w"] + p["b"]


@partial(jax.jit, static_argnames=("sizes",))
def split_sizes(x, sizes):
    out = []
    start = 0
    for s in sizes:
        out.append(x[start : start + s].sum())
        start += s
    return jnp.stack(out)
