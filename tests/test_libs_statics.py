"""Statics compared by identity (optax optimizers, partials, closures, NaN): digests differ
exactly where JAX compiles again, checked against the jitted function's own cache size."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxexplain
from tests.targets.libs import statics

X3 = np.ones(3, np.float32)


def jax_recompiles(fn: Any, static_name: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """JAX's own answer: call the jitted function with A then B and read its cache size."""
    jitted = jax.jit(fn, static_argnames=static_name)
    jitted(**a)
    before = jitted._cache_size()
    jitted(**b)
    return jitted._cache_size() > before


def digests(fn: Any, static_name: str, a: dict[str, Any], b: dict[str, Any]) -> tuple[str, str]:
    keys = [
        jaxexplain.trace(fn, static_argnames=static_name, compile=False, **side).cache_key
        for side in (a, b)
    ]
    return keys[0].digest, keys[1].digest


def rebuilt_optimizer() -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        {"params": X3, "grads": X3, "tx": optax.adam(1e-3)},
        {"params": X3, "grads": X3, "tx": optax.adam(1e-3)},
    )


def same_optimizer() -> tuple[dict[str, Any], dict[str, Any]]:
    tx = optax.adam(1e-3)
    return {"params": X3, "grads": X3, "tx": tx}, {"params": X3, "grads": X3, "tx": tx}


def rebuilt_partial() -> tuple[dict[str, Any], dict[str, Any]]:
    return {"x": X3, "activation": statics.partial_leaky(0.1)}, {
        "x": X3,
        "activation": statics.partial_leaky(0.1),
    }


def same_function() -> tuple[dict[str, Any], dict[str, Any]]:
    return {"x": X3, "activation": jnp.tanh}, {"x": X3, "activation": jnp.tanh}


def rebuilt_lambda_in_frozen_config() -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        {"x": X3, "head": statics.Head(2, lambda v: v * 2)},
        {"x": X3, "head": statics.Head(2, lambda v: v * 2)},
    )


def equal_frozen_configs() -> tuple[dict[str, Any], dict[str, Any]]:
    return {"x": X3, "head": statics.Head(2, jnp.tanh)}, {
        "x": X3,
        "head": statics.Head(2, jnp.tanh),
    }


def two_nan_objects() -> tuple[dict[str, Any], dict[str, Any]]:
    # float("nan") makes a new object each time; nan != nan, so only the same object hits.
    return {"x": X3, "factor": float("nan")}, {"x": X3, "factor": float("nan")}


def one_nan_object() -> tuple[dict[str, Any], dict[str, Any]]:
    nan = math.nan
    return {"x": X3, "factor": nan}, {"x": X3, "factor": nan}


CASES = {
    "optax.adam rebuilt": (statics.apply_optimizer, "tx", rebuilt_optimizer),
    "optax.adam reused": (statics.apply_optimizer, "tx", same_optimizer),
    "partial rebuilt": (statics.apply_activation, "activation", rebuilt_partial),
    "module function": (statics.apply_activation, "activation", same_function),
    "lambda in a frozen dataclass": (statics.apply_head, "head", rebuilt_lambda_in_frozen_config),
    "equal frozen dataclasses": (statics.apply_head, "head", equal_frozen_configs),
    "two NaN objects": (statics.scale_by, "factor", two_nan_objects),
    "one NaN object": (statics.scale_by, "factor", one_nan_object),
}


@pytest.mark.parametrize("case", CASES)
def test_digests_differ_exactly_where_jax_recompiles(case: str) -> None:
    fn, static_name, sides = CASES[case]
    a, b = sides()
    digest_a, digest_b = digests(fn, static_name, a, b)
    assert (digest_a != digest_b) == jax_recompiles(fn, static_name, a, b)


def test_both_outcomes_occur_among_the_cases() -> None:
    """The parametrized check above can say no: some cases recompile, some do not."""
    outcomes = {jax_recompiles(fn, name, *sides()) for fn, name, sides in CASES.values()}
    assert outcomes == {True, False}


def test_a_rebuilt_optimizer_is_named_with_the_parts_compared_by_identity() -> None:
    a, b = rebuilt_optimizer()
    report = jaxexplain.diff(
        statics.apply_optimizer, static_argnames="tx", compile=False, **a, vs={"tx": b["tx"]}
    )
    assert report.recompiles and report.verification is not None
    assert report.verification.checked and not report.disagrees
    changed = {(c.component, c.path) for c in report.cache_key_changes}
    assert changed == {("static", "tx.init"), ("static", "tx.update")}
    (static,) = report.b.cache_key.static
    assert static.compared_by == "identity"
    assert any("optax.inject_hyperparams" in note for note in report.notes)
    assert "build the optimizer once" in static.warnings[0]


def test_a_reused_optimizer_hits_and_warns_nothing_of_identity() -> None:
    a, b = same_optimizer()
    report = jaxexplain.diff(
        statics.apply_optimizer, static_argnames="tx", compile=False, **a, vs={"tx": b["tx"]}
    )
    assert report.recompiles is False and not report.disagrees
    assert report.cache_key_changes == ()


def test_a_module_level_function_is_compared_by_identity_without_a_warning() -> None:
    key = jaxexplain.trace(
        statics.apply_activation,
        X3,
        static_argnames="activation",
        activation=jnp.tanh,
        compile=False,
    ).cache_key
    (static,) = key.static
    assert static.compared_by == "identity" and static.warnings == ()


def test_watch_names_the_rebuilt_optimizer_on_every_recompile() -> None:
    jax.clear_caches()  # jit wrappers of one function share its cache: start it empty
    with jaxexplain.watch() as watcher:
        step = statics.train_rebuilding_optimizer(3)
    report = watcher.report()
    events = [e for e in report.compiles_of("apply_optimizer") if e.kind == "jit"]
    assert len(events) == step._cache_size() == 3
    for event in events[1:]:
        assert {r.path for r in event.reasons} >= {"tx.init", "tx.update"}
    built = [r for r in report.recommendations if r.function.endswith("apply_optimizer")]
    assert [(r.kind, r.verified) for r in built] == [("build_once", True)]
    assert "tx" in built[0].text and built[0].line > 0
    # The recommendation carries the fix: the identity warning is not said again.
    assert not [w for w in report.warnings if w.function == "apply_optimizer"]


def test_watch_of_the_fix_compiles_once() -> None:
    jax.clear_caches()
    with jaxexplain.watch() as watcher:
        step = statics.train_building_optimizer_once(3)
    events = [e for e in watcher.report().compiles_of("apply_optimizer") if e.kind == "jit"]
    assert len(events) == step._cache_size() == 1
