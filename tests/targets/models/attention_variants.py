"""Attention variants: sliding window, grouped-query, flash-style blocks, KV-cache decode."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


def sliding_window_mask(seq, window):
    mask = np.zeros((seq, seq), dtype=bool)
    for i in range(seq):
        lo = max(0, i - window + 1)
        mask[i, lo : i + 1] = True
    return mask


@partial(jax.jit, static_argnames=("window",))
def local_attention(q, k, v, window):
    seq = q.shape[-2]
    scores = q @ jnp.swapaxes(k, -1, -2) / jnp.sqrt(q.shape[-1])
    if window is not None:
        scores = jnp.where(sliding_window_mask(seq, window), scores, -jnp.inf)
    return jax.nn.softmax(scores, axis=-1) @ v


@partial(jax.jit, static_argnames=("n_heads", "n_kv_heads"))
def gqa(x, wq, wk, wv, n_heads, n_kv_heads):
    b, t, d = x.shape
    hd = d // n_heads
    q = (x @ wq).reshape(b, t, n_heads, hd)
    k = (x @ wk).reshape(b, t, n_kv_heads, hd)
    v = (x @ wv).reshape(b, t, n_kv_heads, hd)
    if n_kv_heads != n_heads:
        rep = n_heads // n_kv_heads
        k = jnp.repeat(k, rep, axis=2)
        v = jnp.repeat(v, rep, axis=2)
    s = jnp.einsum("bthd,bshd->bhts", q, k) / hd**0.5
    causal = jnp.tril(jnp.ones((t, t), bool))
    s = jnp.where(causal, s, -1e9)
    o = jnp.einsum("bhts,bshd->bthd", jax.nn.softmax(s, -1), v)
    return o.reshape(b, t, d)


def gqa_args():
    d = 32
    return {
        "x": jax.ShapeDtypeStruct((2, 8, d), jnp.float32),
        "wq": jax.ShapeDtypeStruct((d, d), jnp.float32),
        "wk": jax.ShapeDtypeStruct((d, 16), jnp.float32),
        "wv": jax.ShapeDtypeStruct((d, 16), jnp.float32),
    }


@partial(jax.jit, static_argnames=("block",))
def flash_attention(q, k, v, block=16):
    t, d = q.shape
    n_blocks = t // block
    outs = []
    for qi in range(n_blocks):
        qb = q[qi * block : (qi + 1) * block]
        m = jnp.full((block,), -jnp.inf)
        den = jnp.zeros((block,))
        acc = jnp.zeros((block, d))

        def body(kj, carry, qb=qb):
            m, den, acc = carry
            kb = jax.lax.dynamic_slice_in_dim(k, kj * block, block)
            vb = jax.lax.dynamic_slice_in_dim(v, kj * block, block)
            s = qb @ kb.T / jnp.sqrt(d)
            m_new = jnp.maximum(m, s.max(-1))
            p = jnp.exp(s - m_new[:, None])
            corr = jnp.exp(m - m_new)
            return m_new, den * corr + p.sum(-1), acc * corr[:, None] + p @ vb

        m, den, acc = jax.lax.fori_loop(0, qi + 1, body, (m, den, acc))
        outs.append(acc / den[:, None])
    return jnp.concatenate(outs, axis=0)


@jax.jit
def decode_step(cache_k, cache_v, x, pos, wq, wk, wv):
    q = x @ wq
    k = x @ wk
    v = x @ wv
    cache_k = jax.lax.dynamic_update_slice(cache_k, k[None, :], (pos, 0))
    cache_v = jax.lax.dynamic_update_slice(cache_v, v[None, :], (pos, 0))
    scores = cache_k @ q / jnp.sqrt(q.shape[-1])
    valid = jnp.arange(cache_k.shape[0]) <= pos
    scores = jnp.where(valid, scores, -jnp.inf)
    out = jax.nn.softmax(scores) @ cache_v
    return out, cache_k, cache_v


def decode_args():
    d, maxlen = 16, 32
    return {
        "cache_k": jax.ShapeDtypeStruct((maxlen, d), jnp.float32),
        "cache_v": jax.ShapeDtypeStruct((maxlen, d), jnp.float32),
        "x": jax.ShapeDtypeStruct((d,), jnp.float32),
        "pos": jax.ShapeDtypeStruct((), jnp.int32),
        "wq": jax.ShapeDtypeStruct((d, d), jnp.float32),
        "wk": jax.ShapeDtypeStruct((d, d), jnp.float32),
        "wv": jax.ShapeDtypeStruct((d, d), jnp.float32),
    }
