"""Prints its argv and exits with the status it is told (with `os_exit N`, through os._exit), or
raises: watch must pass each through."""

import os
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
    if sys.argv[1:2] == ["os_exit"]:
        os._exit(int(sys.argv[2]))
    sys.exit(int(sys.argv[1]) if sys.argv[1:] else 0)
