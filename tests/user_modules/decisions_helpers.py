"""Helpers for decisions_targets.py in another file; `# D:name` marks each decision's line."""

from __future__ import annotations

import jax.numpy as jnp


def outer(h, depth, mode):
    """Calls `inner` with expressions built from its own parameters."""
    for _ in range(depth):  # D:h_loop
        h = inner(h, h.shape[0], mode == "wide")
    return h


def inner(v, rows, wide):
    """Two levels below the root function: `rows` and `wide` still trace back to it."""
    if rows > 2:  # D:h_rows
        v = v * 2
    if wide:  # D:h_wide
        v = v + 1
    return jnp.tanh(v)
