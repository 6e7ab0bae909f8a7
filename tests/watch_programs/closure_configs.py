"""A purejaxrl-style script: `make_train(config)` returns the jitted train step, a closure over
its config; the script builds it twice with the annealing flag flipped, and calls one of them
with a new static step count. Prints each step's own cache size last."""

import jax
import jax.numpy as jnp


def make_train(config):
    def train(x, num_steps):
        if config["ANNEAL_LR"]:
            x = x * 0.5
        for _ in range(num_steps):
            x = jnp.tanh(x)
        return x

    return jax.jit(train, static_argnames="num_steps")


def main():
    annealed = make_train({"ANNEAL_LR": True})
    constant = make_train({"ANNEAL_LR": False})
    x = jnp.ones(4)
    annealed(x, num_steps=2)
    annealed(x, num_steps=2)
    constant(x, num_steps=2)
    annealed(x, num_steps=3)
    print(annealed._cache_size(), constant._cache_size())


if __name__ == "__main__":
    main()
