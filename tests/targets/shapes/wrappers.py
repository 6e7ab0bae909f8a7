"""Targets that are not plain functions: transformed, partially applied, jitted by assignment."""

from functools import partial

import jax
import jax.numpy as jnp


def mse(params, x, y):
    pred = x @ params["w"] + params["b"]
    return jnp.mean((pred - y) ** 2)


def per_example_loss(params, x, y, huber=True):
    err = x @ params["w"] + params["b"] - y
    if huber:
        return jnp.where(jnp.abs(err) < 1.0, 0.5 * err**2, jnp.abs(err) - 0.5)
    return 0.5 * err**2


grad_mse = jax.grad(mse)
batched_loss = jax.vmap(per_example_loss, in_axes=(None, 0, 0))
huber_loss = partial(per_example_loss, huber=False)


def _sgd(params, x, y, lr):
    grads = jax.grad(mse)(params, x, y)
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)


sgd = jax.jit(_sgd, static_argnums=(3,), donate_argnums=0)


def args():
    return {
        "params": {
            "w": jax.ShapeDtypeStruct((4,), jnp.float32),
            "b": jax.ShapeDtypeStruct((), jnp.float32),
        },
        "x": jax.ShapeDtypeStruct((32, 4), jnp.float32),
        "y": jax.ShapeDtypeStruct((32,), jnp.float32),
    }


def sgd_args():
    return {**args(), "lr": 0.1}
