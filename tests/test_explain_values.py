"""explain/values.py: what a traced argument could be as a static one, decided on real values
(Python numbers, 0-d arrays, sequences, specs) that JAX traces as the test shows."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.api import trace_target
from jaxexplain.explain import values
from jaxexplain.inputs.calling import BoundParam, CallPlan, plan_call
from jaxexplain.report import Dependency

FAILING = "tests.targets.failures.everyday"


class Pair(NamedTuple):
    first: int
    second: int


def plan_of(**traced: Any) -> CallPlan:
    """The plan of a call with these traced values (of parameters `a`, `b`, `c`)."""
    return plan_call(lambda a=None, b=None, c=None: None, {}, traced, source="api")


def param(value: Any) -> BoundParam:
    (bound, *_) = plan_of(a=value).params
    return bound


@pytest.mark.parametrize(
    ("value", "static"),
    [
        (3, 3),
        (2.5, 2.5),
        (True, True),
        (np.int32(4), np.int32(4)),
        ((4, 5), (4, 5)),
        ([4, 5], (4, 5)),
        ((1, (2, 3)), (1, (2, 3))),
        (tuple(range(values.MAX_STATIC_LEAVES + 1)), None),
        (Pair(1, 2), None),
        ((), None),
        ("text", None),
    ],
)
def test_the_static_form_of_python_values(value: Any, static: Any) -> None:
    assert values.concrete_scalar(param(value)) == static


def test_a_dict_of_numbers_is_a_configuration_jit_can_key_its_cache_by() -> None:
    """A config dict as a static: a hashable dict with the same items, which JAX hashes where
    it refuses the dict itself; a dict holding array data is no configuration."""
    config = {"NUM_ENVS": 4, "ANNEAL_LR": True, "LR": jnp.array(0.5), "SIZES": [64, 64]}
    static = values.concrete_scalar(param(config))
    assert static == {"NUM_ENVS": 4, "ANNEAL_LR": True, "LR": 0.5, "SIZES": (64, 64)}
    assert values.is_number_mapping(param(config)) and not values.is_number_sequence(param(config))
    with pytest.raises(ValueError, match="Non-hashable static arguments"):
        jax.jit(lambda c: c["NUM_ENVS"], static_argnums=0)(config)
    assert jax.jit(lambda c: c["NUM_ENVS"], static_argnums=0)(static) == 4
    assert values.concrete_scalar(param({"w": jnp.ones(3), "n": 4})) is None
    assert values.concrete_scalar(param({})) is None
    too_large = {str(i): i for i in range(values.MAX_CONFIG_LEAVES + 1)}
    assert values.concrete_scalar(param(too_large)) is None


def test_a_0d_array_is_its_number_and_an_array_with_elements_is_data() -> None:
    assert values.concrete_scalar(param(jnp.array(5))) == 5
    assert type(values.concrete_scalar(param(jnp.array(5)))) is int
    assert values.concrete_scalar(param(jnp.ones(3))) is None
    assert values.concrete_scalar(param(jax.random.key(0))) is None
    assert values.is_number_sequence(param([1, jnp.array(2)]))
    assert not values.is_number_sequence(param(3))


@pytest.mark.parametrize(
    ("dtype", "python"),
    [(np.int32, "int"), (np.float32, "float"), (np.bool_, "bool"), (np.complex64, "complex")],
)
def test_a_0d_spec_has_no_value_but_the_python_type_it_would_take(dtype: Any, python: str) -> None:
    spec = param(jax.ShapeDtypeStruct((), dtype))
    assert values.scalar_without_value(spec) == python
    assert values.could_be_static(spec) and values.concrete_scalar(spec) is None


def test_data_and_keys_are_never_static_numbers() -> None:
    for value in (jax.ShapeDtypeStruct((8,), np.float32), jax.random.key(0), 3, (1, 2)):
        assert values.scalar_without_value(param(value)) is None
    assert not values.could_be_static(param(jax.ShapeDtypeStruct((8,), np.float32)))


def test_array_value_params_are_dependencies_no_static_can_carry() -> None:
    plan = plan_of(
        a=jax.ShapeDtypeStruct((8,), np.float32), b=3, c=jax.ShapeDtypeStruct((), np.int32)
    )
    depends_on = [Dependency("a", "value"), Dependency("b", "value"), Dependency("c", "value")]
    assert [p.name for p in values.array_value_params(plan, depends_on)] == ["a"]
    assert values.array_value_params(plan, [Dependency("a", "shape")]) == []
    assert values.traced_scalars(plan) == ["b"]
    assert values.static_values(["b"], {p.name: p for p in plan.params}) == {"b": 3}


def test_aval_text_is_the_abstract_value_jax_traces() -> None:
    assert values.aval_text(jnp.ones((2, 3))) == "f32[2,3]"
    assert values.aval_text(3) == "~i32[]"
    assert values.aval_text("text") == "str"
    assert jax.typeof(3).weak_type and not jax.typeof(jnp.ones((2, 3))).weak_type


def test_a_concrete_0d_array_needed_concretely_is_verified_static_as_its_number() -> None:
    """`n = jnp.array(5)` from a factory: static as the Python int 5 (an array is no hashable
    static), re-traced and verified; JAX agrees `x[:5]` traces with n=5 static."""
    report = trace_target(f"{FAILING}:take_prefix", args_from=f"{FAILING}:prefix_args")
    assert report.error is not None
    assert "n is a 0-d array passed traced" in report.error.explanation
    (static,) = [s for s in report.error.suggestions if s.kind == "make_static"]
    assert static.verified and 'static={"n": 5} to jaxexplain.trace_target,' in static.text


def test_a_0d_prng_key_needed_concretely_is_explained_without_a_static_choice() -> None:
    report = trace_target(f"{FAILING}:keyed", args_from=f"{FAILING}:keyed_args", compile=False)
    assert report.error is not None and report.error.type
    assert not [s for s in report.error.suggestions if s.kind == "make_static"]
