"""Adam by hand and an optax-style chain of gradient transformations over pytrees of state."""

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class AdamState(NamedTuple):
    step: jax.Array
    mu: Any
    nu: Any


def adam_init(params):
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return AdamState(step=jnp.zeros((), jnp.int32), mu=zeros, nu=zeros)


@partial(jax.jit, static_argnames=("lr", "b1", "b2", "eps"))
def adam_update(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    step = state.step + 1
    mu = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
    nu = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, grads)
    mu_hat_scale = 1 / (1 - b1 ** step.astype(jnp.float32))
    nu_hat_scale = 1 / (1 - b2 ** step.astype(jnp.float32))
    new_params = jax.tree_util.tree_map(
        lambda p, m, v: p - lr * (m * mu_hat_scale) / (jnp.sqrt(v * nu_hat_scale) + eps),
        params,
        mu,
        nu,
    )
    return new_params, AdamState(step, mu, nu)


class GradientTransformation(NamedTuple):
    init: Callable
    update: Callable


def clip_by_global_norm(max_norm):
    def update(updates, state, params=None):
        norm = jnp.sqrt(sum(jnp.sum(u * u) for u in jax.tree_util.tree_leaves(updates)))
        scale = jnp.minimum(1.0, max_norm / (norm + 1e-6))
        return jax.tree_util.tree_map(lambda u: u * scale, updates), state

    return GradientTransformation(lambda params: (), update)


def add_decayed_weights(weight_decay):
    def update(updates, state, params=None):
        return jax.tree_util.tree_map(lambda u, p: u + weight_decay * p, updates, params), state

    return GradientTransformation(lambda params: (), update)


def scale(factor):
    return GradientTransformation(
        lambda params: (),
        lambda u, s, params=None: (jax.tree_util.tree_map(lambda x: x * factor, u), s),
    )


def chain(*transforms):
    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params=None):
        new_state = []
        for t, s in zip(transforms, state, strict=True):
            updates, s = t.update(updates, s, params)
            new_state.append(s)
        return updates, tuple(new_state)

    return GradientTransformation(init, update)


OPTIMIZER = chain(clip_by_global_norm(1.0), add_decayed_weights(1e-4), scale(-1e-2))


@jax.jit
def sgd_step(params, opt_state, grads):
    updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
    params = jax.tree_util.tree_map(lambda p, u: p + u, params, updates)
    return params, opt_state


def _params():
    return {
        "dense": {"w": jnp.zeros((64, 32)), "b": jnp.zeros(32)},
        "out": {"w": jnp.zeros((32, 10))},
    }


def adam_args():
    params = jax.eval_shape(_params)
    return {"grads": params, "state": jax.eval_shape(adam_init, params), "params": params}


def sgd_args():
    params = jax.eval_shape(_params)
    return {"params": params, "opt_state": jax.eval_shape(OPTIMIZER.init, params), "grads": params}


class Momentum:
    """An optimizer object whose hyperparameters key jit's cache (it is the static `self`)."""

    def __init__(self, lr=1e-2, beta=0.9):
        self.lr, self.beta = lr, beta

    def __hash__(self):
        return hash((self.lr, self.beta))

    def __eq__(self, other):
        return isinstance(other, Momentum) and (self.lr, self.beta) == (other.lr, other.beta)

    @partial(jax.jit, static_argnums=0)
    def update(self, params, velocity, grads):
        velocity = jax.tree_util.tree_map(lambda v, g: self.beta * v + g, velocity, grads)
        params = jax.tree_util.tree_map(lambda p, v: p - self.lr * v, params, velocity)
        return params, velocity


def momentum_args():
    params = jax.eval_shape(_params)
    return {"self": Momentum(), "params": params, "velocity": params, "grads": params}
