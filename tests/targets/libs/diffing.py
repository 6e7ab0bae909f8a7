"""User code written against equinox, optax and flax that `jaxexplain diff` explains.

`checked_inverse` rejects zeros at run time, the inputs `diff` verifies with; the others
call into optax and flax, so that their equations come from library frames.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp


def checked_inverse(x: jnp.ndarray) -> jnp.ndarray:
    """1/x, refusing zeros while the compiled program runs (equinox's runtime check)."""
    x = eqx.error_if(x, x == 0, "x must be non-zero")
    return 1.0 / x
