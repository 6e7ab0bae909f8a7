"""A Flax-like module system written by hand: dataclass modules with `__call__`, init/apply."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Dense:
    features: int
    use_bias: bool = True

    def init(self, key, in_features):
        w = jax.random.normal(key, (in_features, self.features)) / jnp.sqrt(in_features)
        params = {"kernel": w}
        if self.use_bias:
            params["bias"] = jnp.zeros((self.features,))
        return params

    def __call__(self, params, x):
        y = x @ params["kernel"]
        if self.use_bias:
            y = y + params["bias"]
        return y


@dataclasses.dataclass(frozen=True)
class LayerNorm:
    eps: float = 1e-5

    def init(self, key, in_features):
        return {"scale": jnp.ones((in_features,)), "shift": jnp.zeros((in_features,))}

    def __call__(self, params, x):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + self.eps) * params["scale"] + params["shift"]


@dataclasses.dataclass(frozen=True)
class MLP:
    widths: Sequence[int] = (64, 64, 10)
    activation: str = "gelu"
    norm: bool = True

    def layers(self):
        out = []
        for i, width in enumerate(self.widths):
            out.append(Dense(width, use_bias=i < len(self.widths) - 1))
            if self.norm and i < len(self.widths) - 1:
                out.append(LayerNorm())
        return out

    def init(self, key, in_features):
        params = []
        for layer in self.layers():
            key, sub = jax.random.split(key)
            params.append(layer.init(sub, in_features))
            if isinstance(layer, Dense):
                in_features = layer.features
        return params

    def __call__(self, params, x, *, train: bool = False):
        act = getattr(jax.nn, self.activation)
        layers = self.layers()
        for layer, p in zip(layers, params, strict=True):
            x = layer(p, x)
            if isinstance(layer, LayerNorm):
                x = act(x)
        return x

    def apply(self, params, x, train=False):
        return self(params, x, train=train)


MODEL = MLP()
apply_fn = jax.jit(MODEL.apply, static_argnames=("train",))
jit_call = jax.jit(MODEL.__call__, static_argnames=("train",))


class Trainer:
    """A trainer whose step is a staticmethod and whose factory is a classmethod."""

    @staticmethod
    @partial(jax.jit, static_argnames=("lr",))
    def sgd(params, grads, lr=0.1):
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

    @classmethod
    def loss(cls, params, x, y):
        logits = MODEL(params, x)
        return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * y, axis=-1))

    @staticmethod
    def step(params, x, y):
        loss, grads = jax.value_and_grad(Trainer.loss)(params, x, y)
        return Trainer.sgd(params, grads), loss


def param_shapes(model: Any = MODEL, in_features: int = 32) -> Any:
    return jax.eval_shape(lambda: model.init(jax.random.key(0), in_features))


def apply_args():
    return {"params": param_shapes(), "x": jax.ShapeDtypeStruct((8, 32), jnp.float32)}


def step_args():
    return {
        "params": param_shapes(),
        "x": jax.ShapeDtypeStruct((8, 32), jnp.float32),
        "y": jax.ShapeDtypeStruct((8, 10), jnp.float32),
    }


def sgd_args():
    p = param_shapes()
    return {"params": p, "grads": p}


DEEP = MLP(widths=(32,) * 12 + (10,))
deep_apply = jax.jit(DEEP.apply)


def deep_args():
    return {"params": param_shapes(DEEP), "x": jax.ShapeDtypeStruct((8, 32), jnp.float32)}
