"""A training step that prints its loss with jax.debug.print: a host callback in the program,
so JAX keeps every call off its C++ fast path (each one runs the Python dispatch)."""

import jax
import jax.numpy as jnp


@jax.jit
def step(w):
    loss = jnp.sum(w**2)
    jax.debug.print("loss {loss}", loss=loss)
    return w * 0.9


STEPS = 6

if __name__ == "__main__":
    w = jnp.ones(3)
    for _ in range(STEPS):
        w = step(w)
    print(f"w {[float(v) for v in w]}")
