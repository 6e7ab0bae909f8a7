"""Failing targets for the argument errors: unhashable statics, non-array traced arguments."""

import dataclasses

import jax.numpy as jnp


@dataclasses.dataclass
class Config:
    """eq=True without frozen=True: Python sets __hash__ to None."""

    scale: float = 2.0


class Settings:
    """No __eq__ or __hash__: hashes by identity."""

    def __init__(self, scale):
        self.scale = scale


def scale_by_config(x, cfg):
    return x * cfg.scale


def scale_by_sizes(x, sizes):
    return x * len(sizes)


def scale_by_options(x, options):
    return x * options["scale"]


def scale_by_table(x, table):
    return x * table


def activation_by_name(x, name):
    if name == "relu":
        return jnp.maximum(x, 0)
    return x


class HashedNotEqual:
    """__hash__ over its fields but no __eq__: equal copies are not ==, so they miss the cache."""

    def __init__(self, scale):
        self.scale = scale

    def __hash__(self):
        return hash(self.scale)


@dataclasses.dataclass(frozen=True)
class FrozenConfig:
    """Hashes and compares by its fields: equal copies share one cache entry."""

    scale: float = 2.0
