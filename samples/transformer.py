"""A transformer-style model whose configuration is static and whose parameters come from a factory.

    jaxexplain trace samples/transformer.py:transformer --args-from samples/transformer.py:layers_2

The factories build parameter trees with `jax.eval_shape`, so nothing is allocated: a 48-layer
model is explained from shapes alone. `n_layers`, `n_heads`, `activation` and `causal` are
static (the decorator says so): each distinct configuration is its own compilation.
"""

from functools import partial

import jax
import jax.numpy as jnp

D_MODEL = 256
VOCAB = 1000
SEQ = 128
BATCH = 8


def init_params(key, n_layers, d_model=D_MODEL, vocab=VOCAB):
    """Real initialization; the factories only ever run it under `jax.eval_shape`."""
    keys = jax.random.split(key, n_layers + 1)

    def dense(k, n_in, n_out):
        return jax.random.normal(k, (n_in, n_out)) / jnp.sqrt(n_in)

    def block(k):
        ks = jax.random.split(k, 4)
        return {
            "ln1": jnp.ones(d_model),
            "qkv": dense(ks[0], d_model, 3 * d_model),
            "out": dense(ks[1], d_model, d_model),
            "ln2": jnp.ones(d_model),
            "up": dense(ks[2], d_model, 4 * d_model),
            "down": dense(ks[3], 4 * d_model, d_model),
        }

    return {
        "embed": dense(keys[0], vocab, d_model),
        "blocks": [block(k) for k in keys[1:]],
    }


def layer_norm(x, scale):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + 1e-6) * scale


def attention(x, p, n_heads, causal):
    batch, seq, d_model = x.shape
    head_dim = d_model // n_heads
    q, k, v = jnp.split(x @ p["qkv"], 3, axis=-1)
    q, k, v = (t.reshape(batch, seq, n_heads, head_dim) for t in (q, k, v))
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(head_dim)
    if causal:
        mask = jnp.tril(jnp.ones((seq, seq), dtype=bool))
        scores = jnp.where(mask, scores, -1e9)
    weights = jax.nn.softmax(scores, axis=-1)
    out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(batch, seq, d_model)
    return out @ p["out"]


def activate(x, activation):
    if activation == "gelu":
        return jax.nn.gelu(x)
    elif activation == "relu":
        return jax.nn.relu(x)
    elif activation == "silu":
        return jax.nn.silu(x)
    raise ValueError(f"unknown activation {activation!r}")


@partial(jax.jit, static_argnames=("n_layers", "n_heads", "activation", "causal"))
def transformer(params, tokens, n_layers, n_heads=4, activation="gelu", causal=True):
    assert len(params["blocks"]) == n_layers, "params were built for another depth"
    x = params["embed"][tokens]
    for p in params["blocks"]:
        x = x + attention(layer_norm(x, p["ln1"]), p, n_heads, causal)
        x = x + activate(layer_norm(x, p["ln2"]) @ p["up"], activation) @ p["down"]
    return x @ params["embed"].T


def make_args(n_layers, batch=BATCH, seq=SEQ):
    """Keyword arguments for `transformer`, as shapes only (`jax.eval_shape` allocates nothing)."""
    params = jax.eval_shape(partial(init_params, n_layers=n_layers), jax.random.key(0))
    tokens = jax.ShapeDtypeStruct((batch, seq), jnp.int32)
    return {"params": params, "tokens": tokens, "n_layers": n_layers}


def layers_2():
    return make_args(2)


def layers_12():
    return make_args(12)


def layers_48():
    return make_args(48)
