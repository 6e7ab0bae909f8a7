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

from jaxexplain.api import diff_target
from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI, TARGET_API, Vocabulary
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.inputs.targets import function_plan, prepare_target
from jaxexplain.inputs.variation import (
    plan_with_factory,
    plan_with_texts,
    plan_with_values,
    shown_values,
    vary_plan,
)
from tests.targets.realrun import optimizers

UNROLLED = "samples/unrolled.py:unrolled_power"
X3 = {"x": ArraySpec((3,), "float32")}
OPTIMIZERS = "tests/targets/realrun/optimizers.py"


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


def _train_step_plan() -> tuple[Any, Any]:
    return prepare_target(f"{OPTIMIZERS}:train_step", {}, {}, f"{OPTIMIZERS}:step_args")


def test_a_factorys_objects_replace_side_as_values_and_keep_their_roles() -> None:
    target, plan_a = _train_step_plan()
    spec = f"{OPTIMIZERS}:redefined_loss"
    plan_b, made = plan_with_factory(target, plan_a, spec, CLI)
    assert made == {"params": f"{spec}()", "loss": f"{spec}()"}
    a, b = values(plan_a), values(plan_b)
    assert b["loss"][1:] == (True, "factory") and b["loss"][0] is not a["loss"][0]
    assert b["params"] == (optimizers.PARAMS, False, "factory")
    assert b["tx"] == a["tx"] and b["batch"] == a["batch"]
    assert [p.name for p in plan_b.params] == [p.name for p in plan_a.params]


@pytest.mark.parametrize(
    ("vocabulary", "start"),
    [(CLI, f"--vs-from {OPTIMIZERS}"), (TARGET_API, f'vs_from="{OPTIMIZERS}')],
)
def test_a_factory_that_names_no_parameter_of_the_target_is_refused(
    vocabulary: Vocabulary, start: str
) -> None:
    target, plan_a = _train_step_plan()
    with pytest.raises(UsageError) as raised:
        plan_with_factory(target, plan_a, f"{OPTIMIZERS}:learning_rate", vocabulary)
    assert str(raised.value) == (
        f"{vocabulary.vs_from(f'{OPTIMIZERS}:learning_rate')} gives lr, which the target does "
        f"not take; the target's parameters are params, opt_state, batch, tx, loss"
    )
    assert str(raised.value).startswith(start)
    with pytest.raises(UsageError, match="gives 6 positional values, and the target takes 5"):
        plan_with_factory(target, plan_a, f"{OPTIMIZERS}:too_many", vocabulary)


def _cache_sizes_of(side_b: dict[str, Any]) -> tuple[int, int]:
    """JAX's own cache sizes after calling the step with side A's values, then side B's."""
    jitted = jax.jit(optimizers.train_step.__wrapped__, static_argnames=("tx", "loss"))
    side_a = optimizers.step_args()
    jitted(**side_a)
    after_a = jitted._cache_size()
    jitted(**{**side_a, **side_b})
    return after_a, jitted._cache_size()


@pytest.mark.parametrize(
    ("factory", "changed"),
    [
        ("rebuilt_optimizer", [("static", "tx.init"), ("static", "tx.update")]),
        ("same_optimizer", []),
    ],
)
def test_a_rebuilt_optimizer_from_a_factory_recompiles_as_jax_does(
    factory: str, changed: list[tuple[str, str]]
) -> None:
    report = diff_target(
        f"{OPTIMIZERS}:train_step",
        args_from=f"{OPTIMIZERS}:step_args",
        vs_from=f"{OPTIMIZERS}:{factory}",
        compile=False,
    )
    after_a, after_b = _cache_sizes_of(getattr(optimizers, factory)())
    check = report.verification
    assert check is not None and check.checked and check.agrees
    assert check.cache_size_a is not None and check.cache_size_b is not None
    assert check.cache_size_b - check.cache_size_a == after_b - after_a, "the growth JAX shows"
    assert report.recompiles is (after_b > after_a)
    assert [(c.component, c.path) for c in report.cache_key_changes] == changed
    assert report.vs == {"tx": f"{OPTIMIZERS}:{factory}()"}


def test_a_redefined_lambda_is_one_static_change_and_a_vs_applies_after_the_factory() -> None:
    spec = f"{OPTIMIZERS}:redefined_loss"
    report = diff_target(
        f"{OPTIMIZERS}:train_step",
        args_from=f"{OPTIMIZERS}:step_args",
        vs_from=spec,
        vs={"batch": "f32[16,4]"},
        compile=False,
    )
    (params,), kwargs = optimizers.redefined_loss()
    after_a, after_b = _cache_sizes_of({**kwargs, "params": params, "batch": jnp.ones((16, 4))})
    assert report.recompiles is (after_b > after_a) is True
    assert report.verification is not None and report.verification.agrees
    assert [(c.component, c.path) for c in report.cache_key_changes] == [
        ("static", "loss"),
        ("shape", "batch"),
    ]
    assert report.vs == {"params": f"{spec}()", "loss": f"{spec}()", "batch": "f32[16,4]"}
