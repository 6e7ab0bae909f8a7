"""Iterative solvers: conjugate gradient with fori_loop and while_loop, damped Newton with a
tolerance, a preconditioner chosen by `match` on a static name."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp


def _precondition(a, kind):
    match kind:
        case "none":
            return lambda r: r
        case "jacobi":
            d = jnp.diag(a)
            return lambda r: r / d
        case "ssor" | "ilu":
            lower = jnp.tril(a)
            return lambda r: jax.scipy.linalg.solve_triangular(lower, r, lower=True)
        case _:
            raise ValueError(f"unknown preconditioner {kind!r}")


@partial(jax.jit, static_argnames=("iters", "preconditioner"))
def cg_fixed(a, b, iters=20, preconditioner="jacobi"):
    m = _precondition(a, preconditioner)
    x = jnp.zeros_like(b)
    r = b - a @ x
    z = m(r)
    p = z

    def body(_, state):
        x, r, z, p = state
        ap = a @ p
        alpha = (r @ z) / (p @ ap)
        x = x + alpha * p
        r_new = r - alpha * ap
        z_new = m(r_new)
        beta = (r_new @ z_new) / (r @ z)
        return x, r_new, z_new, z_new + beta * p

    x, *_ = jax.lax.fori_loop(0, iters, body, (x, r, z, p))
    return x


@partial(jax.jit, static_argnames=("max_iters",))
def cg_tol(a, b, tol=1e-6, max_iters=100):
    def cond(state):
        _, r, _, k = state
        return (jnp.linalg.norm(r) > tol * jnp.linalg.norm(b)) & (k < max_iters)

    def body(state):
        x, r, p, k = state
        ap = a @ p
        alpha = (r @ r) / (p @ ap)
        x = x + alpha * p
        r_new = r - alpha * ap
        beta = (r_new @ r_new) / (r @ r)
        return x, r_new, r_new + beta * p, k + 1

    x, _, _, k = jax.lax.while_loop(cond, body, (jnp.zeros_like(b), b, b, 0))
    return x, k


@partial(jax.jit, static_argnames=("damping", "max_iters"))
def newton_minimize(f_params, x0, damping=1e-3, max_iters=20, tol=1e-8):
    """Minimizes the Rosenbrock-like objective parameterized by f_params."""

    def objective(x):
        return jnp.sum(f_params[0] * (x[1:] - x[:-1] ** 2) ** 2 + (f_params[1] - x[:-1]) ** 2)

    grad = jax.grad(objective)
    hess = jax.hessian(objective)

    def cond(state):
        x, it = state
        return (jnp.linalg.norm(grad(x)) > tol) & (it < max_iters)

    def body(state):
        x, it = state
        h = hess(x) + damping * jnp.eye(x.shape[0])
        return x - jnp.linalg.solve(h, grad(x)), it + 1

    return jax.lax.while_loop(cond, body, (x0, 0))


def cg_args():
    return {
        "a": jax.ShapeDtypeStruct((16, 16), jnp.float32),
        "b": jax.ShapeDtypeStruct((16,), jnp.float32),
    }
