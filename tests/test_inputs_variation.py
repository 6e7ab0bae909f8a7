"""inputs/variation.py: side B of a diff is side A with some values changed, each keeping the
role its parameter has on side A; errors name the change as the caller wrote it."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI, TARGET_API, Vocabulary
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.inputs.targets import function_plan, prepare_target
from jaxexplain.inputs.variation import plan_with_texts, plan_with_values, shown_values, vary_plan

UNROLLED = "samples/unrolled.py:unrolled_power"
X3 = {"x": ArraySpec((3,), "float32")}


class Config(NamedTuple):
    causal: bool
    heads: int


@dataclasses.dataclass(frozen=True)
class Settings:
    config: Config
    rate: float


def attend(x: Any, settings: Settings, **options: Any) -> Any:
    return x * settings.rate if settings.config.causal else x


def values(plan: Any) -> dict[str, tuple[Any, bool, str]]:
    return {p.name: (p.value, p.static, p.source) for p in plan.params if p.passed}


def test_a_change_keeps_each_parameters_role_and_a_new_keyword_goes_into_kwargs() -> None:
    _, plan_a = function_plan(attend, ("f32[3]", Settings(Config(True, 2), 0.5)), set(), {})
    plan_b = vary_plan(plan_a, {"x": (False, 1.0), "dropout": (True, 0.1)}, "api")
    assert values(plan_b)["x"] == (1.0, False, "api")
    extra = plan_b.params[-1]
    assert (extra.name, extra.kind, extra.static) == (
        "dropout",
        inspect.Parameter.VAR_KEYWORD,
        True,
    )
    assert values(plan_a)["x"][0] == jax.ShapeDtypeStruct((3,), np.float32)
    assert [p.name for p in plan_b.params[:-1]] == [p.name for p in plan_a.params]


def test_texts_are_read_by_the_role_on_side_a() -> None:
    target, plan_a = prepare_target(UNROLLED, {"n": 3}, X3, None)
    plan_b = plan_with_texts(target, plan_a, {"n": "4", "x": "f32[5]"}, CLI)
    assert values(plan_b)["n"] == (4, True, "cli")
    assert values(plan_b)["x"] == (jax.ShapeDtypeStruct((5,), np.float32), False, "cli")
    args, kwargs = plan_b.call_args()
    traced = jax.jit(target.function, static_argnames="n").trace(*args, **kwargs)
    expected = jax.make_jaxpr(target.function, static_argnums=1)(jnp.zeros(5), 4)
    assert len(traced.jaxpr.eqns) == len(expected.eqns)


def test_a_field_of_side_as_static_object_is_changed_in_place() -> None:
    settings = Settings(Config(True, 2), 0.5)
    target, plan_a = function_plan(attend, ("f32[3]",), {"settings"}, {"settings": settings})
    plan_b = plan_with_texts(
        target, plan_a, {"settings.config.causal": "False", "settings.rate": "0.25"}, CLI
    )
    assert values(plan_b)["settings"] == (Settings(Config(False, 2), 0.25), True, "cli")
    assert values(plan_a)["settings"][0] is settings


@pytest.mark.parametrize(
    ("vocabulary", "unknown", "no_field"),
    [
        (
            CLI,
            "--vs m=...: the target has no parameter 'm'",
            "--vs settings.config.depth=...: settings.config is a Config with fields causal, "
            "heads; --vs NAME.FIELD=VALUE changes a field",
        ),
        (
            TARGET_API,
            "vs={\"m\": ...}: the target has no parameter 'm'",
            'vs={"settings.config.depth": ...}: settings.config is a Config with fields causal, '
            'heads; vs={"NAME.FIELD": VALUE} changes a field',
        ),
    ],
)
def test_errors_name_the_change_as_the_caller_wrote_it(
    vocabulary: Vocabulary, unknown: str, no_field: str
) -> None:
    target, plan_a = prepare_target(UNROLLED, {"n": 3}, X3, None)
    with pytest.raises(UsageError) as raised:
        plan_with_texts(target, plan_a, {"m": "4"}, vocabulary)
    assert str(raised.value).startswith(unknown)
    settings = Settings(Config(True, 2), 0.5)
    target, plan_a = function_plan(attend, ("f32[3]",), {"settings"}, {"settings": settings})
    with pytest.raises(UsageError) as raised:
        plan_with_texts(target, plan_a, {"settings.config.depth": "4"}, vocabulary)
    assert str(raised.value).startswith(no_field)


def test_python_values_keep_their_roles_and_spec_strings_become_arrays() -> None:
    target, plan_a = function_plan(attend, ("f32[3]",), {"settings"}, {"settings": None})
    plan_b = plan_with_values(target, plan_a, {"x": "i32[2]", "settings": "fast"}, set())
    assert values(plan_b)["x"] == (jax.ShapeDtypeStruct((2,), np.int32), False, "api")
    assert values(plan_b)["settings"] == ("fast", True, "api")
    with pytest.raises(UsageError, match=r"^vs=\{\"m\": \.\.\.\}: the target has no parameter"):
        plan_with_values(*function_plan(jnp.sin, ("f32[3]",), set(), {}), {"m": 1}, set())


def test_a_new_keyword_is_static_where_static_argnames_name_it() -> None:
    target, plan_a = function_plan(attend, ("f32[3]", None), set(), {})
    plan_b = plan_with_values(target, plan_a, {"dropout": 0.1, "mask": "bool[3]"}, {"dropout"})
    assert values(plan_b)["dropout"] == (0.1, True, "api")
    assert values(plan_b)["mask"] == (jax.ShapeDtypeStruct((3,), np.bool_), False, "api")


def test_python_values_read_with_arrays_as_their_abstract_values() -> None:
    shown = shown_values({"x": jnp.zeros((2, 3)), "config": Config(True, 2), "n": 4})
    assert shown == {"x": "f32[2,3]", "config": "Config(causal=True, heads=2)", "n": "4"}
    pair = shown_values({"p": (jnp.zeros(2, jnp.int32), {"w": np.ones((1,), np.float32)})})
    assert pair == {"p": "(i32[2], {'w': f32[1]})"}
