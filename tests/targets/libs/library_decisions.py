"""User code whose statics decide tests inside flax and haiku: the user passes `not train` to
a flax module's field or `is_training` into a haiku helper's argument, and the library's own
`if` on it decides what the jaxpr holds."""

from __future__ import annotations

import flax.linen as nn
import haiku as hk
import jax
import jax.numpy as jnp


class DropoutBlock(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        h = nn.Dense(4, use_bias=True)(x)
        return nn.Dropout(0.5, deterministic=not train)(h)


def flax_dropout_step(params: dict, x: jax.Array, train: bool) -> jax.Array:
    """`train` reaches flax's Dropout as the field `deterministic`."""
    rngs = {"dropout": jax.random.key(1)}
    return DropoutBlock().apply(params, x, train=train, rngs=rngs)


def flax_dropout_params() -> dict:
    return {"params": DropoutBlock().init(jax.random.key(0), jnp.zeros((2, 3)), False)}


class NormBlock(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        return nn.BatchNorm(use_running_average=not train)(x)


def flax_batchnorm_step(variables: dict, x: jax.Array, train: bool) -> jax.Array:
    """`train` reaches flax's BatchNorm as the field `use_running_average`."""
    y, _ = NormBlock().apply(variables, x, train=train, mutable=["batch_stats"])
    return y


def flax_batchnorm_variables() -> dict:
    return {"variables": NormBlock().init(jax.random.key(0), jnp.zeros((2, 3)), False)}


def _haiku_forward(x: jax.Array, is_training: bool) -> jax.Array:
    rate = 0.5 if is_training else 0.0
    return hk.dropout(hk.next_rng_key(), rate, x)


haiku_model = hk.transform(_haiku_forward)


def haiku_dropout_step(params: dict, x: jax.Array, is_training: bool) -> jax.Array:
    """`is_training` decides the rate haiku's dropout tests against zero."""
    return haiku_model.apply(params, jax.random.key(2), x, is_training=is_training)


def haiku_dropout_params() -> dict:
    return {"params": haiku_model.init(jax.random.key(0), jnp.zeros((2, 3)), is_training=True)}
