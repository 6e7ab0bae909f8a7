"""Code checked at run time by jaxtyping and beartype, as their documentation writes it: a
parameter annotated `int` gets a tracer when jit traces the caller with that number."""

# ruff: noqa: F722 (jaxtyping's shape strings, `Float[Array, " n"]`, are no forward references)

from __future__ import annotations

from functools import partial

import jax
from beartype import beartype
from jaxtyping import Array, Float, Key, jaxtyped


@jaxtyped(typechecker=beartype)
def sample_envs(key: Key[Array, ""], num_envs: int) -> Float[Array, "envs 4"]:
    return jax.random.uniform(key, (num_envs, 4))


@jax.jit
def rollout(key, num_envs):
    states = sample_envs(key, num_envs)
    return states.mean(axis=0)


@beartype
def scaled(x: Float[Array, " n"], times: int) -> Float[Array, " n"]:
    return x * times


@jax.jit
def scale_twice(x, factor):
    return scaled(x, 2 * factor)


@jax.jit
@jaxtyped(typechecker=beartype)
def horizon_mean(rewards: Float[Array, " t"], horizon: int) -> Float[Array, ""]:
    return rewards[:horizon].mean()


@jax.jit
def rollout_bound(key, num_envs, horizon):
    sample = partial(sample_envs, num_envs=num_envs)
    return sample(key)[:horizon]


@jax.jit
def rollout_total(key, num_envs):
    return sample_envs(key, num_envs.sum())


def rollout_args():
    return {"key": jax.random.key(0), "num_envs": 8}
