"""RL rollout: lax.scan over an env step with lax.switch on a traced action, a static env config."""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp


class EnvConfig(NamedTuple):
    n_actions: int = 3
    discrete: bool = True
    max_speed: float = 2.0
    horizon: int = 16


def env_step(cfg, state, action):
    pos, vel = state
    if cfg.discrete:
        branches = [lambda v: v - 0.1, lambda v: v, lambda v: v + 0.1][: cfg.n_actions]
        vel = jax.lax.switch(action, branches, vel)
    else:
        vel = vel + 0.1 * action
    vel = jnp.clip(vel, -cfg.max_speed, cfg.max_speed)
    pos = pos + vel
    done = jax.lax.cond(jnp.abs(pos) > 10.0, lambda: True, lambda: False)
    reward = jnp.where(done, -1.0, -jnp.abs(pos) * 0.01)
    return (pos, vel), reward, done


def policy(params, state):
    obs = jnp.stack(state)
    logits = obs @ params["w"] + params["b"]
    return logits


@partial(jax.jit, static_argnames=("cfg",))
def rollout(params, key, cfg):
    def step(carry, key):
        state = carry
        logits = policy(params, state)
        action = jax.random.categorical(key, logits)
        state, reward, done = env_step(cfg, state, action)
        return state, (reward, done)

    keys = jax.random.split(key, cfg.horizon)
    init = (jnp.zeros(()), jnp.zeros(()))
    _, (rewards, dones) = jax.lax.scan(step, init, keys)
    return rewards.sum(), dones.any()


def rollout_args():
    return {
        "params": {"w": jnp.zeros((2, 3)), "b": jnp.zeros(3)},
        "key": jax.random.key(0),
        "cfg": EnvConfig(),
    }
