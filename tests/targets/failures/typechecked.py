"""Code checked at run time by jaxtyping and beartype, as their documentation writes it: a
parameter annotated `int` gets a tracer when jit traces the caller with that number."""

# ruff: noqa: F722 (jaxtyping's shape strings, `Float[Array, " n"]`, are no forward references)

from __future__ import annotations

from functools import partial

import equinox as eqx
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


class Policy(eqx.Module):
    weight: Float[Array, "actions obs"]

    @jaxtyped(typechecker=beartype)
    def sample(self, key: Key[Array, ""], obs: Float[Array, " obs"], count: int):
        logits = self.weight @ obs
        return jax.random.categorical(key, logits, shape=(count,))


@jax.jit
def act(policy, key, obs, num_actions):
    return policy.sample(key, obs, num_actions)


def act_args():
    return {
        "policy": Policy(jax.numpy.ones((3, 5))),
        "key": jax.random.key(0),
        "obs": jax.numpy.ones(5),
        "num_actions": 2,
    }
