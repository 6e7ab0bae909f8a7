"""Training steps: donation, eval mode flags, Python-float learning rates, metrics dicts."""

from functools import partial

import jax
import jax.numpy as jnp


def init(key, n_in=8, n_hidden=16, n_out=3):
    k1, k2 = jax.random.split(key)
    return {
        "l1": {"w": jax.random.normal(k1, (n_in, n_hidden)) * 0.1, "b": jnp.zeros(n_hidden)},
        "l2": {"w": jax.random.normal(k2, (n_hidden, n_out)) * 0.1, "b": jnp.zeros(n_out)},
    }


def apply(params, x, training):
    h = jax.nn.relu(x @ params["l1"]["w"] + params["l1"]["b"])
    if training:
        h = h * 0.9
    return h @ params["l2"]["w"] + params["l2"]["b"]


def loss_fn(params, x, y, training=True):
    logits = apply(params, x, training)
    return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * jax.nn.one_hot(y, 3), -1))


@partial(jax.jit, donate_argnums=(0,))
def train_step(params, x, y, lr):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, {"loss": loss}


@partial(jax.jit, static_argnames=("training",))
def evaluate(params, x, y, training=False):
    logits = apply(params, x, training)
    metrics = {"loss": loss_fn(params, x, y, training)}
    if not training:
        metrics["acc"] = jnp.mean(jnp.argmax(logits, -1) == y)
    return metrics


@partial(jax.jit, static_argnames=("lr",))
def step_static_lr(params, x, y, lr):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss


@jax.jit
def log_metrics(metrics):
    return {k: jnp.mean(v) for k, v in metrics.items()}


def step_args():
    params = jax.eval_shape(init, jax.random.PRNGKey(0))
    return {
        "params": params,
        "x": jax.ShapeDtypeStruct((32, 8), jnp.float32),
        "y": jax.ShapeDtypeStruct((32,), jnp.int32),
    }
