"""Statics a library jit wrapper holds inside an argument, named by the user's paths: an
equinox module's float field under filter_jit (trace, diff, watch), its fix in equinox's words
checked by JAX's cache size; an nnx module's float attribute; a linen apply's static float."""

from __future__ import annotations

import jax.numpy as jnp

import jaxexplain
from jaxexplain import _jax_compat
from tests.targets.libs import equinox_fields as targets

FILE = "tests/targets/libs/equinox_fields.py"


def compiled_entries(jitted: object) -> int:
    """JAX's count of the compiled entries of a filter_jit function (equinox keeps one inner
    jit per function, shared by every filter_jit of it: tests count what their calls add)."""
    return _jax_compat.cache_size(_jax_compat.filter_jit_cache(jitted))


def filter_jit_compiles(scales: list[float]) -> int:
    """How many compiles the calls of `apply` with these values of its float field add."""
    before = compiled_entries(targets.apply)
    for scale in scales:
        targets.apply(targets.Scaled(jnp.ones(3), scale), jnp.ones(3))
    return compiled_entries(targets.apply) - before


def test_trace_lists_the_float_field_among_the_statics_by_its_path() -> None:
    report = jaxexplain.trace_target(f"{FILE}:apply", args_from=f"{FILE}:side_a", compile=False)
    assert report.ok, report.error
    (static,) = report.cache_key.static
    assert (static.name, static.value, static.type, static.compared_by) == (
        "model.scale",
        "0.5",
        "float",
        "value",
    )
    assert [leaf.path for leaf in report.cache_key.traced] == ["model.w", "x"]
    assert "0.5" not in report.cache_key.treedef


def test_diff_from_a_factory_names_the_static_field_and_its_values_as_jax_recompiles() -> None:
    diff = jaxexplain.diff_target(
        f"{FILE}:apply", args_from=f"{FILE}:side_a", vs_from=f"{FILE}:side_b", compile=False
    )
    assert diff.recompiles is (filter_jit_compiles([0.25, 4.0]) == 2)
    assert diff.verified
    assert [(c.component, c.path, c.a, c.b) for c in diff.cache_key_changes] == [
        ("static", "model.scale", "0.5", "2.0")
    ]


def test_diff_suggests_storing_the_field_as_an_array_verified_by_one_entry() -> None:
    diff = jaxexplain.diff_target(
        f"{FILE}:apply", args_from=f"{FILE}:side_a", vs={"model.scale": "2.0"}, compile=False
    )
    (suggestion,) = diff.suggestions
    assert (suggestion.kind, suggestion.params, suggestion.verified) == (
        "make_traced",
        ("model.scale",),
        True,
    )
    assert "jnp.asarray(0.5)" in suggestion.text
    assert "eqx.field(static=True)" in suggestion.text
    assert "static_argnums" not in suggestion.text and "register_dataclass" not in suggestion.text
    # The fix itself, by hand: the field stored as an array is one entry for every value.
    before = compiled_entries(targets.apply)
    for scale in (0.5, 1.0, 2.0):  # shape (5,), which no other test calls it with
        targets.apply(targets.Scaled(jnp.ones(5), jnp.asarray(scale)), jnp.ones(5))
    assert compiled_entries(targets.apply) - before == 1


def test_watch_names_the_field_not_equinoxs_static_argument() -> None:
    before = compiled_entries(targets.apply)
    with jaxexplain.watch() as watcher:
        for scale in (0.125, 0.375, 0.625):
            targets.apply(targets.Scaled(jnp.ones(3), scale), jnp.ones(3))
    report = watcher.report()
    events = [e for e in report.events if e.function.endswith("apply")]
    assert len(events) == compiled_entries(targets.apply) - before == 3
    assert {(r.component, r.path) for e in events for r in e.reasons} == {("static", "model.scale")}
    assert ("0.125", "0.375") in [(r.before, r.after) for r in events[1].reasons]
    (recommendation,) = [r for r in report.recommendations if r.kind == "make_traced"]
    assert recommendation.verified and recommendation.params == ("model.scale",)
    assert "jnp.asarray" in recommendation.text
    assert not [w for w in report.warnings if "static" in w.path]


def test_watch_says_a_field_that_shapes_the_program_must_stay_static() -> None:
    before = compiled_entries(targets.unrolled)
    with jaxexplain.watch() as watcher:
        for rate in (0.5, 1.0):
            targets.unrolled(targets.Steps(jnp.ones(3), rate), jnp.ones(3))
    report = watcher.report()
    assert compiled_entries(targets.unrolled) - before == 2
    assert not [r for r in report.recommendations if r.kind == "make_traced"]
    (warning,) = [w for w in report.warnings if w.path == "model.rate"]
    assert warning.kind == "stay_static"
    assert "eqx.field(static=True)" in warning.message and "static_argnums" not in warning.message


def test_nnx_float_attribute_recompiles_as_nnx_does_and_its_change_is_named() -> None:
    diff = jaxexplain.diff_target(
        f"{FILE}:nnx_apply",
        args_from=f"{FILE}:nnx_side_a",
        vs_from=f"{FILE}:nnx_side_b",
        compile=False,
    )
    before = _jax_compat.cache_size(targets.nnx_apply.jitted_fn)
    for scale in (0.25, 4.0):
        targets.nnx_apply(targets.NnxScaled(scale), jnp.ones(3))
    compiles = _jax_compat.cache_size(targets.nnx_apply.jitted_fn) - before
    assert diff.recompiles is (compiles == 2) and diff.verified
    (change,) = diff.cache_key_changes
    assert change.component == "treedef"
    assert "'scale', Static(value=0.5)" in change.a and "'scale', Static(value=2.0)" in change.b


def test_linen_apply_static_float_is_named_and_its_fix_verified() -> None:
    jitted, params = targets.linen_apply()
    x = jnp.ones((1, 3))
    diff = jaxexplain.diff(jitted, params, x, rate=0.5, vs={"rate": 2.0}, compile=False)
    for rate in (0.5, 2.0):
        jitted(params, x, rate=rate)
    assert diff.recompiles is (_jax_compat.cache_size(jitted) == 2)
    assert [(c.component, c.path, c.a, c.b) for c in diff.cache_key_changes] == [
        ("static", "rate", "0.5", "2.0")
    ]
    (suggestion,) = diff.suggestions
    assert (suggestion.kind, suggestion.params, suggestion.verified) == (
        "make_traced",
        ("rate",),
        True,
    )
