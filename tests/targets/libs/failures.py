"""User code whose trace fails inside a library: a traced Python number reaches a line of
diffrax/equinox, flax.linen or jax.nn that needs it concrete, or a library's own check rejects
it; and two where no static choice helps (the library's own traced time, array data)."""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp


def decay(t: Any, y: Any, args: Any) -> Any:
    return -y


def solve(y0: Any, t1: float, max_steps: int) -> Any:
    term = diffrax.ODETerm(decay)
    solution = diffrax.diffeqsolve(
        term, diffrax.Tsit5(), t0=0.0, t1=t1, dt0=0.1, y0=y0, max_steps=max_steps
    )
    return solution.ys


def solve_args() -> dict[str, Any]:
    return {"y0": jnp.ones(3), "t1": 1.0, "max_steps": 16}


class Attention(nn.Module):
    num_heads: int

    @nn.compact
    def __call__(self, h: Any) -> Any:
        return nn.MultiHeadDotProductAttention(num_heads=self.num_heads)(h, deterministic=True)


def attend(h: Any, num_heads: int) -> Any:
    model = Attention(num_heads=num_heads)
    params = model.init(jax.random.key(0), h)
    return model.apply(params, h)


def attend_args() -> dict[str, Any]:
    return {"h": jnp.ones((2, 4, 8)), "num_heads": 2}


def one_hot_labels(labels: Any, num_classes: int) -> Any:
    return jax.nn.one_hot(labels, num_classes)


def one_hot_args() -> dict[str, Any]:
    return {"labels": jnp.arange(4), "num_classes": 5}


def split_keys(key: Any, num: int) -> Any:
    return jax.random.split(key, num)


def split_args() -> dict[str, Any]:
    return {"key": jax.random.key(0), "num": 3}


def group_norm(x: Any, num_groups: int) -> Any:
    return nn.GroupNorm(num_groups=num_groups).init_with_output(jax.random.key(0), x)[0]


def group_norm_args() -> dict[str, Any]:
    return {"x": jnp.ones((2, 4)), "num_groups": 2}


def mlp(x: Any, depth: int) -> Any:
    model = eqx.nn.MLP(2, 2, 4, depth, key=jax.random.key(0))
    return model(x)


def mlp_args() -> dict[str, Any]:
    return {"x": jnp.ones(2), "depth": 2}


def switching_field(t: Any, y: Any, args: Any) -> Any:
    if t < 0.5:
        return -y
    return y


def switching_solve(y0: Any, t0: float, t1: float, dt0: float) -> Any:
    term = diffrax.ODETerm(switching_field)
    solution = diffrax.diffeqsolve(
        term, diffrax.Euler(), t0=t0, t1=t1, dt0=dt0, y0=y0, max_steps=16
    )
    return solution.ys


def switching_solve_args() -> dict[str, Any]:
    return {"y0": jnp.ones(3), "t0": 0.0, "t1": 1.0, "dt0": 0.1}


def counted_one_hot(labels: Any, counts: Any) -> Any:
    return jax.nn.one_hot(labels, counts.sum())


def counted_one_hot_args() -> dict[str, Any]:
    return {"labels": jnp.arange(4), "counts": jnp.ones(3, dtype=jnp.int32)}
