"""User code under equinox.filter_jit: a module called inside a Python branch on a traced time
(the failing line a rewrite fixes), and a loss whose Python float is static to equinox."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp


class Drift(eqx.Module):
    mlp: eqx.nn.MLP

    def __init__(self, key: Any) -> None:
        self.mlp = eqx.nn.MLP(3, 2, 8, 1, key=key)

    def __call__(self, t: Any, y: Any) -> Any:
        return self.mlp(jnp.concatenate([y, t[None]]))


@eqx.filter_jit
def drift_with_schedule(model: Drift, t: Any, y: Any) -> Any:
    if t > 0.5:
        scale = 2.0
    else:
        scale = 1.0
    return scale * model(t, y)


def drift_args() -> dict[str, Any]:
    return {"model": Drift(jax.random.PRNGKey(0)), "t": jnp.asarray(0.7), "y": jnp.ones(2)}


@eqx.filter_jit
def eval_loss(x: Any, t1: float) -> Any:
    return jnp.sum(jnp.sin(x)) * t1
