"""A script that dies in a jitted function: the step count reaches a Python `if` traced."""

import jax
import jax.numpy as jnp


@jax.jit
def rollout(x, num_steps):
    if num_steps > 2:
        x = x + 1.0
    return x * 2.0


if __name__ == "__main__":
    print(rollout(jnp.ones(3), 4))
