"""explain/loop_grad.py: `jax.grad` through a `lax.fori_loop` with a traced bound is explained,
and the static bound that fixes it is re-traced (JAX, run by the test, agrees)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from jaxexplain.api import trace_target
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.report import Dependency
from tests.failing_cases import explain_as
from tests.targets.explain import failing as user

FAILING = "tests.targets.failures.research"


def test_a_traced_loop_bound_is_found_and_made_static_in_each_callers_words() -> None:
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        jax.jit(user.grad_of_loop)(2.0, 3)
    assert jax.jit(user.grad_of_loop, static_argnames="n")(2.0, 3) == jax.grad(lambda v: v**3)(2.0)
    cli = explain_as("cli", user.grad_of_loop, traced={"x": 2.0, "n": 3})
    api = explain_as("api", user.grad_of_loop, traced={"x": 2.0, "n": 3})
    for error in (cli, api):
        assert error.type == "ValueError" and error.depends_on == (Dependency("n", "value"),)
        assert "The bound comes from n, a Python int passed traced" in error.explanation
        assert [s.kind for s in error.suggestions] == ["make_static", "advice"]
        assert error.suggestions[0].verified
    assert "(--static n=3, or jax.jit(..., static_argnames=('n',)))" in cli.suggestions[0].text
    assert "(static_argnames=('n',) to jaxexplain.trace, or " in api.suggestions[0].text


def test_without_a_python_bound_only_the_advice_is_left() -> None:
    int32 = jax.ShapeDtypeStruct((), "int32")
    error = explain_as("cli", user.grad_of_loop, traced={"x": 2.0, "n": int32})
    assert error.depends_on == ()
    assert [s.kind for s in error.suggestions] == ["advice"]


def test_grad_of_a_fori_loop_with_a_traced_bound_is_jax_s_error_fixed_by_a_static_bound() -> None:
    """`jax.grad` of a loss that runs `lax.fori_loop(0, n_steps, ...)` with `n_steps` a traced
    Python int: JAX refuses reverse mode through the resulting while_loop; the report says JAX
    raised it (not the user's code), names `n_steps`, and verifies making it static, which JAX
    then differentiates."""
    from tests.targets.failures import research as failing

    theta = jnp.float32(0.5)
    with pytest.raises(ValueError, match="Reverse-mode differentiation"):
        failing.unrolled_loss(theta, 10)
    report = trace_target(
        f"{FAILING}:unrolled_loss",
        {},
        {"theta": ArraySpec((), "float32"), "n_steps": 10},
        compile=False,
    )
    assert report.error is not None and report.error.raised_by == "jax"
    assert [(d.name, d.via) for d in report.error.depends_on] == [("n_steps", "value")]
    (fix,) = [s for s in report.error.suggestions if s.verified]
    assert fix.kind == "make_static" and fix.params == ("n_steps",)
    fixed = jax.jit(failing.unrolled_loss.__wrapped__, static_argnames=fix.params)
    assert float(fixed(theta, n_steps=10)) != 0.0
