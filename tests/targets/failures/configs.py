"""A configuration dict passed to the jitted function as an argument, written the way
purejaxrl-style code reads its config (`config["NUM_ENVS"]`, `if config["ANNEAL_LR"]`): jit
traces every number in it."""

from __future__ import annotations

import jax


@jax.jit
def reset_envs(key, config):
    return jax.random.split(key, config["NUM_ENVS"])


@jax.jit
def learning_rate(step, config):
    if config["ANNEAL_LR"]:
        return config["LR"] * (1.0 - step / config["NUM_UPDATES"])
    return config["LR"]


def config():
    return {"NUM_ENVS": 4, "ANNEAL_LR": True, "LR": 2.5e-4, "NUM_UPDATES": 100}


def reset_args():
    return {"key": jax.random.key(0), "config": config()}
