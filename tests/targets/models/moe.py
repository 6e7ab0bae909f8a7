"""A mixture-of-experts layer with a top-k router and a static capacity, and einsum
multi-head attention whose ALiBi bias and rotary tables are built in Python loops."""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp


class MoEConfig(NamedTuple):
    n_experts: int = 4
    top_k: int = 2
    capacity_factor: float = 1.25
    jitter: bool = False


DEFAULT_MOE = MoEConfig()


@partial(jax.jit, static_argnames=("config",))
def moe_layer(x, router_w, expert_w1, expert_w2, config: MoEConfig = DEFAULT_MOE):
    tokens = x.shape[0]
    capacity = math.ceil(config.capacity_factor * tokens * config.top_k / config.n_experts)
    logits = x @ router_w
    if config.jitter:
        logits = logits * 1.01
    probs = jax.nn.softmax(logits, axis=-1)
    gate, expert_idx = jax.lax.top_k(probs, config.top_k)
    gate = gate / gate.sum(-1, keepdims=True)
    onehot = jax.nn.one_hot(expert_idx, config.n_experts, dtype=jnp.int32)
    position = jnp.cumsum(onehot.reshape(-1, config.n_experts), axis=0).reshape(onehot.shape)
    position = (position - 1) * onehot
    keep = (position < capacity) & (onehot > 0)
    dispatch = jax.nn.one_hot(position, capacity) * keep[..., None]
    combine = dispatch * gate[..., None, None]
    dispatch = dispatch.sum(1)
    combine = combine.sum(1)
    expert_in = jnp.einsum("tec,td->ecd", dispatch, x)
    h = jax.nn.gelu(jnp.einsum("ecd,edf->ecf", expert_in, expert_w1))
    expert_out = jnp.einsum("ecf,efd->ecd", h, expert_w2)
    aux = config.n_experts * jnp.sum(probs.mean(0) * onehot.sum(1).mean(0))
    return jnp.einsum("tec,ecd->td", combine, expert_out), aux


def alibi_slopes(n_heads):
    def power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(n_heads).is_integer():
        return power_of_2(n_heads)
    closest = 2 ** math.floor(math.log2(n_heads))
    return power_of_2(closest) + power_of_2(2 * closest)[0::2][: n_heads - closest]


@partial(jax.jit, static_argnames=("n_heads", "position"))
def attention(x, wq, wk, wv, wo, n_heads=8, position="alibi"):
    seq, d_model = x.shape[-2:]
    head_dim = d_model // n_heads
    q = jnp.einsum("bsd,dhk->bhsk", x, wq.reshape(d_model, n_heads, head_dim))
    k = jnp.einsum("bsd,dhk->bhsk", x, wk.reshape(d_model, n_heads, head_dim))
    v = jnp.einsum("bsd,dhk->bhsk", x, wv.reshape(d_model, n_heads, head_dim))
    scores = jnp.einsum("bhqk,bhsk->bhqs", q, k) / math.sqrt(head_dim)
    if position == "alibi":
        rel = jnp.arange(seq)[None, :] - jnp.arange(seq)[:, None]
        bias = jnp.stack([s * rel for s in alibi_slopes(n_heads)])
        scores = scores + bias
    elif position == "none":
        pass
    else:
        raise ValueError(position)
    causal = jnp.tril(jnp.ones((seq, seq), bool))
    scores = jnp.where(causal, scores, -1e9)
    out = jnp.einsum("bhqs,bhsk->bqhk", jax.nn.softmax(scores, -1), v)
    return out.reshape(*x.shape[:-1], d_model) @ wo


def moe_args(config=DEFAULT_MOE):
    d, f = 16, 32
    return {
        "x": jax.ShapeDtypeStruct((64, d), jnp.float32),
        "router_w": jax.ShapeDtypeStruct((d, config.n_experts), jnp.float32),
        "expert_w1": jax.ShapeDtypeStruct((config.n_experts, d, f), jnp.float32),
        "expert_w2": jax.ShapeDtypeStruct((config.n_experts, f, d), jnp.float32),
        "config": config,
    }


def attention_args():
    w = jax.ShapeDtypeStruct((32, 32), jnp.float32)
    return {"x": jax.ShapeDtypeStruct((2, 16, 32), jnp.float32), "wq": w, "wk": w, "wv": w, "wo": w}
