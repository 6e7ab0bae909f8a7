"""User code written against equinox, optax and flax that `jaxexplain diff` explains.

`checked_inverse` rejects zeros at run time, the inputs `diff` verifies with; the others
call into optax and flax, so that their equations come from library frames.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


def checked_inverse(x: jnp.ndarray) -> jnp.ndarray:
    """1/x, refusing zeros while the compiled program runs (equinox's runtime check)."""
    x = eqx.error_if(x, x == 0, "x must be non-zero")
    return 1.0 / x


@jax.jit
def shared_helper(x: jnp.ndarray) -> jnp.ndarray:
    """A jitted helper: JAX prints its jaxpr once, as `let shared_helper = ...`, when it is
    called twice, and inline when it is called once."""
    return jnp.tanh(x) * 2.0


def helper_once_or_twice(x: jnp.ndarray, y: jnp.ndarray, twice: bool = True) -> jnp.ndarray:
    """Calls the helper twice, or once: the diff is one call and one add, nothing else."""
    out = shared_helper(x)
    if twice:
        out = out + shared_helper(y)
    return out


def concatenated(
    w1: jnp.ndarray,
    w2: jnp.ndarray,
    w3: jnp.ndarray,
    w4: jnp.ndarray,
    w5: jnp.ndarray,
    w6: jnp.ndarray,
    x: jnp.ndarray,
) -> jnp.ndarray:
    """Seven inputs: the jaxpr's first line is wider than a terminal, and only its end changes."""
    return jnp.concatenate([w1, w2, w3, w4, w5, w6, x])


def thresholded(
    x: jnp.ndarray,
    threshold_for_the_very_long_parameter_name: jnp.ndarray,
    another_rather_long_scale_factor_name: jnp.ndarray,
) -> jnp.ndarray:
    """Fails to trace (a Python `if` on a traced value); its verified rewrite is a long line."""
    limit = threshold_for_the_very_long_parameter_name * another_rather_long_scale_factor_name
    if x.sum() > limit:
        return (
            x * another_rather_long_scale_factor_name + threshold_for_the_very_long_parameter_name
        )
    return x - another_rather_long_scale_factor_name * threshold_for_the_very_long_parameter_name
