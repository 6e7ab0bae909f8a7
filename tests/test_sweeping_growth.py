"""Growth laws fitted to figures that JAX and XLA give for real functions at several sizes."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import pytest

from jaxexplain import _jax_compat
from jaxexplain.sweeping import growth
from tests.targets.sweep.growth import looped, matmul, unrolled

SIZES = (2, 4, 8, 16, 32)


def equations(fn, n: int) -> int:
    return len(jax.make_jaxpr(functools.partial(fn, n=n))(jnp.zeros(4)).jaxpr.eqns)


def matmul_flops(n: int) -> float:
    square = jax.ShapeDtypeStruct((n, n), jnp.float32)
    return _jax_compat.cost_analysis(jax.jit(matmul).lower(square, square).compile())["flops"]


def outer_flops(n: int) -> float:
    vector = jax.ShapeDtypeStruct((n,), jnp.float32)
    compiled = jax.jit(lambda v: v[:, None] * v[None, :]).lower(vector).compile()
    return _jax_compat.cost_analysis(compiled)["flops"]


def test_an_unrolled_loop_grows_linearly_and_predicts_exactly() -> None:
    counts = [equations(unrolled, n) for n in SIZES]
    found = growth.fit(SIZES, counts, "n")
    assert found is not None
    assert (found.name, found.of, found.exponent) == ("linear", "n", 1.0)
    assert growth.predict(found, 512) == pytest.approx(equations(unrolled, 512))


def test_a_fori_loop_stays_constant() -> None:
    found = growth.fit(SIZES, [equations(looped, n) for n in SIZES], "n")
    assert found is not None and found.name == "constant" and found.exponent == 0.0


def test_an_outer_product_grows_quadratically_in_flops() -> None:
    found = growth.fit(SIZES, [outer_flops(n) for n in SIZES], "n")
    assert found is not None
    assert found.name == "quadratic"
    assert found.exponent == pytest.approx(2.0, abs=0.1)


def test_a_matmul_is_no_quadratic_its_flops_grow_with_the_cube() -> None:
    sizes = (8, 16, 32, 64)
    flops = [matmul_flops(n) for n in sizes]
    found = growth.fit(sizes, flops, "n")
    assert found is not None
    assert found.name == "other"
    assert found.exponent == pytest.approx(3.0, abs=0.1)
    assert growth.predict(found, 128) == pytest.approx(matmul_flops(128), rel=0.05)


def test_a_count_that_doubles_per_step_is_exponential() -> None:
    steps = (1, 2, 3, 4, 5, 6)
    counts = [equations(unrolled, 2**k) for k in steps]
    found = growth.fit(steps, counts, "k")
    assert found is not None and found.name == "exponential"


def test_seconds_within_their_noise_are_constant_and_too_few_points_fit_nothing() -> None:
    assert growth.fit((1, 2, 4), (0.10, 0.12, 0.11), "n", noise=0.2).name == "constant"
    assert growth.fit((1, 2), (1.0, 2.0), "n") is None
    assert growth.fit((1, 1, 1), (1.0, 2.0, 3.0), "n") is None


def test_seconds_that_fall_as_the_work_grows_are_jitter() -> None:
    found = growth.fit((16, 32, 64, 128), (0.09, 0.43, 0.128, 0.056), "n", noise=0.2)
    assert found is not None and found.name == "constant"
    counts = growth.fit((16, 32, 64, 128), (9.0, 43.0, 12.0, 5.0), "n")
    assert counts is not None and counts.name == "other"


def _dense(weights: jax.Array, x: jax.Array) -> jax.Array:
    return jnp.tanh(x @ weights)


def _argument_bytes(batch: int) -> int:
    """XLA's argument memory of a layer: fixed weights plus a batch that grows."""
    weights = jax.ShapeDtypeStruct((256, 256), jnp.float32)
    x = jax.ShapeDtypeStruct((batch, 256), jnp.float32)
    return jax.jit(_dense).lower(weights, x).compile().memory_analysis().argument_size_in_bytes


def test_a_figure_with_a_large_fixed_part_still_grows_linearly_and_predicts_exactly() -> None:
    """Its own log-log slope is far below 1 (the weights dominate): the law is judged on the
    part that grows, so it is linear, and the prediction is XLA's figure at the new size."""
    sizes = [2, 4, 8, 16, 32]
    found = growth.fit(sizes, [_argument_bytes(b) for b in sizes], "batch")
    assert found is not None and found.name == "linear" and found.exponent < 0.5
    assert growth.predict(found, 1024) == pytest.approx(_argument_bytes(1024), rel=1e-6)


def test_no_prediction_where_no_law_fits() -> None:
    from jaxexplain.sweeping.findings import predicted

    irregular = growth.fit([1, 2, 4, 8, 16], [5.0, 40.0, 3.0, 90.0, 1.0], "n")
    assert irregular is not None and irregular.name == "other"
    assert predicted({"flops": {"n": irregular}}, {"n": 64.0}) == ()
