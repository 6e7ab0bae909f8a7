"""A new `jax.jit(lambda ...)` made inside the loop: every step compiles a new function."""

import jax
import jax.numpy as jnp

if __name__ == "__main__":
    w = jnp.ones(3)
    for _ in range(3):
        update = jax.jit(lambda w: w * 0.5 + 1.0)
        w = update(w)
    print(f"w {[float(v) for v in w]}")
