"""An optax optimizer built anew every step and passed as a static argument: its functions
compare by identity, so each step is a new cache entry of the same program."""

from functools import partial

import jax
import jax.numpy as jnp
import optax


@partial(jax.jit, static_argnums=(2,))
def step(params, opt_state, tx):
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


STEPS = 3

if __name__ == "__main__":
    params = {"w": jnp.ones(3)}
    opt_state = optax.sgd(0.1).init(params)
    for _ in range(STEPS):
        tx = optax.sgd(0.1)
        params, opt_state = step(params, opt_state, tx)
    print(float(params["w"][0]))
