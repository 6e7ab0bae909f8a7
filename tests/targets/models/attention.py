"""Multi-head attention with a causal mask, rotary embeddings, and flash-style blocking."""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp


class AttnConfig(NamedTuple):
    n_heads: int = 4
    causal: bool = True
    rotary: bool = True
    block_size: int = 16


def rotary(x, base=10000.0):
    seq, dim = x.shape[-3], x.shape[-1]
    freqs = base ** (-jnp.arange(0, dim, 2, dtype=jnp.float32) / dim)
    angles = jnp.arange(seq, dtype=jnp.float32)[:, None] * freqs[None, :]
    sin, cos = jnp.sin(angles)[:, None, :], jnp.cos(angles)[:, None, :]
    x1, x2 = x[..., ::2], x[..., 1::2]
    return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


@partial(jax.jit, static_argnames=("config",))
def mha(x, wqkv, wo, config: AttnConfig):
    batch, seq, d_model = x.shape
    head_dim = d_model // config.n_heads
    q, k, v = jnp.split(x @ wqkv, 3, axis=-1)
    q, k, v = (t.reshape(batch, seq, config.n_heads, head_dim) for t in (q, k, v))
    if config.rotary:
        q, k = rotary(q), rotary(k)
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(head_dim).astype(x.dtype)
    if config.causal:
        mask = jnp.tril(jnp.ones((seq, seq), dtype=bool))
        scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
    weights = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(x.dtype)
    out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(batch, seq, d_model)
    return out @ wo


@partial(jax.jit, static_argnames=("block_size",))
def blocked_attention(q, k, v, block_size=16):
    """Online-softmax attention over key blocks (a static number of them, unrolled)."""
    seq, dim = q.shape
    assert seq % block_size == 0, "sequence length must be a multiple of the block size"
    acc = jnp.zeros_like(q)
    row_max = jnp.full((seq,), -jnp.inf)
    row_sum = jnp.zeros((seq,))
    for start in range(0, seq, block_size):
        kb, vb = k[start : start + block_size], v[start : start + block_size]
        s = q @ kb.T / jnp.sqrt(dim)
        new_max = jnp.maximum(row_max, s.max(axis=-1))
        p = jnp.exp(s - new_max[:, None])
        correction = jnp.exp(row_max - new_max)
        acc = acc * correction[:, None] + p @ vb
        row_sum = row_sum * correction + p.sum(axis=-1)
        row_max = new_max
    return acc / row_sum[:, None]


def mha_args():
    return {
        "x": jax.ShapeDtypeStruct((2, 64, 128), jnp.bfloat16),
        "wqkv": jax.ShapeDtypeStruct((128, 384), jnp.bfloat16),
        "wo": jax.ShapeDtypeStruct((128, 128), jnp.bfloat16),
        "config": AttnConfig(),
    }


def blocked_args():
    spec = jax.ShapeDtypeStruct((64, 32), jnp.float32)
    return {"q": spec, "k": spec, "v": spec}
