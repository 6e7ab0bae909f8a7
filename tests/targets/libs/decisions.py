"""User code written against haiku, flax, diffrax and equinox whose Python decisions test the
target's static arguments after they passed through library frames."""

from __future__ import annotations

import diffrax
import equinox as eqx
import flax.linen as nn
import haiku as hk
import jax
import jax.numpy as jnp


def _haiku_forward(x: jax.Array, is_training: bool) -> jax.Array:
    h = hk.Linear(4)(x)
    if is_training:
        h = h * 0.5
    return h


haiku_model = hk.transform(_haiku_forward)


def haiku_step(params: dict, x: jax.Array, is_training: bool) -> jax.Array:
    """`is_training` reaches `_haiku_forward` through haiku's `apply`."""
    return haiku_model.apply(params, None, x, is_training=is_training)


def haiku_params() -> dict:
    return {"params": haiku_model.init(jax.random.key(0), jnp.zeros((2, 3)), is_training=True)}


class Block(nn.Module):
    act: str = "relu"
    train: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.Dense(4)(x)
        if self.act == "gelu":
            h = nn.gelu(h)
        else:
            h = nn.relu(h)
        return nn.Dropout(0.5, deterministic=not self.train)(h, rng=jax.random.key(1))


def flax_step(params: dict, x: jax.Array, act: str, train: bool) -> jax.Array:
    """`self.act` and `self.train` are fields set from the target's statics."""
    return Block(act=act, train=train).apply(params, x)


def flax_params() -> dict:
    return {"params": Block().init(jax.random.key(0), jnp.zeros((2, 3)))}


class Config:
    """A static configuration object handed to the model whole."""

    def __init__(self, act: str) -> None:
        self.act = act


class ConfiguredBlock(nn.Module):
    config: Config

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.Dense(4)(x)
        if self.config.act == "gelu":
            return nn.gelu(h)
        return nn.relu(h)


def flax_config_step(params: dict, x: jax.Array, model: ConfiguredBlock) -> jax.Array:
    """The static is the module itself: its field `config.act` decides."""
    return model.apply(params, x)


def flax_config_params() -> dict:
    return {"params": ConfiguredBlock(Config("relu")).init(jax.random.key(0), jnp.zeros((2, 3)))}


class Cell(nn.Module):
    residual: bool

    @nn.compact
    def __call__(self, carry: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = nn.Dense(3)(carry) + x
        if self.residual:
            h = h + carry
        return h, h


ScanCell = nn.scan(
    Cell, variable_broadcast="params", split_rngs={"params": False}, in_axes=0, out_axes=0
)


def flax_scan_step(params: dict, carry: jax.Array, xs: jax.Array, residual: bool) -> jax.Array:
    """`nn.scan` runs `Cell.__call__` with `self.residual` set from the target's static."""
    return ScanCell(residual=residual).apply(params, carry, xs)[0]


def flax_scan_params() -> dict:
    carry, xs = jnp.zeros((2, 3)), jnp.zeros((5, 2, 3))
    return {"params": ScanCell(residual=True).init(jax.random.key(0), carry, xs)}


def _vector_field(t: jax.Array, y: jax.Array, args: None) -> jax.Array:
    return -y


def diffrax_solve(y0: jax.Array, adaptive: bool, solver: str) -> jax.Array:
    """`dt0` is set inside a branch on `adaptive`; the solver is chosen apart from it."""
    if adaptive:
        dt0 = None
        controller = diffrax.PIDController(rtol=1e-3, atol=1e-6)
    else:
        dt0 = 0.1
        controller = diffrax.ConstantStepSize()
    method = diffrax.Tsit5() if solver == "tsit5" else diffrax.Heun()
    if dt0 is None:
        dt0 = 0.05
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(_vector_field),
        method,
        t0=0.0,
        t1=1.0,
        dt0=dt0,
        y0=y0,
        stepsize_controller=controller,
        max_steps=16,
    )
    return solution.ys


class Gate(eqx.Module):
    weight: jax.Array
    use_bias: bool = eqx.field(static=True)

    def __call__(self, x: jax.Array) -> jax.Array:
        if self.use_bias:
            return self.weight * x + 1.0
        return self.weight * x


def equinox_step(gate: Gate, x: jax.Array) -> jax.Array:
    """`use_bias` is a static field of a traced equinox module."""
    return eqx.filter_vmap(gate)(x)


def repeat_in_scan(xs: jax.Array, reps: int) -> jax.Array:
    """`reps` passes through the scan carry: the loop's length is the carry's slot 1."""

    def body(carry: tuple[jax.Array, int], x: jax.Array) -> tuple[tuple[jax.Array, int], None]:
        total = carry[0]
        for _ in range(carry[1]):
            total = total + x
        return (total, carry[1]), None

    (total, _), _ = jax.lax.scan(body, (jnp.zeros(xs.shape[1:]), reps), xs)
    return total


def repeat_in_fori(x: jax.Array, reps: int) -> jax.Array:
    """`reps` in a `fori_loop` carry: traced, so the Python loop over it fails."""

    def body(i: int, carry: tuple[jax.Array, int]) -> tuple[jax.Array, int]:
        total, n = carry
        for _ in range(n):
            total = total + x
        return total, n

    return jax.lax.fori_loop(0, 2, body, (x, reps))[0]


def static_reps_in_scan(xs: jax.Array, reps: int) -> jax.Array:
    """The fix: `reps` read from the enclosing function, static, not carried."""

    def body(carry: jax.Array, x: jax.Array) -> tuple[jax.Array, None]:
        for _ in range(reps):
            carry = carry + x
        return carry, None

    return jax.lax.scan(body, jnp.zeros(xs.shape[1:]), xs)[0]


def rows_in_scan(xs: jax.Array, reps: jax.Array) -> jax.Array:
    """A Python loop over the rows of a carried array: its length is the carry's shape,
    which the init value's slot 0 takes from `xs`; slot 1 (`reps`) has nothing to do with it."""

    def body(carry: tuple[jax.Array, jax.Array], x: jax.Array) -> tuple[tuple, None]:
        total, count = carry
        rows = [row * 2 for row in total]
        return (jnp.stack(rows) + x, count + 1), None

    init = (jnp.zeros(xs.shape[1:]), reps)
    return jax.lax.scan(body, init, xs)[0][0]


def rows_in_fori(x: jax.Array, reps: jax.Array) -> jax.Array:
    """The same in a `fori_loop` carry, read by subscript."""

    def body(i: jax.Array, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        for row in carry[0]:
            carry = (carry[0] + row, carry[1])
        return carry

    return jax.lax.fori_loop(0, 2, body, (x, reps))[0]


class Quiet(nn.Module):
    train: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.Dense(4)(x)
        if self.train:
            h = h * 0.5
        return h


def flax_default_step(params: dict, x: jax.Array, debug: bool) -> jax.Array:
    """`self.train` is the field's default, False like the unrelated static `debug`."""
    return Quiet().apply(params, x)


def flax_default_params() -> dict:
    return {"params": Quiet().init(jax.random.key(0), jnp.zeros((2, 3)))}
