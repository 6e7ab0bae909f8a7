"""A purejaxrl-style PPO update: `make_train(config)` returns the function the script jits, a
closure over the config dict, with an optax optimizer chosen by `config["ANNEAL_LR"]`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

CONFIG = {
    "ANNEAL_LR": True,
    "LR": 2.5e-4,
    "NUM_ENVS": 4,
    "NUM_UPDATES": 8,
    "MAX_GRAD_NORM": 0.5,
    "HIDDEN": 16,
}


def make_train(config: dict[str, Any]) -> Any:
    hidden = config["HIDDEN"]

    def linear_schedule(count: Any) -> Any:
        frac = 1.0 - count / config["NUM_UPDATES"]
        return config["LR"] * frac

    def loss_fn(params: Any, obs: Any) -> Any:
        return jnp.mean(jnp.tanh(obs @ params["w"]) ** 2)

    def train(rng: Any) -> Any:
        rng, init_rng = jax.random.split(rng)
        params = {"w": jax.random.normal(init_rng, (4, hidden))}
        if config["ANNEAL_LR"]:
            tx = optax.chain(
                optax.clip_by_global_norm(config["MAX_GRAD_NORM"]),
                optax.adam(learning_rate=linear_schedule, eps=1e-5),
            )
        else:
            tx = optax.chain(
                optax.clip_by_global_norm(config["MAX_GRAD_NORM"]),
                optax.adam(config["LR"], eps=1e-5),
            )
        opt_state = tx.init(params)

        def update(carry: Any, key: Any) -> tuple[Any, Any]:
            params, opt_state = carry
            obs = jax.random.normal(key, (config["NUM_ENVS"], 4))
            loss, grads = jax.value_and_grad(loss_fn)(params, obs)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        keys = jax.random.split(rng, config["NUM_UPDATES"])
        (params, _), losses = jax.lax.scan(update, (params, opt_state), keys)
        return params, losses

    return train


def train_from_config() -> Any:
    """What the script does before `jax.jit(make_train(config))`, as a function to name."""
    return make_train(CONFIG)


def constant_lr_train() -> Any:
    return make_train({**CONFIG, "ANNEAL_LR": False})


def jitted_train_with_key() -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """The script's `train_jit = jax.jit(make_train(config))` and the key it calls it with."""
    return jax.jit(make_train(CONFIG)), (jax.random.PRNGKey(30),), {}
