"""A module that imports NumPy as `onp` and `jax.numpy` not at all: a rewrite must say which
imports it needs."""

from __future__ import annotations

import jax
import numpy as onp


def clipped_sqrt(x):
    if x > 0:
        return jax.numpy.sqrt(x)
    return onp.float32(0.0)
