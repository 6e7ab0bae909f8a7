"""HMC with leapfrog in fori_loop, a chain via scan, and a random-walk sampler with while_loop."""

from functools import partial

import jax
import jax.numpy as jnp


def log_prob(x):
    return -0.5 * jnp.sum(x**2)


def leapfrog(x, p, step_size, n_leapfrog):
    grad = jax.grad(log_prob)

    def body(_, state):
        x, p = state
        p = p + 0.5 * step_size * grad(x)
        x = x + step_size * p
        p = p + 0.5 * step_size * grad(x)
        return x, p

    return jax.lax.fori_loop(0, n_leapfrog, body, (x, p))


@partial(jax.jit, static_argnames=("n_leapfrog", "num_samples"))
def hmc(key, x0, step_size, n_leapfrog, num_samples):
    def one(carry, key):
        x = carry
        k1, k2 = jax.random.split(key)
        p = jax.random.normal(k1, x.shape)
        x_new, p_new = leapfrog(x, p, step_size, n_leapfrog)
        log_accept = log_prob(x_new) - 0.5 * p_new @ p_new - (log_prob(x) - 0.5 * p @ p)
        accept = jnp.log(jax.random.uniform(k2)) < log_accept
        x = jnp.where(accept, x_new, x)
        return x, (x, accept)

    keys = jax.random.split(key, num_samples)
    _, (xs, accepts) = jax.lax.scan(one, x0, keys)
    return xs, jnp.mean(accepts)


@jax.jit
def rejection_sample(key, threshold):
    def cond(state):
        _, x, _ = state
        return x < threshold

    def body(state):
        key, _, n = state
        key, sub = jax.random.split(key)
        return key, jax.random.uniform(sub), n + 1

    _, x, n = jax.lax.while_loop(cond, body, (key, -1.0, 0))
    return x, n
