"""Mistakes practitioners make: Python control flow on traced values, unhashable static configs."""

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp


@jax.jit
def warmup_lr_step(params, grads, step, base_lr=1e-3, warmup=100):
    if step < warmup:
        lr = base_lr * step / warmup
    else:
        lr = base_lr
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)


@jax.jit
def schedule_by_int(params, grads, step):
    decay = 0.5 ** (int(step) // 1000)
    return jax.tree_util.tree_map(lambda p, g: p - 1e-3 * decay * g, params, grads)


@partial(jax.jit, static_argnames=("layer_sizes",))
def mlp_with_sizes(x, layer_sizes):
    for size in layer_sizes:
        x = jnp.tanh(x[..., :size])
    return x


@dataclasses.dataclass
class MutableConfig:
    lr: float = 1e-3
    momentum: float = 0.9


@partial(jax.jit, static_argnames=("config",))
def momentum_step(params, velocity, grads, config: MutableConfig):
    velocity = jax.tree_util.tree_map(lambda v, g: config.momentum * v + g, velocity, grads)
    params = jax.tree_util.tree_map(lambda p, v: p - config.lr * v, params, velocity)
    return params, velocity


def params_args():
    tree = {
        "w": jax.ShapeDtypeStruct((8, 8), jnp.float32),
        "b": jax.ShapeDtypeStruct((8,), jnp.float32),
    }
    return {"params": tree, "grads": tree, "step": jax.ShapeDtypeStruct((), jnp.int32)}


def mlp_args():
    return {"x": jax.ShapeDtypeStruct((4, 64), jnp.float32), "layer_sizes": [64, 32, 16]}


def momentum_args():
    tree = {"w": jax.ShapeDtypeStruct((8, 8), jnp.float32)}
    return {"params": tree, "velocity": tree, "grads": tree, "config": MutableConfig()}


@jax.jit
def dropout(x, key, rate):
    if rate > 0.0:
        keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
        x = jnp.where(keep, x / (1.0 - rate), 0.0)
    return x


def dropout_args():
    return {
        "x": jax.ShapeDtypeStruct((16, 128), jnp.float32),
        "key": jax.eval_shape(lambda: jax.random.key(0)),
        "rate": 0.1,
    }


def dropout_args_old_key():
    return {**dropout_args(), "key": jax.ShapeDtypeStruct((2,), jnp.uint32)}


@jax.jit
def langevin_step(x, key, step):
    noise = jax.random.normal(key, x.shape)
    if step < 100:
        temperature = 1.0
    else:
        temperature = 0.1
    return x - 0.01 * x + jnp.sqrt(2 * 0.01 * temperature) * noise


def langevin_args():
    return {
        "x": jax.ShapeDtypeStruct((64,), jnp.float32),
        "key": jax.eval_shape(lambda: jax.random.key(0)),
        "step": jax.ShapeDtypeStruct((), jnp.int32),
    }


class MLPConfig(NamedTuple):
    widths: list
    activation: str = "tanh"


@dataclasses.dataclass(frozen=True)
class FrozenMLPConfig:
    widths: list = dataclasses.field(default_factory=lambda: [64, 32])
    activation: str = "tanh"


@partial(jax.jit, static_argnames=("config",))
def mlp_with_config(x, config):
    act = getattr(jnp, config.activation)
    for width in config.widths:
        x = act(x[..., :width])
    return x


def named_tuple_config_args():
    return {"x": jax.ShapeDtypeStruct((4, 64), jnp.float32), "config": MLPConfig([64, 32])}


def frozen_dataclass_config_args():
    return {"x": jax.ShapeDtypeStruct((4, 64), jnp.float32), "config": FrozenMLPConfig()}
