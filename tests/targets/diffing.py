"""Targets for the diff tests: functions whose jaxpr a static argument changes (a literal, an
unrolled loop's length, a branch, a reduction axis)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def scaled(x: Any, n: Any) -> Any:
    return x * n


def power(x: Any, n: Any) -> Any:
    y = jnp.ones_like(x)
    for _ in range(n):
        y = y * x
    return y


def maybe_cos(x: Any, flag: Any) -> Any:
    y = jnp.sin(x)
    if flag:
        y = jnp.cos(y)
    return jnp.exp(y)


def summed(x: Any, axis: Any) -> Any:
    return jnp.sum(x, axis=axis) * 2.0


@jax.jit
def eleven_steps(x: Any) -> Any:
    """Longer than 10 equations: JAX prints its jaxpr once, as `let eleven_steps = ...`."""
    for _ in range(11):
        x = x + 1
    return x


def shared(x: Any) -> Any:
    """Calls `relu` twice and `eleven_steps` twice: jaxprs JAX prints once and shares."""
    return jax.nn.relu(x) + jax.nn.relu(x * 2) + eleven_steps(x) + eleven_steps(x * 3)


def many_carries(xs: Any) -> Any:
    """A scan with 14 carries: JAX wraps the binders of its equation onto more lines."""

    def body(c: Any, x: Any) -> Any:
        return tuple(ci * x for ci in c), x

    return jax.lax.scan(body, tuple(jnp.ones(3) for _ in range(14)), xs)
