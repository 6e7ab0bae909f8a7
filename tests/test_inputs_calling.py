"""inputs/calling.py: values bound to parameters with their roles and calling convention, and
usage errors that show each caller how to pass what is missing."""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI, FUNCTION_API, TARGET_API, Vocabulary
from jaxexplain.inputs.calling import plan_call
from jaxexplain.inputs.specs import ArraySpec, to_abstract


def affine(x: Any, w: Any, b: Any, scale: float = 2.0) -> Any:
    return (x @ w + b) * scale


def positional_only(x: Any, n: int, /, *rest: Any) -> Any:
    return x * n + sum(rest)


class Model:
    def apply(self, x: Any) -> Any:
        return x


@pytest.mark.parametrize(
    ("vocabulary", "example"),
    [
        (CLI, "--arg x=f32[8,128]  (or --static x=3)"),
        (TARGET_API, 'traced={"x": parse_array_spec("f32[8,128]")}  (or static={"x": 3})'),
        (FUNCTION_API, 'x="f32[8,128]"  (or static_argnames="x", x=3)'),
    ],
)
def test_every_missing_parameter_is_named_with_an_example_in_the_callers_words(
    vocabulary: Vocabulary, example: str
) -> None:
    with pytest.raises(UsageError) as raised:
        plan_call(affine, {}, {}, vocabulary=vocabulary)
    message = str(raised.value)
    assert message.startswith("affine needs a value for x, w, b;")
    assert example in message
    assert "scale" not in message


def test_a_missing_self_is_explained_for_each_caller() -> None:
    for vocabulary in (CLI, TARGET_API, FUNCTION_API):
        with pytest.raises(UsageError, match="self is the instance of a jitted method") as raised:
            plan_call(Model.apply, {}, {"x": 1.0}, vocabulary=vocabulary)
        assert vocabulary.instance in str(raised.value)


def test_an_unknown_parameter_suggests_the_closest_name() -> None:
    with pytest.raises(UsageError, match=r"unknown parameter 'scal' \(did you mean 'scale'\?\)"):
        plan_call(affine, {"scal": 3}, {"x": 1.0, "w": 1.0, "b": 1.0}, vocabulary=CLI)


def test_a_default_nobody_passes_is_a_static_constant_and_values_go_by_keyword() -> None:
    traced = {k: to_abstract(ArraySpec((2, 2), "float32")) for k in ("x", "w", "b")}
    plan = plan_call(affine, {}, traced, vocabulary=CLI)
    scale = plan.params[-1]
    assert (scale.name, scale.static, scale.passed, scale.source) == (
        "scale",
        True,
        False,
        "default",
    )
    args, kwargs = plan.call_args()
    assert args == () and list(kwargs) == ["x", "w", "b"]
    jaxpr = jax.jit(affine).trace(*args, **kwargs).jaxpr
    assert len(jaxpr.eqns) == len(jax.make_jaxpr(affine)(*[jnp.zeros((2, 2))] * 3).eqns)


def test_positional_only_and_varargs_are_passed_by_position() -> None:
    plan = plan_call(
        positional_only,
        {"n": 2},
        {"x": 1.0, "rest": (1.0, 2.0)},
        vocabulary=CLI,
    )
    args, kwargs = plan.call_args()
    assert (args, kwargs) == ((1.0, 2, 1.0, 2.0), {})
    assert plan.static_argnums == (1,)
    assert [p.kind for p in plan.params] == [
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.VAR_POSITIONAL,
    ]
    assert jax.jit(positional_only, static_argnums=plan.static_argnums)(*args) == 5.0
