"""distrax: a normalizing flow's log_prob, and sampling with a static sample count. The locals
of distrax's `MultivariateNormalDiag.__init__` (`loc`, `scale_diag`) read each other through
every aspect, which made following its tests back to the user's arguments exponential."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

with warnings.catch_warnings():  # distrax's TFP backend uses a deprecated jax.core name
    warnings.simplefilter("ignore", DeprecationWarning)
    import distrax


def make_flow(shift: jax.Array, log_scale: jax.Array) -> distrax.Transformed:
    base = distrax.MultivariateNormalDiag(jnp.zeros(2), jnp.ones(2))
    bijector = distrax.Chain(
        [
            distrax.Block(distrax.ScalarAffine(shift=shift, log_scale=log_scale), ndims=1),
            distrax.Block(distrax.Tanh(), ndims=1),
        ]
    )
    return distrax.Transformed(base, bijector)


def flow_log_prob(params: dict, x: jax.Array) -> jax.Array:
    flow = make_flow(params["shift"], params["log_scale"])
    return flow.log_prob(x).mean()


def flow_args() -> dict:
    params = {"shift": jnp.zeros(2), "log_scale": jnp.zeros(2)}
    return {"params": params, "x": jnp.full((16, 2), 0.1)}


def sample_flow(params: dict, key: jax.Array, num_samples: int) -> tuple[jax.Array, jax.Array]:
    flow = make_flow(params["shift"], params["log_scale"])
    return flow.sample_and_log_prob(seed=key, sample_shape=(num_samples,))


def sample_args() -> dict:
    return {"params": flow_args()["params"], "key": jax.random.key(0), "num_samples": 32}
