"""A normalizing flow whose layers are a static tuple of configs, and a pytree state class."""

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp


@dataclass(frozen=True)
class LayerCfg:
    kind: str
    flip: bool = False


def coupling(x, w, flip):
    if flip:
        x = x[:, ::-1]
    d = x.shape[1] // 2
    x1, x2 = x[:, :d], x[:, d:]
    s = jnp.tanh(x1 @ w)
    y2 = x2 * jnp.exp(s)
    y = jnp.concatenate([x1, y2], axis=1)
    return y, jnp.sum(s, axis=1)


@partial(jax.jit, static_argnames=("layers",))
def flow_forward(x, weights, layers):
    logdet = jnp.zeros(x.shape[0])
    for cfg, w in zip(layers, weights, strict=True):
        if cfg.kind == "coupling":
            x, ld = coupling(x, w, cfg.flip)
            logdet = logdet + ld
        elif cfg.kind == "actnorm":
            x = x * jnp.exp(w)
            logdet = logdet + jnp.sum(w)
    return x, logdet


def flow_args():
    layers = (
        LayerCfg("coupling"),
        LayerCfg("actnorm"),
        LayerCfg("coupling", flip=True),
    )
    weights = [jnp.zeros((2, 2)), jnp.zeros(4), jnp.zeros((2, 2))]
    return {"x": jax.ShapeDtypeStruct((16, 4), jnp.float32), "weights": weights, "layers": layers}


@jax.tree_util.register_pytree_node_class
class SamplerState:
    def __init__(self, position, step_size, adapt):
        self.position = position
        self.step_size = step_size
        self.adapt = adapt

    def tree_flatten(self):
        return (self.position, self.step_size), (self.adapt,)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children, *aux)


@jax.jit
def sampler_update(state, grad):
    pos = state.position + state.step_size * grad
    if state.adapt:
        step = state.step_size * jnp.where(jnp.linalg.norm(grad) > 1.0, 0.9, 1.1)
    else:
        step = state.step_size
    return SamplerState(pos, step, state.adapt)


def sampler_args():
    return {"state": SamplerState(jnp.zeros(3), jnp.float32(0.1), True), "grad": jnp.ones(3)}
