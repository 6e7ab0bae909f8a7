"""Custom pytrees: a registered class, a registered dataclass, NamedTuples, and a custom_jvp."""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp


@jax.tree_util.register_pytree_node_class
class Linear:
    def __init__(self, w, b, activation="tanh"):
        self.w, self.b, self.activation = w, b, activation

    def tree_flatten(self):
        return (self.w, self.b), self.activation

    @classmethod
    def tree_unflatten(cls, activation, children):
        return cls(*children, activation=activation)

    def __call__(self, x):
        y = x @ self.w + self.b
        return jnp.tanh(y) if self.activation == "tanh" else jax.nn.relu(y)


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Particles:
    position: jax.Array
    velocity: jax.Array
    mass: float = dataclasses.field(metadata=dict(static=True), default=1.0)


class Batch(NamedTuple):
    inputs: jax.Array
    labels: jax.Array


@jax.custom_jvp
def safe_log1pexp(x):
    return jnp.log1p(jnp.exp(x))


@safe_log1pexp.defjvp
def _safe_log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return safe_log1pexp(x), t * jax.nn.sigmoid(x)


@jax.jit
def apply_layers(layers, batch: Batch):
    h = batch.inputs
    for layer in layers:
        h = layer(h)
    loss = jnp.mean(safe_log1pexp(-h[:, 0] * batch.labels))
    return loss, jax.grad(lambda z: safe_log1pexp(z).sum())(h)


@jax.jit
def drift(particles: Particles, dt):
    accel = -particles.position / particles.mass
    return Particles(
        particles.position + dt * particles.velocity,
        particles.velocity + dt * accel,
        particles.mass,
    )


def layers_args():
    f32 = jnp.float32
    layers = [
        Linear(jax.ShapeDtypeStruct((16, 32), f32), jax.ShapeDtypeStruct((32,), f32)),
        Linear(jax.ShapeDtypeStruct((32, 4), f32), jax.ShapeDtypeStruct((4,), f32), "relu"),
    ]
    batch = Batch(jax.ShapeDtypeStruct((8, 16), f32), jax.ShapeDtypeStruct((8,), f32))
    return {"layers": layers, "batch": batch}


def particles_args():
    spec = jax.ShapeDtypeStruct((100, 3), jnp.float32)
    return {"particles": Particles(spec, spec, 2.0), "dt": 0.1}
