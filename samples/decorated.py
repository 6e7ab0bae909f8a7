"""A function jitted by its decorator: jaxexplain keeps the decorator's static arguments."""

from functools import partial

import jax
import jax.numpy as jnp


@partial(jax.jit, static_argnames=("activation", "normalize"))
def dense(x, w, b, activation="relu", normalize=False):
    y = x @ w + b
    if normalize:
        y = y / jnp.linalg.norm(y, axis=-1, keepdims=True)
    if activation == "relu":
        return jax.nn.relu(y)
    elif activation == "gelu":
        return jax.nn.gelu(y)
    return y
