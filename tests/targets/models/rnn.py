"""An LSTM over `lax.scan` with a Python-side config, custom_vjp gradient clipping, and a
straight-through estimator (custom_jvp) for a quantized recurrent state."""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class LSTMConfig:
    hidden: int = 32
    layers: int = 2
    bidirectional: bool = False
    quantize_state: bool = False
    forget_bias: float = 1.0
    unroll: int = 1


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def clip_gradient(x, max_norm):
    return x


def _clip_fwd(x, max_norm):
    return x, None


def _clip_bwd(max_norm, _, g):
    norm = jnp.linalg.norm(g)
    return (jnp.where(norm > max_norm, g * max_norm / norm, g),)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


@jax.custom_jvp
def round_ste(x):
    return jnp.round(x * 16.0) / 16.0


@round_ste.defjvp
def _round_ste_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return round_ste(x), t


def lstm_cell(params, carry, x, config: LSTMConfig):
    h, c = carry
    gates = x @ params["wx"] + h @ params["wh"] + params["b"]
    i, f, g, o = jnp.split(gates, 4, axis=-1)
    c = jax.nn.sigmoid(f + config.forget_bias) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    if config.quantize_state:
        h = round_ste(h)
    return (h, c), h


def run_layer(params, xs, config, reverse=False):
    batch = xs.shape[1]
    carry = (jnp.zeros((batch, config.hidden)), jnp.zeros((batch, config.hidden)))

    def step(carry, x):
        carry, h = lstm_cell(params, carry, x, config)
        return carry, clip_gradient(h, 1.0)

    _, hs = jax.lax.scan(step, carry, xs, reverse=reverse, unroll=config.unroll)
    return hs


@partial(jax.jit, static_argnames=("config",))
def lstm(params, xs, config: LSTMConfig):
    """xs is time-major: [time, batch, features]."""
    for layer in range(config.layers):
        fwd = run_layer(params[layer]["fwd"], xs, config)
        if config.bidirectional:
            bwd = run_layer(params[layer]["bwd"], xs, config, reverse=True)
            xs = jnp.concatenate([fwd, bwd], axis=-1)
        else:
            xs = fwd
    return xs


def loss(params, xs, targets, config):
    return jnp.mean((lstm(params, xs, config)[-1] - targets) ** 2)


@partial(jax.jit, static_argnames=("config",))
def grad_step(params, xs, targets, config: LSTMConfig):
    value, grads = jax.value_and_grad(loss)(params, xs, targets, config)
    return value, grads


def init_params(config: LSTMConfig, n_in: int):
    dirs = ("fwd", "bwd") if config.bidirectional else ("fwd",)
    params = []
    for layer in range(config.layers):
        width = n_in if layer == 0 else config.hidden * len(dirs)
        params.append(
            {
                d: {
                    "wx": jnp.zeros((width, 4 * config.hidden)),
                    "wh": jnp.zeros((config.hidden, 4 * config.hidden)),
                    "b": jnp.zeros((4 * config.hidden,)),
                }
                for d in dirs
            }
        )
    return params


def lstm_args(config: LSTMConfig | None = None):
    config = config or LSTMConfig()
    return {
        "params": jax.eval_shape(lambda: init_params(config, 8)),
        "xs": jax.ShapeDtypeStruct((20, 4, 8), jnp.float32),
        "config": config,
    }


def bidir_args():
    return lstm_args(LSTMConfig(bidirectional=True, quantize_state=True))


def grad_args():
    config = LSTMConfig(quantize_state=True)
    return {**lstm_args(config), "targets": jax.ShapeDtypeStruct((4, 32), jnp.float32)}
