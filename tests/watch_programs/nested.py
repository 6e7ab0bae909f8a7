"""Jitted helpers called inside another jit, inside a scan body and under vmap."""

import jax
import jax.numpy as jnp


@jax.jit
def inner(x):
    return jnp.sin(x) + 1.0


@jax.jit
def outer(x):
    def body(carry, _):
        return inner(carry), None

    carry, _ = jax.lax.scan(body, x, None, length=3)
    return inner(carry) * 2.0


if __name__ == "__main__":
    x = jnp.ones(4)
    outer(x)
    outer(x)
    batched = jax.vmap(inner)(jnp.ones((2, 4)))
    print(f"{float(outer(x).sum()):.4f} {float(batched.sum()):.4f}")
