"""An MLP training step: value_and_grad, vmap over examples, a static config dataclass,
donated parameters, dropout with new-style keys, rematerialization and bf16 compute."""

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    hidden: int = 128
    n_layers: int = 2
    dropout: float = 0.1
    lr: float = 1e-2
    compute_dtype: str = "bfloat16"
    remat: bool = True


def init_mlp(key, config: TrainConfig, n_in=32, n_out=10):
    sizes = [n_in] + [config.hidden] * config.n_layers + [n_out]
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {"w": jax.random.normal(k, (a, b)) * jnp.sqrt(2.0 / a), "b": jnp.zeros(b)}
        for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def forward(params, x, key, config: TrainConfig, train: bool):
    dtype = jnp.dtype(config.compute_dtype)
    h = x.astype(dtype)
    for i, layer in enumerate(params):
        h = h @ layer["w"].astype(dtype) + layer["b"].astype(dtype)
        if i < len(params) - 1:
            h = jax.nn.relu(h)
            if train and config.dropout > 0:
                key, sub = jax.random.split(key)
                keep = jax.random.bernoulli(sub, 1 - config.dropout, h.shape)
                h = jnp.where(keep, h / (1 - config.dropout), 0)
    return h.astype(jnp.float32)


def example_loss(params, x, y, key, config):
    logits = forward(params, x, key, config, train=True)
    return -jax.nn.log_softmax(logits)[y]


@partial(jax.jit, static_argnames=("config",), donate_argnums=(0,))
def train_step(params, batch, key, config: TrainConfig):
    def loss_fn(params):
        keys = jax.random.split(key, batch["x"].shape[0])
        per_example = example_loss
        if config.remat:
            per_example = jax.checkpoint(example_loss, static_argnums=(4,))
        losses = jax.vmap(per_example, in_axes=(None, 0, 0, 0, None))(
            params, batch["x"], batch["y"], keys, config
        )
        return losses.mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    params = jax.tree_util.tree_map(lambda p, g: p - config.lr * g, params, grads)
    return params, loss


def train_args():
    config = TrainConfig()
    params = jax.eval_shape(lambda: init_mlp(jax.random.key(0), config))
    batch = {
        "x": jax.ShapeDtypeStruct((16, 32), jnp.float32),
        "y": jax.ShapeDtypeStruct((16,), jnp.int32),
    }
    return {
        "params": params,
        "batch": batch,
        "key": jax.eval_shape(lambda: jax.random.key(0)),
        "config": config,
    }


def train_args_old_key():
    kwargs = train_args()
    kwargs["key"] = jax.ShapeDtypeStruct((2,), jnp.uint32)
    return kwargs
