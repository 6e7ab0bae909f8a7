"""Targets for the renderer tests: a loop and a branch on a static, a `cond`, wide jaxpr lines,
a long user line, and text that must be escaped. Marked lines (`# marker: NAME`) are found by
the tests, never numbered by hand."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def loop_and_branch(x: Any, n: int) -> Any:
    y = jnp.ones_like(x)
    for _ in range(n):
        y = y * x  # marker: loop body
    if n > 2:  # the if statement, not an expression, is what the decision recorder sees
        y = y + 1.0  # marker: taken
    else:
        y = y - 1.0  # marker: dead
    return lax.cond(x.sum() > 0, lambda v: v * 2.0, jnp.cos, y)  # marker: cond


def concatenated(x: Any, n: int) -> Any:
    parts = [x * i for i in range(40)]  # one jaxpr line with 41 operands, wider than the pane
    return jnp.concatenate([*parts, jnp.zeros((n,)), jnp.ones((n,)), jnp.zeros((n,))]).sum()


def long_source_line(x: Any, n: int) -> Any:
    # A short jaxpr under a long user line: the hunk header is wider than both columns.
    return x * n + jnp.sin(x) * jnp.cos(x) - jnp.tanh(x) * jnp.exp(-x) / (1.0 + jnp.abs(x)) + 2.0


def hostile(x: Any, label: str) -> Any:
    jax.debug.print("</script><b>{x}</b>", x=x)
    return x * 2.0


class Batch(NamedTuple):
    x: Any
    y: Any


def batch_total(batch: Batch) -> Any:
    return batch.x.sum() + batch.y.sum()


def layered(x: Any, layers: int) -> Any:
    for _ in range(layers):  # marker: layers
        x = _block(x)
    return x


def _block(x: Any) -> Any:
    for _ in range(3):  # marker: block
        x = x * 2.0
    return x


def masked(x: Any, n: int) -> Any:
    mask = []
    for i in range(n):  # marker: mask
        mask.append(float(i % 2))
    return x * np.asarray(mask)
