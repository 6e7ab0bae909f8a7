"""Integrators: unrolled Verlet vs scan, N-body with vmap, adaptive RK, stencils."""

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


def accel(x):
    return -x


@partial(jax.jit, static_argnames=("n_steps", "unroll"))
def verlet(x, v, dt, n_steps, unroll=True):
    a = accel(x)
    if unroll:
        for _ in range(n_steps):
            x = x + v * dt + 0.5 * a * dt**2
            a_new = accel(x)
            v = v + 0.5 * (a + a_new) * dt
            a = a_new
        return x, v

    def step(carry, _):
        x, v, a = carry
        x = x + v * dt + 0.5 * a * dt**2
        a_new = accel(x)
        v = v + 0.5 * (a + a_new) * dt
        return (x, v, a_new), None

    (x, v, _), _ = lax.scan(step, (x, v, a), None, length=n_steps)
    return x, v


def pair_force(xi, xj, eps=1e-3):
    d = xj - xi
    r2 = jnp.sum(d * d) + eps
    return d / r2**1.5


@jax.jit
def nbody_forces(pos, mass):
    f = jax.vmap(lambda xi: jax.vmap(lambda xj, mj: mj * pair_force(xi, xj))(pos, mass).sum(0))(pos)
    return f


def rk_adaptive(y0, t_end, tol=1e-5):
    def f(y):
        return jnp.stack([y[1], -y[0]])

    def cond(state):
        t, _, _, n = state
        return (t < t_end) & (n < 1000)

    def body(state):
        t, y, h, n = state
        k1 = f(y)
        k2 = f(y + h * k1)
        y_euler = y + h * k1
        y_heun = y + 0.5 * h * (k1 + k2)
        err = jnp.max(jnp.abs(y_heun - y_euler))
        accept = err < tol
        t = jnp.where(accept, t + h, t)
        y = jnp.where(accept, y_heun, y)
        h = h * jnp.clip(0.9 * jnp.sqrt(tol / (err + 1e-12)), 0.2, 5.0)
        return t, y, h, n + 1

    return lax.while_loop(cond, body, (0.0, y0, 0.01, 0))


rk_adaptive_jit = jax.jit(rk_adaptive)


@partial(jax.jit, static_argnames=("n_steps",))
def heat_equation(u, alpha, n_steps=10):
    def step(u, _):
        lap = (
            jnp.roll(u, 1, 0) + jnp.roll(u, -1, 0) + jnp.roll(u, 1, 1) + jnp.roll(u, -1, 1) - 4 * u
        )
        return u + alpha * lap, None

    u, _ = lax.scan(step, u, None, length=n_steps)
    return u


def energy(q, p):
    return 0.5 * jnp.sum(p**2) + 0.5 * jnp.sum(q**2)


@partial(jax.jit, static_argnames=("n_steps",))
def symplectic_euler(q, p, dt, n_steps):
    e0 = energy(q, p)
    for _ in range(n_steps):
        p = p - dt * q
        q = q + dt * p
    assert abs(energy(q, p) - e0) < 1e-2, "energy drift"
    return q, p
