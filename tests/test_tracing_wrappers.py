"""filter_jit's split of one argument: its static leaves by the user's paths, compared as the
plain tuple equinox compares, changed one at a time, and kept when random arrays fill a plan."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxexplain.inputs.calling import CallPlan
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.cache_key import static_values
from jaxexplain.tracing.wrappers import FilterSplit
from tests.targets.libs.equinox_fields import Scaled
from tests.targets.libs.wrappers import make_scaled


def split_plan(model: object) -> CallPlan:
    import inspect

    from jaxexplain.inputs.calling import BoundParam

    param = BoundParam("model", inspect.Parameter.POSITIONAL_OR_KEYWORD, False, "api", model)
    return wrappers.filter_jit_plan(CallPlan((param,)))


def test_static_leaves_are_the_non_array_leaves_by_their_paths() -> None:
    split = FilterSplit.of(Scaled(jnp.ones(3), 0.5))
    assert split.static_leaves() == [(".scale", 0.5)]
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(make_scaled())]
    assert FilterSplit.of(make_scaled()).leaf_paths() == paths


def test_static_leaves_compare_and_hash_as_the_tuple_equinox_compares() -> None:
    a, b = FilterSplit.of(Scaled(jnp.ones(3), 0.5)), FilterSplit.of(Scaled(jnp.zeros(3), 0.5))
    assert a.static == b.static == (None, 0.5) and hash(a.static) == hash((None, 0.5))
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    other = a.with_static_leaf(".scale", 2.0)
    assert jax.tree_util.tree_structure(other) != jax.tree_util.tree_structure(a)
    assert "0.5" not in str(jax.tree_util.tree_structure(a))


def test_cache_key_statics_hold_each_static_leaf_under_the_argument_name() -> None:
    plan = split_plan(Scaled(jnp.ones(3), 0.5))
    assert static_values(plan) == {"model.scale": 0.5}
    assert static_values(split_plan(Scaled(jnp.ones(3), 0.5).scale)) == {"model": 0.5}


def test_random_arrays_fill_a_plan_without_replacing_its_static_leaf() -> None:
    plan = split_plan(Scaled(jnp.ones(3), 0.5))
    baked = plan.with_values({"model": plan.params[0].value.with_static_leaf(".scale", 2.0)})
    arguments = {"model": FilterSplit.of(Scaled(jnp.full(3, 7.0), 0.5))}
    filled = wrappers.with_arguments(baked, arguments).params[0].value.joined()
    assert filled.scale == 2.0 and float(filled.w[0]) == 7.0


def test_joined_with_puts_a_value_in_place_of_the_static_leaf() -> None:
    split = FilterSplit.of(Scaled(jnp.ones(3), 0.5))
    module = split.joined_with(".scale", jnp.float32(3.0))
    assert isinstance(module.scale, jax.Array) and module.w is split.arrays[0]
