"""User code whose failing `if` jaxexplain rewrites: each rewrite must be checked against this
code as written (values and gradients), never against itself."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

cache = None


def pick(x, s):
    """Branches of different shapes: `jnp.where` broadcasts the scalar, so it is no fix."""
    if s > 0.5:
        return x * 2
    return jnp.float32(-1.0)


def through_helper(x, s):
    """The failing `if` is in a helper called through a module global."""
    return pick(x, s)


def inline(x, s):
    if s > 0.5:
        return x * 2
    return jnp.float32(-1.0)


def safe_sqrt(x):
    """`jnp.where(x > 0, jnp.sqrt(x), 0.0)` has these values but a NaN gradient for x < 0."""
    if x > 0:
        return jnp.sqrt(x)
    return 0.0


def scaled_sqrt(x):
    return safe_sqrt(x) * 3.0


def grad_of_sqrt(x):
    """The target differentiates the helper itself."""
    return jax.grad(safe_sqrt)(x)


def log_or_identity(x):
    """An `if` on a whole array: only the per-element reading has a rewrite (double where)."""
    if x > 0:
        y = jnp.log(x)
    else:
        y = x
    return y


def clipped_update(grads, scale):
    """An optax transform whose output feeds a branch on a traced scale."""
    updates, _ = optax.sgd(0.1).update(grads, optax.sgd(0.1).init(grads))
    if scale > 1.0:
        return updates * jnp.sqrt(scale)
    return updates


def march(x, t_end, dt):
    """Static `t_end` alone stops at the `while` for `dt`; both static stop at the data `if`."""
    t = 0.0
    while t < t_end:
        t = t + dt
    if x.sum() > 0:
        return x * t
    return x


def remember(x):
    """Keeps a tracer in a module global: the trace succeeds, later uses fail."""
    global cache
    y = jnp.sin(x)
    cache = y
    return y * 2
