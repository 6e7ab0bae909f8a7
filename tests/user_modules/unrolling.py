"""Loops that unroll while tracing: one whose helper emits the equations, one of NumPy only."""

import jax.numpy as jnp
import numpy as np


def _block(x):
    return jnp.tanh(x @ x.T) + 1


def layers(x, n):
    for _ in range(n):
        x = _block(x)
    mask = np.zeros((4, 4), np.float32)
    for i in range(16):
        mask[i % 4, i // 4] = i
    return x + mask
