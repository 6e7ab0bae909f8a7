"""User code that calls into optax, flax.linen and equinox: the equations those libraries make
are credited to the user's line that made the call."""

from __future__ import annotations

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

optimizer = optax.adam(1e-3)


def _loss(params: dict, x: jax.Array) -> jax.Array:
    return jnp.sum((x @ params["w"]) ** 2)


def optax_step(params: dict, opt_state: optax.OptState, x: jax.Array) -> tuple:
    """One training step whose update is optax's adam."""
    grads = jax.grad(_loss)(params, x)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return params, opt_state


def optax_args() -> dict:
    params = {"w": jnp.zeros((3, 2))}
    return {"params": params, "opt_state": optimizer.init(params), "x": jnp.ones((4, 3))}


class TwoLayers(nn.Module):
    """A user module whose `__call__` calls flax's Dense twice."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.Dense(8)(x)
        h = jnp.tanh(h)
        return nn.Dense(2)(h)


def flax_forward(params: dict, x: jax.Array) -> jax.Array:
    """The forward pass of a user's flax.linen module."""
    return TwoLayers().apply(params, x)


def flax_args() -> dict:
    x = jnp.ones((4, 3))
    return {"params": TwoLayers().init(jax.random.key(0), x), "x": x}


@eqx.filter_jit
def equinox_forward(model: eqx.nn.MLP, x: jax.Array) -> jax.Array:
    """An equinox MLP applied to one example, jitted as equinox users do."""
    y = model(x)
    return jnp.sum(y)


def equinox_args() -> dict:
    model = eqx.nn.MLP(3, 2, width_size=8, depth=2, key=jax.random.key(0))
    return {"model": model, "x": jnp.ones(3)}


def flax_width_forward(x: jax.Array, width: int) -> jax.Array:
    """A flax Dense whose width is a static: a diff changes the equations flax makes."""
    dense = nn.Dense(width)
    params = dense.init(jax.random.key(0), x)
    return dense.apply(params, x)
