"""Diffusion samplers: a Python loop over a static number of timesteps vs lax.fori_loop."""

from functools import partial

import jax
import jax.numpy as jnp


def denoiser(params, x, t):
    h = jnp.tanh(x @ params["w1"] + t * params["t"])
    return h @ params["w2"]


def schedule(num_steps):
    betas = jnp.linspace(1e-4, 0.02, num_steps)
    alphas = 1.0 - betas
    return betas, alphas, jnp.cumprod(alphas)


@partial(jax.jit, static_argnames=("num_steps",))
def ddpm_unrolled(params, key, x, num_steps):
    betas, alphas, abar = schedule(num_steps)
    for t in reversed(range(num_steps)):
        eps = denoiser(params, x, t / num_steps)
        x = (x - betas[t] / jnp.sqrt(1 - abar[t]) * eps) / jnp.sqrt(alphas[t])
        if t > 0:
            key, sub = jax.random.split(key)
            x = x + jnp.sqrt(betas[t]) * jax.random.normal(sub, x.shape)
    return x


@partial(jax.jit, static_argnames=("num_steps",))
def ddpm_loop(params, key, x, num_steps):
    betas, alphas, abar = schedule(num_steps)

    def body(i, carry):
        x, key = carry
        t = num_steps - 1 - i
        eps = denoiser(params, x, t / num_steps)
        x = (x - betas[t] / jnp.sqrt(1 - abar[t]) * eps) / jnp.sqrt(alphas[t])
        key, sub = jax.random.split(key)
        noise = jnp.where(t > 0, jnp.sqrt(betas[t]), 0.0) * jax.random.normal(sub, x.shape)
        return x + noise, key

    x, _ = jax.lax.fori_loop(0, num_steps, body, (x, key))
    return x


def ddpm_args():
    return {
        "params": {"w1": jnp.zeros((4, 16)), "t": jnp.zeros(16), "w2": jnp.zeros((16, 4))},
        "key": jax.random.key(1),
        "x": jnp.zeros((8, 4)),
        "num_steps": 5,
    }
