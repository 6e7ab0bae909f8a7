"""A rewrite that fails when traced is rejected with the first line of the error JAX raised, or
with the error's type alone when it has no message (mutants of `_first_line` survived the
module's own tests, which read only the error's type)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxexplain.api import function_plan, static_names
from jaxexplain.diffing import make_traced


def sgd_step(w: jax.Array, lr: float) -> jax.Array:
    return w - lr * jnp.tanh(w) * 2.0


def _candidate(traced: object) -> make_traced.Candidate:
    target, plan = function_plan(sgd_step, (jnp.arange(4.0),), static_names("lr"), {"lr": 0.1})
    honest = make_traced.static_candidate(target, plan, plan.with_values({"lr": 0.2}), "lr")
    return make_traced.Candidate("lr", 0.1, 0.2, honest.baked, traced)  # type: ignore[arg-type]


def per_value(lr: float, arguments: dict[str, jax.Array]) -> jax.Array:
    return sgd_step(arguments["w"], float(lr))  # concrete: fails when traced


def test_the_error_is_the_first_line_of_jaxs_message() -> None:
    try:
        jax.jit(per_value)(0.1, {"w": jnp.arange(4.0)})
    except jax.errors.ConcretizationTypeError as exc:
        lines = str(exc).strip().splitlines()
    assert len(lines) > 1, "JAX's message has several lines; the report keeps the first"
    outcome = make_traced.check(_candidate(per_value))
    assert outcome.error == f"ConcretizationTypeError: {lines[0]}"


def test_an_error_without_a_message_is_named_by_its_type_alone() -> None:
    def silent(lr: float, arguments: dict[str, jax.Array]) -> jax.Array:
        raise ValueError

    outcome = make_traced.check(_candidate(silent))
    assert outcome.error == "ValueError: "
