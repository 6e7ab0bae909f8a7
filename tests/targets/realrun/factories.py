"""Functions that only a factory can name: jitted inside it with its own statics, built by
`functools.partial`, returned with the arguments to call them with; and factories that do not
return a function."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp


def make_step(scale: float) -> Any:
    @functools.partial(jax.jit, static_argnames="n")
    def step(x: Any, n: int) -> Any:
        for _ in range(n):
            x = jnp.sin(x) * scale
        return x

    return step


def jitted_step() -> Any:
    return make_step(2.0)


def normalize(config: dict[str, Any], x: Any) -> Any:
    if config["center"]:
        x = x - x.mean()
    return x / config["scale"]


def partial_normalize() -> Any:
    return functools.partial(normalize, {"center": True, "scale": 3.0})


def step_with_kwargs() -> tuple[Any, dict[str, Any]]:
    return make_step(0.5), {"x": jax.ShapeDtypeStruct((8,), jnp.float32), "n": 2}


def step_with_args() -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    return make_step(0.5), (jnp.ones(3),), {"n": 1}


def not_a_function() -> int:
    return 3


def wrong_pair() -> tuple[Any, int]:
    return normalize, 3


def needs_config(config: dict[str, Any]) -> Any:
    return make_step(config["scale"])
