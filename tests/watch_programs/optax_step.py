"""A jitted step that scans a helper and calls optax, whose nested jits pass through watch's
hooks while an explanation traces it."""

import jax
import jax.numpy as jnp
import optax

tx = optax.adam(1e-3)


def layer(x):
    return jnp.tanh(x) * 2.0


def body(c, _):
    c = layer(c)
    return c, None


@jax.jit
def step(x, opt_state):
    y, _ = jax.lax.scan(body, x, None, length=3)
    updates, opt_state = tx.update(y, opt_state)
    return optax.apply_updates(x, updates), opt_state


if __name__ == "__main__":
    x = jnp.ones(3)
    print(step(x, tx.init(x))[0])
