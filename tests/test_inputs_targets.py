"""inputs/targets.py: what the caller gave, bound to the target as JAX will call it: a TARGET
string with its values and factory, or a Python function with its own arguments."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.api import trace_target
from jaxexplain.errors import UsageError, UserCodeError
from jaxexplain.inputs.caller import CLI, TARGET_API
from jaxexplain.inputs.specs import GIVEN, ArraySpec
from jaxexplain.inputs.targets import (
    function_plan,
    name_of,
    prepare_target,
    static_names,
    target_name,
)
from tests.targets.realrun import factories, ppo

BASIC = "tests/user_modules/basic.py"
PPO = "tests/targets/realrun/ppo.py"
FACTORIES = "tests/targets/realrun/factories.py"
KEY = {"rng": ArraySpec((2,), "uint32")}


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


def test_the_closure_a_factory_returns_is_the_target_named_after_the_factory() -> None:
    target, plan = prepare_target(None, {}, KEY, None, target_from=f"{PPO}:train_from_config")
    assert target.function.__code__ is ppo.make_train(ppo.CONFIG).__code__
    assert [(p.name, p.source, p.static) for p in plan.params] == [("rng", "cli", False)]
    name = target_name(None, f"{PPO}:train_from_config", target)
    assert name == f"{PPO}:train_from_config() -> train"
    assert target_name(f"{PPO}:make_train", None, target) == f"{PPO}:make_train"


def test_a_closures_trace_is_jaxs_and_its_config_entry_is_a_constant() -> None:
    report = trace_target(target_from=f"{PPO}:train_from_config", traced=KEY, compile=False)
    key = jax.random.PRNGKey(0)
    assert report.jaxpr is not None
    assert report.jaxpr.equations == len(jax.make_jaxpr(ppo.make_train(ppo.CONFIG))(key).eqns)
    (decision,) = [d for d in report.decisions if d.source == 'config["ANNEAL_LR"]']
    assert decision.outcomes == ("true",)
    assert [(d.name, d.via) for d in decision.depends_on] == [("config['ANNEAL_LR']", "constant")]
    constant = trace_target(target_from=f"{PPO}:constant_lr_train", traced=KEY, compile=False)
    flipped = [d for d in constant.decisions if d.source == 'config["ANNEAL_LR"]']
    assert [d.outcomes for d in flipped] == [("false",)]


def test_a_function_jitted_inside_a_factory_keeps_its_decorators_statics() -> None:
    target, plan = prepare_target(
        None,
        {"n": 3},
        {"x": ArraySpec((4,), "float32")},
        None,
        target_from=f"{FACTORIES}:jitted_step",
    )
    assert target.decorator_statics() == ("n",) and plan.static_names == ("n",)
    assert target.jitted_for(plan) is target.obj
    args, kwargs = plan.call_args()
    jaxpr = target.obj.trace(*args, **kwargs).jaxpr
    inner = jax.make_jaxpr(factories.make_step(2.0).__wrapped__, static_argnums=1)(jnp.zeros(4), 3)
    assert len(jaxpr.eqns) == len(inner.eqns)


def test_a_factory_returns_the_function_with_its_arguments() -> None:
    _, plan = prepare_target(None, {}, {}, None, target_from=f"{FACTORIES}:step_with_kwargs")
    assert {p.name: (p.source, p.static, p.value) for p in plan.params} == {
        "x": ("factory", False, jax.ShapeDtypeStruct((8,), jnp.float32)),
        "n": ("factory", True, 2),
    }
    _, plan = prepare_target(None, {"n": 4}, {}, None, target_from=f"{FACTORIES}:step_with_args")
    args, kwargs = plan.call_args()
    assert [a.shape for a in args] == [(3,)] and kwargs == {"n": 4}
    assert [(p.name, p.source) for p in plan.params] == [("x", "factory"), ("n", "cli")]


def test_a_partials_bound_config_is_a_constant_of_the_function() -> None:
    report = trace_target(
        target_from=f"{FACTORIES}:partial_normalize",
        traced={"x": ArraySpec((3,), "float32")},
        compile=False,
    )
    assert report.target == f"{FACTORIES}:partial_normalize() -> normalize"
    assert [a.name for a in report.arguments] == ["x"]
    (decision,) = report.decisions
    assert [(d.name, d.via) for d in decision.depends_on] == [("config['center']", "constant")]


@pytest.mark.parametrize(
    ("vocabulary", "both", "neither"),
    [
        (CLI, "give TARGET or --target-from ", "name the function to explain: TARGET "),
        (TARGET_API, 'give target or target_from="', "name the function to explain: target "),
    ],
)
def test_a_target_and_a_target_factory_both_or_neither_is_refused(
    vocabulary: Any, both: str, neither: str
) -> None:
    with pytest.raises(UsageError) as raised:
        prepare_target(
            f"{BASIC}:affine",
            {},
            {},
            None,
            target_from=f"{FACTORIES}:jitted_step",
            vocabulary=vocabulary,
        )
    assert str(raised.value).startswith(both)
    with pytest.raises(UsageError) as raised:
        prepare_target(None, {}, {}, None, vocabulary=vocabulary)
    assert str(raised.value).startswith(neither)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("not_a_function", "returned a int; it must return the function to explain"),
        ("wrong_pair", "returned a tuple (function, int); it must return"),
        ("needs_config", "needs_config needs config, and a factory is called with no arguments"),
    ],
)
def test_a_factory_that_gives_no_function_is_a_usage_error(factory: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        prepare_target(None, {}, {}, None, target_from=f"{FACTORIES}:{factory}")
    assert str(raised.value).startswith(f"--target-from {FACTORIES}:{factory}")
    assert message in str(raised.value)
