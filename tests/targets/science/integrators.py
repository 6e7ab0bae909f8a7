"""Integrators: leapfrog (Python loop, static step count), RK4 under lax.scan, and a Newton solve."""

from functools import partial

import jax
import jax.numpy as jnp


def potential(q):
    """Pairwise soft-core gravity between particles."""
    diff = q[:, None, :] - q[None, :, :]
    r2 = jnp.sum(diff**2, axis=-1) + 1e-2
    return -0.5 * jnp.sum(jnp.where(jnp.eye(q.shape[0], dtype=bool), 0.0, 1.0 / jnp.sqrt(r2)))


force = jax.grad(lambda q: -potential(q))


@partial(jax.jit, static_argnames=("n_steps",))
def leapfrog(q, p, dt, n_steps):
    p = p + 0.5 * dt * force(q)
    for _ in range(n_steps - 1):
        q = q + dt * p
        p = p + dt * force(q)
    q = q + dt * p
    p = p + 0.5 * dt * force(q)
    return q, p


def energy(q, p):
    return 0.5 * jnp.sum(p**2) + potential(q)


def rk4_step(f, y, t, dt):
    k1 = f(y, t)
    k2 = f(y + dt / 2 * k1, t + dt / 2)
    k3 = f(y + dt / 2 * k2, t + dt / 2)
    k4 = f(y + dt * k3, t + dt)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def lorenz(y, t, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, yy, z = y
    return jnp.stack([sigma * (yy - x), x * (rho - z) - yy, x * yy - beta * z])


@partial(jax.jit, static_argnames=("n_steps",))
def rk4_trajectory(y0, dt, n_steps=100):
    def body(carry, _):
        y, t = carry
        y = rk4_step(lorenz, y, t, dt)
        return (y, t + dt), y

    _, ys = jax.lax.scan(body, (y0, 0.0), None, length=n_steps)
    return ys


@jax.jit
def newton_solve(a, b, x0, tol=1e-6):
    """Solve x**3 + a x = b (elementwise coupled through a) by Newton until converged."""

    def residual(x):
        return x**3 + a @ x - b

    def cond(state):
        _, it, err = state
        return (err > tol) & (it < 50)

    def body(state):
        x, it, _ = state
        jac = jax.jacfwd(residual)(x)
        dx = jnp.linalg.solve(jac, -residual(x))
        return x + dx, it + 1, jnp.linalg.norm(dx)

    x, iters, _ = jax.lax.while_loop(cond, body, (x0, 0, jnp.inf))
    return x, iters


def leapfrog_args():
    state = jax.ShapeDtypeStruct((8, 3), jnp.float32)
    return {"q": state, "p": state, "dt": 0.01, "n_steps": 10}


def newton_args():
    return {
        "a": jax.ShapeDtypeStruct((4, 4), jnp.float32),
        "b": jax.ShapeDtypeStruct((4,), jnp.float32),
        "x0": jax.ShapeDtypeStruct((4,), jnp.float32),
    }
