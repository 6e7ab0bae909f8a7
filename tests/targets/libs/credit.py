"""User code that calls into optax, flax.linen, equinox and numpyro, and plain JAX with nested
jaxprs: the equations those libraries (and JAX's own jitted helpers) make are credited to the
user's line that made the call."""

from __future__ import annotations

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
import optax
from numpyro import handlers
from numpyro.infer.util import initialize_model

optimizer = optax.adam(1e-3)


def _loss(params: dict, x: jax.Array) -> jax.Array:
    return jnp.sum((x @ params["w"]) ** 2)


def optax_step(params: dict, opt_state: optax.OptState, x: jax.Array) -> tuple:
    """One training step whose update is optax's adam."""
    grads = jax.grad(_loss)(params, x)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return params, opt_state


def optax_args() -> dict:
    params = {"w": jnp.zeros((3, 2))}
    return {"params": params, "opt_state": optimizer.init(params), "x": jnp.ones((4, 3))}


class TwoLayers(nn.Module):
    """A user module whose `__call__` calls flax's Dense twice."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.Dense(8)(x)
        h = jnp.tanh(h)
        return nn.Dense(2)(h)


def flax_forward(params: dict, x: jax.Array) -> jax.Array:
    """The forward pass of a user's flax.linen module."""
    return TwoLayers().apply(params, x)


def flax_args() -> dict:
    x = jnp.ones((4, 3))
    return {"params": TwoLayers().init(jax.random.key(0), x), "x": x}


@eqx.filter_jit
def equinox_forward(model: eqx.nn.MLP, x: jax.Array) -> jax.Array:
    """An equinox MLP applied to one example, jitted as equinox users do."""
    y = model(x)
    return jnp.sum(y)


def equinox_args() -> dict:
    model = eqx.nn.MLP(3, 2, width_size=8, depth=2, key=jax.random.key(0))
    return {"model": model, "x": jnp.ones(3)}


def flax_width_forward(x: jax.Array, width: int) -> jax.Array:
    """A flax Dense whose width is a static: a diff changes the equations flax makes."""
    dense = nn.Dense(width)
    params = dense.init(jax.random.key(0), x)
    return dense.apply(params, x)


@jax.jit
def _shared(x: jax.Array) -> jax.Array:
    """A jitted helper called on three lines: JAX prints its jaxpr once."""
    return jnp.sin(x) * 2.0


def scan_and_shared(xs: jax.Array, key: jax.Array) -> jax.Array:
    """A scan whose body calls the shared helper, the helper twice more, and jax.random (whose
    jitted `_uniform` body has no user frame on its stack)."""

    def body(carry: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        carry = carry + _shared(x)
        return carry, carry * 2.0

    total, ys = jax.lax.scan(body, jnp.zeros(()), xs)
    noise = jax.random.uniform(key, ())
    return _shared(total) + _shared(noise) + ys.sum()


def scan_args() -> dict:
    return {"xs": jnp.ones(5), "key": jax.random.key(0)}


def numpyro_model(x: jax.Array, y: jax.Array | None = None) -> None:
    """A numpyro regression: numpyro makes its equations inside `sample`."""
    w = numpyro.sample("w", dist.Normal(0.0, 1.0).expand([x.shape[1]]))
    b = numpyro.sample("b", dist.Normal(0.0, 1.0))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    with numpyro.plate("data", x.shape[0]):
        numpyro.sample("obs", dist.Normal(x @ w + b, sigma), obs=y)


def numpyro_potential(key: jax.Array, x: jax.Array, y: jax.Array, params: dict) -> jax.Array:
    """numpyro's potential energy: its initialization runs the model inside a while_loop body
    whose equations JAX records without the user's frames."""
    init = initialize_model(key, numpyro_model, model_args=(x, y))
    return init.potential_fn(params)


def numpyro_args() -> dict:
    params = {"w": jnp.zeros(3), "b": jnp.zeros(()), "sigma": jnp.zeros(())}
    return {"key": jax.random.key(0), "x": jnp.ones((8, 3)), "y": jnp.ones(8), "params": params}


def numpyro_log_joint(key: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """A seeded trace's log density: a long line whose decisions make a long note."""
    tr = handlers.trace(handlers.seed(numpyro_model, key)).get_trace(x, y)
    return sum(
        site["fn"].log_prob(site["value"]).sum() for site in tr.values() if site["type"] == "sample"
    )


def log_joint_args() -> dict:
    return {"key": jax.random.key(0), "x": jnp.ones((8, 3)), "y": jnp.ones(8)}
