"""Targets and factories that try to leave the process while jaxexplain runs them."""

import os
import sys

import jax.numpy as jnp


def exits_while_traced(x):
    sys.exit(4)


def os_exits_while_traced(x):
    os._exit(0)


def exits_in_factory():
    sys.exit("no data found")


def scaled(x):
    return 2 * x


def arguments():
    return {"x": jnp.ones(3)}


def slow_to_trace(x):
    import time

    print("tracing", flush=True)
    time.sleep(120)
    return x
