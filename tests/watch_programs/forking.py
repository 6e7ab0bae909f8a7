"""Forks a child that runs on to the end of the program, as the parent does: only the parent's
watch report may be written (the child's status is its own)."""

import os

import jax
import jax.numpy as jnp


@jax.jit
def double(x):
    return x * 2


if __name__ == "__main__":
    double(jnp.ones(2))
    pid = os.fork()
    if pid == 0:
        print("child done")
    else:
        _, status = os.waitpid(pid, 0)
        print("parent saw child exit", os.waitstatus_to_exitcode(status))
