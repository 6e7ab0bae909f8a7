"""An MCMC run whose step size starts as a Python float and is then adapted into an array:
the second call recompiles (weak type), every later one reuses that entry."""

import jax
import jax.numpy as jnp


@jax.jit
def mala_step(key, x, step_size):
    grad = jax.grad(lambda v: -0.5 * jnp.sum(v**2))(x)
    noise = jax.random.normal(key, x.shape)
    return x + step_size * grad + jnp.sqrt(2 * step_size) * noise


def main():
    key = jax.random.key(0)
    x = jnp.zeros(3)
    step_size = 0.1
    for _ in range(5):
        key, sub = jax.random.split(key)
        x = mala_step(sub, x, step_size)
        step_size = step_size * jnp.float32(0.99)
    print("cache size", mala_step._cache_size())


if __name__ == "__main__":
    main()
