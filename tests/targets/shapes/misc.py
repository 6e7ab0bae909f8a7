"""Everyday shapes: *args/**kwargs pytrees, a partial of a jitted function with bound statics,
donation, keys split in Python loops, debug printing and callbacks, named scopes, a NamedTuple
optimizer state, per-example gradients with vmap, and remat with static_argnums."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

LOG: list = []


@dataclasses.dataclass(frozen=True)
class OptConfig:
    lr: float = 3e-4
    b1: float = 0.9
    b2: float = 0.95
    weight_decay: float = 0.1
    clip: float | None = 1.0


class AdamWState(NamedTuple):
    count: jax.Array
    mu: dict
    nu: dict


@partial(jax.jit, static_argnames=("config",), donate_argnames=("params", "state"))
def adamw(params, state: AdamWState, grads, config: OptConfig = OptConfig()):
    count = state.count + 1
    if config.clip is not None:
        norm = jnp.sqrt(sum(jnp.vdot(g, g) for g in jax.tree_util.tree_leaves(grads)))
        jax.debug.print("grad norm {n}", n=norm)
        grads = jax.tree_util.tree_map(lambda g: g * jnp.minimum(1.0, config.clip / norm), grads)
    with jax.named_scope("moments"):
        mu = jax.tree_util.tree_map(
            lambda m, g: config.b1 * m + (1 - config.b1) * g, state.mu, grads
        )
        nu = jax.tree_util.tree_map(
            lambda v, g: config.b2 * v + (1 - config.b2) * g * g, state.nu, grads
        )
    c1 = 1 - config.b1**count
    c2 = 1 - config.b2**count

    def update(p, m, v):
        step = (m / c1) / (jnp.sqrt(v / c2) + 1e-8)
        if p.ndim > 1:
            step = step + config.weight_decay * p
        return p - config.lr * step

    return jax.tree_util.tree_map(update, params, mu, nu), AdamWState(count, mu, nu)


def adamw_args():
    p = {
        "embed": jax.ShapeDtypeStruct((100, 16), jnp.float32),
        "ln": jax.ShapeDtypeStruct((16,), jnp.float32),
    }
    state = AdamWState(jax.ShapeDtypeStruct((), jnp.int32), p, p)
    return {"params": p, "state": state, "grads": p}


def mix(*arrays, **weights):
    """Weighted sum of pytrees: positional ones weight 1, keyword ones by name."""
    total = sum(jnp.sum(a) for a in arrays)
    for name, w in sorted(weights.items()):
        if name.startswith("neg_"):
            total = total - jnp.sum(w["value"]) * w["scale"]
        else:
            total = total + jnp.sum(w["value"]) * w["scale"]
    return total


jit_mix = jax.jit(mix)


def mix_args():
    s = jax.ShapeDtypeStruct
    return (s((3,), jnp.float32), s((2, 2), jnp.float32)), {
        "a": {"value": s((4,), jnp.float32), "scale": s((), jnp.float32)},
        "neg_b": {"value": s((5,), jnp.float32), "scale": s((), jnp.float32)},
    }


@partial(jax.jit, static_argnames=("n_layers", "activation"))
def deep_net(x, w, n_layers, activation):
    for _ in range(n_layers):
        x = getattr(jax.nn, activation)(x @ w)
    return x


shallow_relu = partial(deep_net, n_layers=2, activation="relu")


@partial(jax.jit, static_argnames=("n_samples",))
def random_features(key, x, n_samples=3):
    outs = []
    for i in range(n_samples):
        key, sub = jax.random.split(key)
        proj = jax.random.normal(sub, (x.shape[-1], 8))
        outs.append(jnp.cos(x @ proj + i))
    return jnp.stack(outs).mean(0)


def features_args():
    return {
        "key": jax.eval_shape(lambda: jax.random.key(0)),
        "x": jax.ShapeDtypeStruct((10, 4), jnp.float32),
    }


def _record(step, loss):
    LOG.append((int(step), float(loss)))


@jax.jit
def logged_loss(w, x, y, step):
    pred = jnp.tanh(x @ w)
    loss = jnp.mean(jnp.where(jnp.isfinite(pred), (pred - y) ** 2, 0.0))
    jax.debug.callback(_record, step, loss)
    return loss


def logged_args():
    s = jax.ShapeDtypeStruct
    return {
        "w": s((4,), jnp.float32),
        "x": s((16, 4), jnp.float32),
        "y": s((16,), jnp.float32),
        "step": s((), jnp.int32),
    }


def _block(w, x, depth):
    for _ in range(depth):
        x = jnp.tanh(x @ w)
    return jnp.sum(x**2)


@partial(jax.jit, static_argnames=("depth",))
def per_example_grads(w, xs, depth=3):
    block = jax.checkpoint(_block, static_argnums=(2,))
    return jax.vmap(jax.grad(block), in_axes=(None, 0, None))(w, xs, depth)


def pex_args():
    return {
        "w": jax.ShapeDtypeStruct((8, 8), jnp.float32),
        "xs": jax.ShapeDtypeStruct((16, 8), jnp.float32),
    }


@jax.jit
def safe_norm_logits(logits, mask):
    big_neg = jnp.finfo(logits.dtype).min
    logits = jnp.where(mask, logits, big_neg)
    m = jnp.max(logits, axis=-1, keepdims=True)
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    e = jnp.where(mask, jnp.exp(logits - m), 0.0)
    denom = jnp.sum(e, -1, keepdims=True)
    return jnp.where(denom > 0, e / jnp.where(denom > 0, denom, 1.0), 0.0)
