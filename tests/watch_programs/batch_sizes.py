"""A loop over 24 batch sizes (some twice, the repeats served by JAX's fast path): each new size
recompiles `predict`; `branchy` decides on the batch size in Python, `regroup` reshapes to a
concrete size, so neither exports with a symbolic batch dimension."""

import jax
import jax.numpy as jnp

SIZES = [3, 5, 8, 11, 16, 21, 27, 34, 40, 47, 55, 64, 72, 81, 89, 96, 100, 110, 120, 128]
SIZES += [7, 13, 60, 90, 3, 16, 64, 128, 5]


@jax.jit
def predict(w, batch):
    return jnp.mean(batch["x"] @ w - batch["y"][:, None], axis=0)


@jax.jit
def branchy(x):
    if x.shape[0] > 10:
        return x.sum()
    return x.mean()


@jax.jit
def regroup(x):
    return jnp.reshape(x, (4, -1)).sum(axis=1)


if __name__ == "__main__":
    w = jnp.ones((6, 3))
    total = jnp.zeros(3)
    for n in SIZES:
        batch = {"x": jnp.full((n, 6), 0.5), "y": jnp.ones(n)}
        total = total + predict(w, batch)
    for n in SIZES:
        if n % 4 == 0:
            x = jnp.ones((n, 3))
            branchy(x)
            regroup(x)
    print(f"total {[round(float(v), 3) for v in total]}")
