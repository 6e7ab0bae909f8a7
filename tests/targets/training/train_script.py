"""A small training script to watch: Adam on a linear model, with a classic recompilation bug."""

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Config:
    lr: float = 0.05
    l2: float = 1e-4


def loss_fn(params, x, y, config):
    pred = x @ params["w"] + params["b"]
    l2 = sum(jnp.sum(p**2) for p in jax.tree_util.tree_leaves(params))
    return jnp.mean((pred - y) ** 2) + config.l2 * l2


@partial(jax.jit, static_argnames=("config",), donate_argnums=(0, 1))
def step(params, opt_state, x, y, config):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y, config)
    count, mu, nu = opt_state
    count = count + 1
    mu = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, mu, grads)
    nu = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, nu, grads)
    c1, c2 = 1 - 0.9**count, 1 - 0.999**count
    params = jax.tree_util.tree_map(
        lambda p, m, v: p - config.lr * (m / c1) / (jnp.sqrt(v / c2) + 1e-8), params, mu, nu
    )
    return params, (count, mu, nu), loss


def main():
    key = jax.random.key(0)
    kx, kw = jax.random.split(key)
    x = jax.random.normal(kx, (100, 4))
    y = x @ jax.random.normal(kw, (4,))
    params = {"w": jnp.zeros(4), "b": jnp.zeros(())}
    mu, nu = (jax.tree_util.tree_map(jnp.zeros_like, params) for _ in range(2))
    opt_state = (jnp.zeros((), jnp.int32), mu, nu)
    for epoch in range(3):
        config = Config(lr=0.05 / (epoch + 1))
        for start in range(0, 100, 32):
            xb, yb = x[start : start + 32], y[start : start + 32]
            params, opt_state, loss = step(params, opt_state, xb, yb, config)
        print(f"epoch {epoch} loss {float(loss):.4f}")


if __name__ == "__main__":
    main()
