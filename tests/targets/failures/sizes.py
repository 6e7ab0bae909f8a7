"""Sizes real code takes from an argument that jit traces: an environment count, a batch
width, a horizon, a number of heads, an axis; each reaches a place that needs a Python int."""

from __future__ import annotations

import jax
import jax.numpy as jnp


@jax.jit
def reset_envs(key, num_envs):
    keys = jax.random.split(key, num_envs)
    return jax.vmap(lambda k: jax.random.uniform(k, (4,)))(keys)


@jax.jit
def pad_batch(x, batch_size):
    padding = jnp.zeros((batch_size - x.shape[0], x.shape[1]), x.dtype)
    return jnp.concatenate([x, padding])


@jax.jit
def time_grid(num_steps):
    return jnp.arange(num_steps) / num_steps


@jax.jit
def split_heads(x, num_heads):
    return x.reshape(x.shape[0], num_heads, -1)


@jax.jit
def exploration_noise(key, num_samples):
    return jax.random.normal(key, (num_samples,))


@jax.jit
def cumulative_rewards(rewards, axis):
    return jnp.cumsum(rewards, axis=axis)


@jax.jit
def causal_scores(scores, offset):
    return jnp.where(jnp.tril(jnp.ones_like(scores), offset) > 0, scores, -jnp.inf)
