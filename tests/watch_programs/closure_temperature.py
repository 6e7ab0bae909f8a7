"""A sampler rebuilt per temperature: a closure over a Python number, jitted anew for each value."""

import jax
import jax.numpy as jnp


def make_sampler(temperature):
    def probabilities(logits):
        return jax.nn.softmax(logits / temperature)

    return jax.jit(probabilities)


if __name__ == "__main__":
    logits = jnp.linspace(-1.0, 1.0, 8)
    for temperature in (0.5, 1.0, 2.0):
        print(f"max probability {float(make_sampler(temperature)(logits).max()):.4f}")
