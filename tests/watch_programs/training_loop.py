"""A small training loop with three recompilation bugs at once: a decaying static learning
rate, a partial last batch, and a loss total that starts as a Python float (weakly typed) and
comes back from the step as an array."""

from functools import partial

import jax
import jax.numpy as jnp


@partial(jax.jit, static_argnames=("lr",))
def train_step(params, batch, total, lr):
    def loss(params):
        pred = batch["x"] @ params["w"] + params["b"]
        return jnp.mean((pred - batch["y"]) ** 2)

    value, grads = jax.value_and_grad(loss)(params)
    params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, total + value


def batches(x, y, size):
    for start in range(0, len(x), size):
        yield {"x": x[start : start + size], "y": y[start : start + size]}


if __name__ == "__main__":
    x = jnp.linspace(0.0, 1.0, 60).reshape(20, 3)
    y = x.sum(axis=1)
    params = {"w": jnp.zeros(3), "b": jnp.zeros(())}
    for epoch in range(2):
        total = 0.0
        for batch in batches(x, y, 8):
            params, total = train_step(params, batch, total, lr=0.1 / (1 + epoch))
        print(f"epoch {epoch}: loss {float(total):.4f}")
