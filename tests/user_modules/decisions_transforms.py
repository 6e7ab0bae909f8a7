"""Helpers reached through JAX transformations, and loops over literal displays, traced by
tests/test_decisions.py; `# D:name` marks each decision's line."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


def forward(params, x):
    """A model whose depth is the length of a list in the traced parameters."""
    for layer in params["layers"]:  # D:t_forward
        x = jnp.tanh(x @ layer)
    return x


def checkpointed(params, x):
    """A training step's forward pass under rematerialization."""
    return jax.checkpoint(forward)(params, x)


def per_example(params, x, scale):
    """One example's loss: what it decides on is the traced params, x and the static scale."""
    if len(params["layers"]) > 1:  # D:t_vmap_len
        x = x * 2
    if x.ndim == 1:  # D:t_vmap_ndim
        x = x[None]
    if scale > 1:  # D:t_vmap_scale
        x = x * scale
    return forward(params, x).sum()


def vmapped(params, x, n):
    """A vmapped, partially applied helper bound to a local variable, then called."""
    loss = jax.vmap(partial(per_example, scale=n), in_axes=(None, 0))
    return loss(params, x)


def remat_vmapped(params, x, n, remat):
    """The wrapper chosen at run time: either binding of `fn` maps the same arguments."""
    fn = per_example
    if remat:  # D:t_remat
        fn = jax.checkpoint(per_example, static_argnums=(2,))
    return jax.vmap(fn, in_axes=(None, 0, None))(params, x, n)


def scanned(params, xs):
    """A scan whose carry is the parameter tree and whose rows come from xs."""

    def body(carry, row):
        for layer in carry["layers"]:  # D:t_scan_carry
            row = row @ layer
        if row.dtype == jnp.float32:  # D:t_scan_row
            row = row * 2
        return carry, row

    return lax.scan(body, params, xs)[1]


def looped(params, x):
    """fori_loop, while_loop and cond operands reach their functions' parameters."""

    def body(i, state):
        return {"layers": [w * 2 for w in state["layers"]]}  # D:t_fori

    def keep_going(state):
        return sum(w.sum() for w in state["layers"]) < 10  # D:t_while

    def grow(state):
        return {"layers": [w * 2 for w in state["layers"]]}  # D:t_while_body

    def positive(p, v):
        return sum(v @ w for w in p["layers"])  # D:t_cond_true

    def negative(p, v):
        return v

    params = lax.fori_loop(0, 2, body, params)
    params = lax.while_loop(keep_going, grow, params)
    return lax.cond(x.sum() > 0, positive, negative, params, x)


HELPERS = {"forward": forward}


def unknown_helper(params, x, train):
    """Called through a dictionary, so the recorder cannot map its parameters."""
    for layer in params["layers"]:  # D:t_unknown_loop
        x = x @ layer
    if x.dtype == jnp.float32:  # D:t_unknown_dtype
        x = x * 2
    if train:  # D:t_unknown_plain
        x = x + 1
    return x


def through_a_table(params, x):
    """The helper is looked up at run time: its origin is unknown."""
    table = {"helper": unknown_helper}
    return jax.vmap(table["helper"], in_axes=(None, 0, None))(params, x, True)


def displays(x, w, xs):
    """Loops over literal tuple and list displays: their length is written in the source."""
    q, k = x @ w, x.T
    total = sum(t.sum() for t in (q, k, x))  # D:d_genexpr
    for a in [q, k]:  # D:d_list
        total = total + a.sum()
    for i, b in enumerate((q, k)):  # D:d_enumerate
        total = total + i * b.sum()
    for c, d in zip((q, k), xs, strict=True):  # D:d_zip
        total = total + c.sum() * d.sum()
    for e in (*xs, x):  # D:d_starred
        total = total + e.sum()
    for f in (q, k):  # D:d_elements
        for row in f:  # D:d_rows
            total = total + row.sum()
    return total
