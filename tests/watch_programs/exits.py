"""Prints its argv and exits with the status it is told, or raises: watch must pass both through."""

import sys

import jax
import jax.numpy as jnp


@jax.jit
def double(x):
    return x * 2


if __name__ == "__main__":
    print("argv", sys.argv[1:], "name", __name__)
    double(jnp.ones(2))
    if sys.argv[1:2] == ["raise"]:
        raise ValueError("the program failed")
    sys.exit(int(sys.argv[1]) if sys.argv[1:] else 0)
