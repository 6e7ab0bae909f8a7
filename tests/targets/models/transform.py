"""A Haiku-like transform: a function written against `param(...)` becomes an init/apply pair."""

from __future__ import annotations

import contextlib
import threading
from typing import NamedTuple

import jax
import jax.numpy as jnp

_frame = threading.local()


class Transformed(NamedTuple):
    init: object
    apply: object


def param(name, shape, init=jnp.zeros):
    frame = _frame.current
    full = f"{frame['scope']}/{name}"
    if frame["params"] is None or full not in frame["params"]:
        frame["key"], sub = jax.random.split(frame["key"])
        frame["new"][full] = init(sub, shape) if init is not jnp.zeros else jnp.zeros(shape)
        return frame["new"][full]
    return frame["params"][full]


@contextlib.contextmanager
def scope(name):
    frame = _frame.current
    old = frame["scope"]
    frame["scope"] = f"{old}/{name}" if old else name
    try:
        yield
    finally:
        frame["scope"] = old


def transform(f):
    def init(key, *args, **kwargs):
        _frame.current = {"params": None, "new": {}, "key": key, "scope": ""}
        f(*args, **kwargs)
        return _frame.current["new"]

    def apply(params, *args, **kwargs):
        _frame.current = {"params": params, "new": {}, "key": None, "scope": ""}
        return f(*args, **kwargs)

    return Transformed(init, apply)


def glorot(key, shape):
    return jax.random.normal(key, shape) * jnp.sqrt(2.0 / sum(shape))


def linear(x, out, name):
    with scope(name):
        w = param("w", (x.shape[-1], out), glorot)
        b = param("b", (out,))
    return x @ w + b


def conv_net(images, n_classes=10, depth=3):
    x = images
    for i in range(depth):
        with scope(f"block{i}"):
            k = param("kernel", (3, 3, x.shape[-1], 16 * 2**i), glorot)
            x = jax.lax.conv_general_dilated(
                x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
            x = jax.nn.relu(x)
            if x.shape[1] > 4:
                x = jax.lax.reduce_window(
                    x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"
                )
    x = x.reshape(x.shape[0], -1)
    return linear(x, n_classes, "head")


net = transform(conv_net)
apply = jax.jit(net.apply, static_argnames=("n_classes", "depth"))


def net_args():
    images = jax.ShapeDtypeStruct((4, 16, 16, 3), jnp.float32)
    params = jax.eval_shape(lambda: net.init(jax.random.key(0), jnp.zeros((4, 16, 16, 3))))
    return (params, images), {}


def net_kwargs():
    """What a user would try first: images by name, though apply takes *args."""
    (params, images), _ = net_args()
    return {"params": params, "images": images}


def depth2_args():
    """Parameters for a 2-block net, with depth passed by keyword into `apply`'s **kwargs."""
    images = jax.ShapeDtypeStruct((4, 16, 16, 3), jnp.float32)
    params = jax.eval_shape(lambda: net.init(jax.random.key(0), jnp.zeros((4, 16, 16, 3)), depth=2))
    return (params, images), {"depth": 2}
