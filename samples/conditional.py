"""The classic first JAX error: a Python `if` on a traced value.

`jaxexplain trace samples/conditional.py:conditional_double --arg x=f32[8] --static threshold=0.5`
fails: marking `threshold` static does not help, because `x` stays traced, so `x > threshold`
is still a tracer. `where_double` is the working form.
"""

import jax.numpy as jnp


def conditional_double(x, threshold):
    if x > threshold:
        return x * 2
    return x


def where_double(x, threshold):
    return jnp.where(x > threshold, x * 2, x)
