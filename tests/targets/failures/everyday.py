"""Failures practitioners really hit in the code they write for jit."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from ._metrics import accuracy


@jax.jit
def power_iteration(a, tol=1e-6):
    v = jnp.ones(a.shape[0]) / jnp.sqrt(a.shape[0])
    delta = jnp.inf
    while delta > tol:
        w = a @ v
        w = w / jnp.linalg.norm(w)
        delta = jnp.linalg.norm(w - v)
        v = w
    return v @ a @ v


@jax.jit
def pad_to_length(tokens, length):
    pad = jnp.zeros((int(length) - tokens.shape[0],), tokens.dtype)
    return jnp.concatenate([tokens, pad])


@partial(jax.jit, static_argnames=("dims",))
def project(x, dims):
    return x[..., : dims[0]] @ jnp.eye(dims[0], dims[1])


@jax.jit
def take_prefix(x, n):
    return x[:n].sum()


@jax.jit
def eval_step(params, x, labels):
    logits = x @ params["w"] + params["b"]
    loss = jnp.mean((logits - jax.nn.one_hot(labels, logits.shape[-1])) ** 2)
    return {"loss": loss, "acc": accuracy(logits, labels)}


@jax.jit
def dynamic_window(x, start, size=4):
    return jax.lax.dynamic_slice(x, (start,), (size,))


def eval_args():
    s = jax.ShapeDtypeStruct
    return {
        "params": {"w": s((8, 3), jnp.float32), "b": s((3,), jnp.float32)},
        "x": s((16, 8), jnp.float32),
        "labels": s((16,), jnp.int32),
    }


def project_args():
    return {"x": jax.ShapeDtypeStruct((4, 16), jnp.float32), "dims": [8, 4]}


def prefix_args():
    """What a notebook user passes: a concrete 0-d array for the length, not a Python int."""
    return {"x": jnp.arange(8.0), "n": jnp.array(5)}


def keyed(key, x):
    if key:
        return x
    return -x


def keyed_args():
    return {"key": jax.random.key(0), "x": jax.ShapeDtypeStruct((3,), jnp.float32)}
