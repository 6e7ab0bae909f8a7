"""Failing targets that use tracers leaked out of an earlier transformation."""

import jax
from jax import lax

STORE = {}


def leak_from_vmap(x):
    saved = []

    def scale(row):
        saved.append(row * 2)
        return row

    jax.vmap(scale)(x)
    return saved[0] + 1


def leak_from_scan(x):
    saved = []

    def body(carry, _):
        saved.append(carry * 2)
        return carry + 1, None

    final, _ = lax.scan(body, x, None, length=3)
    return final + saved[0]


def store_tracer(x):
    STORE["h"] = x * 3
    return x


def use_stored(x):
    y = x + 1
    return y * STORE["h"]
