"""Failures users of these fields hit."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


@jax.jit
def count_classes(labels):
    classes = jnp.unique(labels)
    return classes.shape[0]


@jax.jit
def masked_mean(x, mask):
    return x[mask].mean()


@jax.jit
def dropout(x, rate):
    keep = np.random.rand(*x.shape) > rate
    return x * keep / (1 - rate)


@jax.jit
def mh_until_accept(key, x):
    accept_prob = 0.0
    while accept_prob < 0.5:
        key, sub = jax.random.split(key)
        prop = x + jax.random.normal(sub, x.shape)
        accept_prob = jnp.exp(-0.5 * jnp.sum(prop**2) + 0.5 * jnp.sum(x**2))
    return prop


@jax.jit
def n_positive(x):
    idx = jnp.nonzero(x > 0)[0]
    return len(idx)


@partial(jax.jit, static_argnames=("num_nodes",))
def degree(receivers, num_nodes):
    return jax.ops.segment_sum(jnp.ones_like(receivers), receivers, num_segments=num_nodes)


@jax.jit
def degree_traced(receivers, num_nodes):
    return jax.ops.segment_sum(jnp.ones_like(receivers), receivers, num_segments=num_nodes)


@jax.jit
def unrolled_loss(theta, n_steps):
    def loss(theta):
        def body(i, x):
            return x - 0.1 * jnp.sin(theta * x)

        return jax.lax.fori_loop(0, n_steps, body, jnp.ones(3)).sum()

    return jax.grad(loss)(theta)


@partial(jax.jit, static_argnames=("num_steps",))
def sample_steps(x, num_steps, t_max):
    ts = jnp.linspace(0.0, t_max, num_steps)
    for t in ts:
        x = x - 0.01 * t * x
    return x


@jax.jit
def pick_env(x, env_id):
    envs = [jnp.sin, jnp.cos, jnp.tanh]
    return envs[env_id](x)
