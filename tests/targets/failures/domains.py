"""Failures users hit in these domains."""

from functools import partial

import jax
import jax.numpy as jnp


@jax.jit
def step_keep_best(params, grads, loss, best):
    new = jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)
    if loss < best:
        best = loss
    return new, best


@jax.jit
def blocked_sum(x, block):
    total = 0.0
    for i in range(x.shape[0] // block):
        total = total + x[i * block : (i + 1) * block].sum()
    return total


def warmup(step, base=1e-3, warmup_steps=100):
    return base * jnp.minimum(1.0, step / warmup_steps)


@jax.jit
def sgd_logged(params, grads, step):
    lr = warmup(step)
    print(f"lr={float(lr):.5f}")
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)


@partial(jax.jit, static_argnames=("weights",))
def weighted_sum(x, weights):
    return sum(w * x for w in weights)


@jax.jit
def integrate_until(x, v, dt, t_end):
    t = 0.0
    while t < t_end:
        x = x + v * dt
        t = t + dt
    return x
