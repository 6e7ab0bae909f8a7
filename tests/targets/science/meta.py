"""MAML: vmap of grad of an inner loop with a static number of inner steps."""

from functools import partial

import jax
import jax.numpy as jnp


def mlp(params, x):
    for i, (w, b) in enumerate(params):
        x = x @ w + b
        if i < len(params) - 1:
            x = jnp.tanh(x)
    return x


def task_loss(params, x, y):
    return jnp.mean((mlp(params, x) - y) ** 2)


def inner_adapt(params, x, y, inner_steps, inner_lr):
    for _ in range(inner_steps):
        g = jax.grad(task_loss)(params, x, y)
        params = jax.tree_util.tree_map(lambda p, gi: p - inner_lr * gi, params, g)
    return params


def maml_loss(params, xs, ys, xq, yq, inner_steps, inner_lr=0.01):
    def one_task(xs, ys, xq, yq):
        adapted = inner_adapt(params, xs, ys, inner_steps, inner_lr)
        return task_loss(adapted, xq, yq)

    return jnp.mean(jax.vmap(one_task)(xs, ys, xq, yq))


@partial(jax.jit, static_argnames=("inner_steps",))
def maml_step(params, xs, ys, xq, yq, inner_steps):
    loss, g = jax.value_and_grad(maml_loss)(params, xs, ys, xq, yq, inner_steps)
    params = jax.tree_util.tree_map(lambda p, gi: p - 1e-3 * gi, params, g)
    return params, loss


def maml_args():
    k = jax.random.key(0)
    params = [
        (jnp.zeros((1, 40)), jnp.zeros(40)),
        (jnp.zeros((40, 40)), jnp.zeros(40)),
        (jnp.zeros((40, 1)), jnp.zeros(1)),
    ]
    xs = jax.random.normal(k, (8, 10, 1))
    return {"params": params, "xs": xs, "ys": xs, "xq": xs, "yq": xs, "inner_steps": 3}
