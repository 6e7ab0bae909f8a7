"""Optimizers written as classes and update rules over nested dicts."""

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Lion:
    lr: float = 1e-4
    b1: float = 0.9
    b2: float = 0.99
    weight_decay: float = 0.0

    def init(self, params):
        return jax.tree_util.tree_map(jnp.zeros_like, params)

    def update(self, grads, mu, params):
        def one(g, m, p):
            c = self.b1 * m + (1 - self.b1) * g
            u = jnp.sign(c)
            if self.weight_decay > 0 and p.ndim > 1:
                u = u + self.weight_decay * p
            return p - self.lr * u, self.b2 * m + (1 - self.b2) * g

        out = jax.tree_util.tree_map(one, grads, mu, params)
        new_params = jax.tree_util.tree_map(
            lambda t: t[0], out, is_leaf=lambda t: isinstance(t, tuple)
        )
        new_mu = jax.tree_util.tree_map(lambda t: t[1], out, is_leaf=lambda t: isinstance(t, tuple))
        return new_params, new_mu


@partial(jax.jit, static_argnames=("opt",))
def lion_step(params, mu, grads, opt: Lion):
    return opt.update(grads, mu, params)


def adafactor_update(grads, state, step, lr=1e-2, eps=1e-30, decay=0.8):
    """Adafactor-like: factored second moments for matrices, full for vectors."""
    beta = 1.0 - (step + 1.0) ** (-decay)
    new_state = {}
    updates = {}
    for name, g in grads.items():
        s = state[name]
        if g.ndim >= 2:
            r = beta * s["row"] + (1 - beta) * jnp.mean(g * g + eps, axis=-1)
            c = beta * s["col"] + (1 - beta) * jnp.mean(g * g + eps, axis=-2)
            v = r[..., None] * c[..., None, :] / jnp.mean(r, axis=-1, keepdims=True)[..., None]
            new_state[name] = {"row": r, "col": c}
        else:
            v = beta * s["v"] + (1 - beta) * (g * g + eps)
            new_state[name] = {"v": v}
        updates[name] = -lr * g / jnp.sqrt(v)
    return updates, new_state


adafactor_step = jax.jit(adafactor_update)


def adafactor_args():
    grads = {"w1": jnp.zeros((8, 16)), "b1": jnp.zeros((16,)), "w2": jnp.zeros((16, 4))}
    state = {
        "w1": {"row": jnp.zeros((8,)), "col": jnp.zeros((16,))},
        "b1": {"v": jnp.zeros((16,))},
        "w2": {"row": jnp.zeros((16,)), "col": jnp.zeros((4,))},
    }
    return {"grads": grads, "state": state, "step": jnp.zeros((), jnp.int32)}


def lion_args():
    params = {
        "dense": {"w": jnp.zeros((4, 8)), "b": jnp.zeros((8,))},
        "out": {"w": jnp.zeros((8, 2))},
    }
    return {
        "params": params,
        "mu": jax.tree_util.tree_map(jnp.zeros_like, params),
        "grads": jax.tree_util.tree_map(jnp.zeros_like, params),
        "opt": Lion(weight_decay=0.1),
    }


def cosine_lr(step, total, base=1e-3, warmup=10):
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + jnp.cos(jnp.pi * (step - warmup) / (total - warmup)))


@partial(jax.jit, static_argnames=("step", "total"))
def sgd_with_schedule(params, grads, step, total=100):
    lr = cosine_lr(step, total)
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)


@partial(jax.jit, static_argnames=("n_micro",))
def accumulate_grads(params, xs, ys, n_micro):
    def loss(p, x, y):
        return jnp.mean((x @ p["w"] + p["b"] - y) ** 2)

    mb = xs.shape[0] // n_micro

    def body(i, acc):
        x = jax.lax.dynamic_slice_in_dim(xs, i * mb, mb)
        y = jax.lax.dynamic_slice_in_dim(ys, i * mb, mb)
        g = jax.grad(loss)(params, x, y)
        return jax.tree_util.tree_map(jnp.add, acc, g)

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    total = jax.lax.fori_loop(0, n_micro, body, zeros)
    return jax.tree_util.tree_map(lambda g: g / n_micro, total)


def accumulate_args():
    return {
        "params": {"w": jnp.zeros((6, 3)), "b": jnp.zeros((3,))},
        "xs": jnp.zeros((32, 6)),
        "ys": jnp.zeros((32, 3)),
    }


def shampoo_precondition(grads, stats, eps=1e-6, max_dim=64):
    out = {}
    for k, g in grads.items():
        if g.ndim == 2 and max(g.shape) <= max_dim:
            lhs = stats[k]["l"] + g @ g.T
            r = stats[k]["r"] + g.T @ g
            li = jnp.linalg.inv(lhs + eps * jnp.eye(lhs.shape[0]))
            ri = jnp.linalg.inv(r + eps * jnp.eye(r.shape[0]))
            out[k] = li @ g @ ri
        else:
            out[k] = g
    return out


shampoo_step = jax.jit(shampoo_precondition, static_argnames=("max_dim",))


def shampoo_args():
    grads = {"w": jnp.zeros((4, 6)), "emb": jnp.zeros((100, 4)), "b": jnp.zeros((6,))}
    stats = {"w": {"l": jnp.zeros((4, 4)), "r": jnp.zeros((6, 6))}, "emb": {}, "b": {}}
    return {"grads": grads, "stats": stats}
