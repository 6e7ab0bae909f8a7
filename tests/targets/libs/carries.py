"""User code that passes its arguments through loop carries (`lax.scan`, `fori_loop`,
`while_loop`): a carry is traced whatever the argument was, so a Python loop over a carried
count fails, and the fix is to read the count from the enclosing function instead."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def repeat_in_scan(xs: jax.Array, reps: int) -> jax.Array:
    """`reps` passes through the scan carry: the loop's length is the carry's slot 1."""

    def body(carry: tuple[jax.Array, int], x: jax.Array) -> tuple[tuple[jax.Array, int], None]:
        total = carry[0]
        for _ in range(carry[1]):
            total = total + x
        return (total, carry[1]), None

    (total, _), _ = jax.lax.scan(body, (jnp.zeros(xs.shape[1:]), reps), xs)
    return total


def repeat_in_fori(x: jax.Array, reps: int) -> jax.Array:
    """`reps` in a `fori_loop` carry, unpacked: `n` is the carry's slot 1."""

    def body(i: int, carry: tuple[jax.Array, int]) -> tuple[jax.Array, int]:
        total, n = carry
        for _ in range(n):
            total = total * 2.0
        return total, n

    return jax.lax.fori_loop(0, 2, body, (x, reps))[0]


def repeat_in_while(x: jax.Array, reps: int) -> jax.Array:
    """`reps` in a `while_loop` carry, read by the body."""

    def cond(carry: tuple[jax.Array, int, jax.Array]) -> jax.Array:
        return carry[2] < 3

    def body(carry: tuple[jax.Array, int, jax.Array]) -> tuple[jax.Array, int, jax.Array]:
        total, n, i = carry
        for _ in range(n):
            total = total + 1.0
        return total, n, i + 1

    return jax.lax.while_loop(cond, body, (x, reps, jnp.int32(0)))[0]


def countdown_in_scan(xs: jax.Array, reps: int) -> jax.Array:
    """The carried count changes each step: reading `reps` instead gives other values."""

    def body(carry: tuple[jax.Array, int], x: jax.Array) -> tuple[tuple[jax.Array, int], None]:
        total = carry[0]
        for _ in range(carry[1]):
            total = total + x
        return (total, carry[1] - 1), None

    (total, _), _ = jax.lax.scan(body, (jnp.zeros(xs.shape[1:]), reps), xs)
    return total


def _module_body(carry: tuple[jax.Array, int], x: jax.Array) -> tuple[tuple[jax.Array, int], None]:
    total = carry[0]
    for _ in range(carry[1]):
        total = total + x
    return (total, carry[1]), None


def repeat_with_module_body(xs: jax.Array, reps: int) -> jax.Array:
    """The body is defined at module level: it cannot read `reps` by closure as it stands."""
    (total, _), _ = jax.lax.scan(_module_body, (jnp.zeros(xs.shape[1:]), reps), xs)
    return total
