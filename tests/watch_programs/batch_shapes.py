"""Batches cut from a data set of 21 rows: 8, 8, then a partial batch of 5 recompiles."""

import jax
import jax.numpy as jnp


@jax.jit
def step(w, batch):
    x, y = batch["x"], batch["y"]
    grad = jax.grad(lambda w: jnp.mean((x @ w - y) ** 2))(w)
    return w - 0.1 * grad


if __name__ == "__main__":
    data_x, data_y = jnp.ones((21, 3)), jnp.ones(21)
    w = jnp.zeros(3)
    for start in range(0, 21, 8):
        w = step(w, {"x": data_x[start : start + 8], "y": data_y[start : start + 8]})
    print(f"w {[round(float(v), 4) for v in w]}")
