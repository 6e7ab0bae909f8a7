"""inputs/targets.py: what the caller gave, bound to the target as JAX will call it: a TARGET
string with its values and factory, or a Python function with its own arguments."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.errors import UsageError, UserCodeError
from jaxexplain.inputs.caller import CLI, TARGET_API
from jaxexplain.inputs.specs import GIVEN, ArraySpec
from jaxexplain.inputs.targets import function_plan, name_of, prepare_target, static_names

BASIC = "tests/user_modules/basic.py"


@functools.partial(jax.jit, static_argnames="n")
def power(x: Any, n: int) -> Any:
    for _ in range(n):
        x = x * x
    return x


class Layer:
    @functools.partial(jax.jit, static_argnums=0)
    def apply(self, x: Any) -> Any:
        return jnp.tanh(x)


def test_a_factorys_keyword_arguments_are_bound_with_their_source() -> None:
    target, plan = prepare_target(f"{BASIC}:with_tree", {}, {}, f"{BASIC}:tree_args")
    assert target.function.__name__ == "with_tree"
    assert {p.name: (p.source, p.static) for p in plan.params} == {
        "params": ("factory", False),
        "x": ("factory", False),
    }
    args, kwargs = plan.call_args()
    traced = jax.jit(target.function).trace(*args, **kwargs)
    assert traced.jaxpr.in_avals == jax.make_jaxpr(target.function)(**kwargs).in_avals


def test_a_factorys_positional_arguments_are_passed_by_position() -> None:
    _, plan = prepare_target(f"{BASIC}:affine", {}, {}, f"{BASIC}:pair_args")
    args, kwargs = plan.call_args()
    assert [type(a) for a in args] == [jax.ShapeDtypeStruct] and list(kwargs) == ["w", "b"]
    assert [p.source for p in plan.params] == ["factory", "factory", "factory"]


def test_given_values_are_the_callers_and_the_decorator_statics_are_kept() -> None:
    x = {"x": ArraySpec((4, 8), "float32"), "w": ArraySpec((8, 16), "float32")}
    target, plan = prepare_target(
        "samples/decorated.py:dense",
        {"activation": "gelu"},
        {**x, "b": ArraySpec((16,), "float32")},
        None,
    )
    assert set(target.decorator_statics()) == {"activation", "normalize"}
    sources = {p.name: (p.source, p.static, p.passed) for p in plan.params}
    assert sources["activation"] == ("cli", True, True)
    assert sources["normalize"] == ("default", True, False)
    assert sources["x"] == ("cli", False, True)


@pytest.mark.parametrize(
    ("vocabulary", "start"),
    [(CLI, f"--args-from {BASIC}:not_args"), (TARGET_API, f'args_from="{BASIC}:not_args"')],
)
def test_a_factory_that_returns_no_arguments_is_told_in_the_callers_words(
    vocabulary: Any, start: str
) -> None:
    with pytest.raises(UsageError) as raised:
        prepare_target(f"{BASIC}:affine", {}, {}, f"{BASIC}:not_args", vocabulary=vocabulary)
    assert str(raised.value) == (
        f"{start} returned a int; it must return a dict of keyword arguments or an "
        f"(args, kwargs) pair"
    )


def test_a_factory_that_raises_is_the_users_error() -> None:
    with pytest.raises(UserCodeError, match=r"calling the factory --args-from .*factory exploded"):
        prepare_target(f"{BASIC}:affine", {}, {}, f"{BASIC}:failing_factory")


@pytest.mark.parametrize(
    ("vocabulary", "words"),
    [
        (CLI, ("--static scale without a value", "pass --static scale=VALUE")),
        (TARGET_API, ('static={"scale": GIVEN}', 'pass static={"scale": VALUE}')),
    ],
)
def test_a_static_kept_from_a_factory_that_gives_none_is_refused(
    vocabulary: Any, words: tuple[str, str]
) -> None:
    with pytest.raises(UsageError) as raised:
        prepare_target(
            f"{BASIC}:scale", {"scale": GIVEN}, {}, f"{BASIC}:tree_args", vocabulary=vocabulary
        )
    message = str(raised.value)
    assert message.startswith(words[0]) and words[1] in message
    assert "the factory gives no scale" in message


def test_a_python_call_keeps_statics_and_reads_spec_strings() -> None:
    target, plan = function_plan(power, ("f32[3]",), set(), {"n": 2})
    assert target.obj is power
    values = {p.name: (p.value, p.static, p.source) for p in plan.params}
    assert values["n"] == (2, True, "api")
    assert values["x"] == (jax.ShapeDtypeStruct((3,), np.float32), False, "api")
    args, kwargs = plan.call_args()
    primitives = [e.primitive.name for e in power.trace(*args, **kwargs).jaxpr.eqns]
    assert primitives == [
        e.primitive.name
        for e in jax.make_jaxpr(power.__wrapped__, static_argnums=1)(jnp.zeros(3), 2).eqns
    ]


def test_a_partial_of_a_jitted_function_is_the_call_it_makes() -> None:
    target, plan = function_plan(functools.partial(power, n=3), (jnp.zeros(3),), set(), {})
    assert target.obj is power
    assert {p.name: p.source for p in plan.params} == {"x": "api", "n": "partial"}


def test_a_bound_jitted_method_takes_its_instance_first() -> None:
    layer = Layer()
    target, plan = function_plan(layer.apply, ("f32[2]",), set(), {})
    args, _ = plan.call_args()
    assert args[0] is layer and plan.static_names == ("self",)
    assert target.function.__name__ == "apply"


def test_static_argnames_as_jax_takes_them_and_the_name_of_a_function() -> None:
    assert static_names("n") == {"n"} and static_names(("n", "mode")) == {"n", "mode"}
    assert name_of(power) == f"{__name__}:power"
