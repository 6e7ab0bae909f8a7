"""optimistix as its docs write it: a Newton root find whose `max_steps` is static, where
`max_steps=None` (no step limit) is a legitimate static value."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optimistix as optx

SOLVER = optx.Newton(rtol=1e-6, atol=1e-6)


def residual(y: Any, args: Any) -> Any:
    a, b = args
    return y**3 + a * y - b


def find_root(a: Any, b: Any, max_steps: int | None) -> Any:
    sol = optx.root_find(residual, SOLVER, jnp.ones_like(a), args=(a, b), max_steps=max_steps)
    return sol.value


def unbounded_root_args() -> dict[str, Any]:
    return {"a": jnp.ones(3), "b": jnp.full(3, 2.0), "max_steps": None}
