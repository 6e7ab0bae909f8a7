"""Libraries whose own checks reject a traced number before any tracer error: equinox's loops
under optimistix and diffrax test `type(max_steps) is int` and raise a ValueError."""

from __future__ import annotations

import diffrax
import jax
import optimistix as optx


@jax.jit
def sqrt_two(y0, max_steps):
    solver = optx.Newton(rtol=1e-6, atol=1e-6)
    solution = optx.root_find(lambda y, args: y**2 - 2.0, solver, y0, max_steps=max_steps)
    return solution.value


@jax.jit
def decay(y0, max_steps):
    term = diffrax.ODETerm(lambda t, y, args: -y)
    solution = diffrax.diffeqsolve(
        term,
        diffrax.Bosh3(),
        t0=0.0,
        t1=1.0,
        dt0=0.1,
        y0=y0,
        max_steps=max_steps,
        adjoint=diffrax.DirectAdjoint(),
    )
    return solution.ys
