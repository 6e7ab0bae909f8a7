"""Targets of shapes the first real-world pass did not try."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from .layers import dense


def fn(w: jnp.ndarray, x: jnp.ndarray) -> jnp.ndarray:
    """Two dense layers sharing one weight."""
    return dense(w, dense(w, x))


class Model:
    """A hashable model whose apply is jitted with self static."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __hash__(self) -> int:
        return hash(self.scale)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other.scale == self.scale

    @functools.partial(jax.jit, static_argnums=0)
    def apply(self, x: jnp.ndarray) -> jnp.ndarray:
        return jnp.sin(x) * self.scale


@functools.partial(jax.tree_util.register_dataclass, data_fields=["w"], meta_fields=["depth"])
@dataclasses.dataclass
class Mlp:
    """A pytree dataclass: w is traced, depth is static metadata."""

    w: jnp.ndarray
    depth: int

    @jax.jit
    def apply(self, x: jnp.ndarray) -> jnp.ndarray:
        for _ in range(self.depth):
            x = dense(self.w, x)
        return x


def kwonly(x: jnp.ndarray, *, n: int) -> jnp.ndarray:
    """n is keyword-only and meant to be static."""
    for _ in range(n):
        x = jnp.cos(x)
    return x


def varargs(*args: jnp.ndarray, **kwargs: jnp.ndarray) -> jnp.ndarray:
    """Sums everything it is given."""
    total = sum(args)
    for value in kwargs.values():
        total = total + value
    return total


def posonly(x: jnp.ndarray, y: jnp.ndarray, /, n: int = 2) -> jnp.ndarray:
    """x and y are positional-only."""
    return (x + y) * n


partial_kwonly = functools.partial(kwonly, n=3)
jit_partial = jax.jit(functools.partial(kwonly, n=3))

lam = lambda x: jnp.exp(x) + 1  # noqa: E731


def grössе(größe: jnp.ndarray) -> jnp.ndarray:
    """Unicode identifiers and strings: «ünïcödé» ∑."""
    label = "ünïcödé ∑ 🚀"
    δ = jnp.sum(größe) + len(label) + 1.0 + 2.0 + 3.0 + 4.0 + 5.0 + 6.0 + 7.0 + 8.0 + 9.0 + 10.0 + 11.0 + 12.0 + 13.0 + 14.0 + 15.0 + 16.0 + 17.0 + 18.0 + 19.0 + 20.0 + 21.0 + 22.0 + 23.0 + 24.0 + 25.0 + 26.0 + 27.0 + 28.0 + 29.0 + 30.0  # fmt: skip
    return δ * größe


def sharded(x: jnp.ndarray) -> jnp.ndarray:
    """Sums a row-sharded matrix."""
    return jnp.sum(x * 2, axis=0)


def kwonly_args() -> tuple[tuple, dict]:
    """(args, kwargs) with a real jnp array and the static n."""
    return (jnp.ones((4,), jnp.float32),), {"n": 3}


def numpy_args() -> tuple[tuple, dict]:
    """numpy arrays instead of jnp."""
    return (np.ones((4, 4), np.float32), np.ones((2, 4), np.float32)), {}


def model_args() -> dict:
    """A Model instance as self and a traced x."""
    return {"self": Model(2.0), "x": jnp.ones((3,))}


@functools.partial(jax.jit, static_argnames=("n",))
def kwonly_jit(x: jnp.ndarray, *, n: int) -> jnp.ndarray:
    """The decorator names the keyword-only static."""
    return kwonly(x, n=n)


def mlp_args() -> dict:
    """A registered dataclass as self."""
    return {"self": Mlp(jnp.eye(3), 2), "x": jnp.ones((3,))}
