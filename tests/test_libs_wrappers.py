"""Library wrappers and argument kinds against the real libraries: equinox.filter_jit split as
equinox splits it (checked by counting the real wrapper's traces), one module per file, every
argument kind a library passes serialised as JSON, unmodelled wrappers named, bad input clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain.inputs.loader import load_target
from jaxexplain.report import TraceReport
from tests.targets.libs import wrappers as targets

ROOT = Path(__file__).resolve().parent.parent
FILE = "tests/targets/libs/wrappers.py"


def real_traces(n: int) -> int:
    """How many times the real eqx.filter_jit function traced for a call with this `n`."""
    before = targets.TRACES["forward"]
    targets.forward(targets.make_scaled(), jnp.zeros((3, 4)), n)
    return targets.TRACES["forward"] - before


def test_filter_jit_python_int_is_static_and_its_change_recompiles_as_equinox_does() -> None:
    report = jaxexplain.trace(targets.forward, targets.make_scaled(), jnp.zeros((3, 4)), 2)
    assert report.ok, report.error
    assert {a.name: a.role for a in report.arguments}["n"] == "static"
    real_traces(2)
    assert real_traces(2) == 0
    assert real_traces(3) == 1
    same = jaxexplain.trace(targets.forward, targets.make_scaled(), jnp.zeros((3, 4)), 2)
    other = jaxexplain.trace(targets.forward, targets.make_scaled(), jnp.zeros((3, 4)), 3)
    assert same.cache_key.digest == report.cache_key.digest
    assert other.cache_key.digest != report.cache_key.digest
    diff = jaxexplain.diff(
        targets.forward, targets.make_scaled(), jnp.zeros((3, 4)), 2, vs={"n": 3}
    )
    assert diff.recompiles is True
    assert [(c.component, c.path) for c in diff.cache_key_changes] == [("static", "n")]


def test_filter_jit_module_traces_its_arrays_under_the_users_paths_and_holds_the_rest() -> None:
    model = targets.make_scaled()
    report = jaxexplain.trace(targets.forward, model, jnp.zeros((3, 4)), 2)
    arrays = jax.tree_util.tree_leaves_with_path(eqx.filter(model, eqx.is_array))
    expected = ["model" + jax.tree_util.keystr(path) for path, _ in arrays] + ["x"]
    assert [leaf.path for leaf in report.cache_key.traced] == expected
    assert report.arguments[0].pytree == "Scaled"
    assert any("equinox.filter_jit" in note and "model" in note for note in report.notes)


def test_filter_jit_static_field_change_recompiles_in_key_and_in_equinox() -> None:
    model = targets.make_scaled()
    renamed = targets.Scaled(model.mlp, model.activation, "other")
    a = jaxexplain.trace(targets.forward, model, jnp.zeros((3, 4)), 2, compile=False)
    b = jaxexplain.trace(targets.forward, renamed, jnp.zeros((3, 4)), 2, compile=False)
    targets.forward(model, jnp.zeros((3, 4)), 2)
    before = targets.TRACES["forward"]
    targets.forward(renamed, jnp.zeros((3, 4)), 2)
    assert targets.TRACES["forward"] - before == 1
    assert a.cache_key.digest != b.cache_key.digest


def test_target_and_factory_in_one_file_share_one_module() -> None:
    report = jaxexplain.trace_target(f"{FILE}:batch_dot", args_from=f"{FILE}:batch_args")
    assert report.ok, report.error
    assert report.arguments[0].pytree == "Batch (NamedTuple)"
    by_path = load_target(f"{FILE}:batch_dot").module
    assert load_target("tests.targets.libs.wrappers:batch_dot").module is by_path


def test_every_library_argument_kind_serialises_and_loads_back() -> None:
    for kind, (value, option) in targets.library_values().items():
        report = jaxexplain.trace(
            targets.anything, value, option, static_argnames="option", compile=False
        )
        assert report.ok, (kind, report.error)
        document = json.loads(report.to_json())
        assert TraceReport.from_dict(document).to_dict() == document, kind
        leaves = jax.tree_util.tree_leaves(value)
        assert len(report.cache_key.traced) == len(leaves), kind


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (targets.nnx_jitted_with_shardings, "flax.nnx.jit with in_shardings or out_shardings"),
        (targets.nnx_jitted_in_tree_mode, "flax.nnx.jit in tree mode"),
    ],
)
def test_unmodelled_wrapper_is_named_in_a_note(make: object, named: str) -> None:
    report = jaxexplain.trace(make(), **targets.nnx_args(), compile=False)
    assert any(f"{named} is not modelled" in note for note in report.notes), report.notes


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jaxexplain", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"},
        check=False,
    )


@pytest.mark.parametrize("output", ["text", "json"])
def test_library_not_installed_is_bad_input(output: str) -> None:
    result = run_cli("trace", "nosuchlib.mod:fn", "--format", output)
    assert result.returncode == 2
    if output == "json":
        assert "nosuchlib" in json.loads(result.stdout)["error"]["message"]
    else:
        assert "nosuchlib" in result.stderr and "Traceback" not in result.stderr


def test_library_function_target_is_user_code_for_its_own_listing() -> None:
    import optax

    report = jaxexplain.trace(optax.tree.norm, {"w": "f32[3]"}, compile=False)
    own = [s for s in report.sources if s.function.endswith("norm")]
    assert own, [s.function for s in report.sources]
    assert any(line.ran and line.equations for line in own[0].lines)


def test_filter_jit_method_bound_to_its_module_takes_self_as_an_argument() -> None:
    counter = targets.make_counter()
    report = jaxexplain.trace(counter.apply, jnp.zeros(3), 2, compile=False)
    assert report.ok, report.error
    arrays = jax.tree_util.tree_leaves_with_path(eqx.filter(counter, eqx.is_array))
    expected = ["self" + jax.tree_util.keystr(path) for path, _ in arrays] + ["x"]
    assert [leaf.path for leaf in report.cache_key.traced] == expected
    assert [s.name for s in report.cache_key.static] == ["n"]
    counter.apply(jnp.zeros(3), 2)
    before = targets.TRACES["apply"]
    counter.apply(jnp.zeros(3), 2)
    assert targets.TRACES["apply"] == before
    counter.apply(jnp.zeros(3), 3)
    assert targets.TRACES["apply"] == before + 1
    other = jaxexplain.trace(counter.apply, jnp.zeros(3), 3, compile=False)
    assert other.cache_key.digest != report.cache_key.digest


def test_filter_jit_star_args_hold_a_python_int_static_as_equinox_does() -> None:
    report = jaxexplain.trace(targets.total, jnp.zeros(3), 2, jnp.ones(3), compile=False)
    assert report.ok, report.error
    assert [leaf.path for leaf in report.cache_key.traced] == ["xs[0]", "xs[2]"]
    assert any("xs[1] static" in note for note in report.notes)
    targets.total(jnp.zeros(3), 2, jnp.ones(3))
    before = targets.TRACES["total"]
    targets.total(jnp.zeros(3), 2, jnp.ones(3))
    assert targets.TRACES["total"] == before
    targets.total(jnp.zeros(3), 3, jnp.ones(3))
    assert targets.TRACES["total"] == before + 1
    same = jaxexplain.trace(targets.total, jnp.zeros(3), 2, jnp.ones(3), compile=False)
    other = jaxexplain.trace(targets.total, jnp.zeros(3), 3, jnp.ones(3), compile=False)
    assert same.cache_key.digest == report.cache_key.digest
    assert other.cache_key.digest != report.cache_key.digest


def test_filter_jit_diff_is_verified_against_equinoxs_own_cache() -> None:
    counter = targets.make_counter()
    report = jaxexplain.diff(counter.apply, jnp.zeros(3), 2, vs={"n": 3}, compile=False)
    assert report.recompiles is True
    assert report.verification.checked and report.verification.agrees
    assert "equinox's own cache" in report.verification.note
    assert report.verification.cache_size_b == report.verification.cache_size_a + 1
    same = jaxexplain.diff(
        targets.forward, targets.make_scaled(), jnp.zeros((3, 4)), 2, vs={"x": jnp.ones((3, 4))}
    )
    assert same.recompiles is False
    assert same.verification.checked and same.verification.agrees
    assert "equinox's own cache" in same.verification.note


def test_haiku_apply_jitted_keys_params_rng_and_x_as_jax_does() -> None:
    apply, params = targets.haiku_apply()
    rng, x = jax.random.key(1), jnp.zeros((1, 3))
    report = jaxexplain.trace(apply, params, rng, x, is_training=True, compile=False)
    assert report.ok, report.error
    expected = [
        "params" + jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)
    ]
    assert [leaf.path for leaf in report.cache_key.traced] == [*expected, "rng", "x"]
    assert [s.name for s in report.cache_key.static] == ["is_training"]
    apply(params, rng, x, is_training=True)
    apply(params, jax.random.key(2), x, is_training=True)
    assert apply._cache_size() == 1
    apply(params, rng, x, is_training=False)
    assert apply._cache_size() == 2
    diff = jaxexplain.diff(apply, params, rng, x, is_training=True, vs={"is_training": False})
    assert diff.recompiles is True and diff.verification.agrees


def test_jit_of_a_bound_method_keeps_self_inside_the_function() -> None:
    scale = targets.Scale(2)
    jitted = jax.jit(scale.__call__)
    report = jaxexplain.trace(jitted, jnp.zeros(3), compile=False)
    assert report.ok, report.error
    assert [a.name for a in report.arguments] == ["x"]
    jitted(jnp.zeros(3))
    jitted(jnp.ones(3))
    assert jitted._cache_size() == 1
    again = jaxexplain.trace(jitted, jnp.ones(3), compile=False)
    assert again.cache_key.digest == report.cache_key.digest


def test_jit_of_the_unbound_method_with_static_self_compares_self_by_its_eq() -> None:
    jitted = jax.jit(targets.Scale.__call__, static_argnums=0)
    two = jaxexplain.trace(jitted, targets.Scale(2), jnp.zeros(3), compile=False)
    assert {a.name: a.role for a in two.arguments} == {"self": "static", "x": "traced"}
    jitted(targets.Scale(2), jnp.zeros(3))
    jitted(targets.Scale(2), jnp.zeros(3))
    assert jitted._cache_size() == 1
    jitted(targets.Scale(3), jnp.zeros(3))
    assert jitted._cache_size() == 2
    equal = jaxexplain.trace(jitted, targets.Scale(2), jnp.zeros(3), compile=False)
    other = jaxexplain.trace(jitted, targets.Scale(3), jnp.zeros(3), compile=False)
    assert equal.cache_key.digest == two.cache_key.digest
    assert other.cache_key.digest != two.cache_key.digest


@pytest.mark.parametrize("output", ["text", "json"])
def test_static_whose_hash_raises_is_a_failed_trace_named_clearly(output: str) -> None:
    with pytest.raises(RuntimeError):
        targets.scaled_by(jnp.zeros(3), targets.BadHash())
    result = run_cli(
        "trace",
        f"{FILE}:scaled_by",
        "--args-from",
        f"{FILE}:bad_hash_args",
        "--no-compile",
        "--format",
        output,
    )
    assert result.returncode == 1
    text = result.stdout if output == "json" else result.stdout + result.stderr
    assert "Traceback" not in text
    if output == "json":
        document = json.loads(result.stdout)
        assert document["error"]["type"] == "RuntimeError"
        notes = document["notes"]
    else:
        notes = [text.replace("\n", " ")]
    said = " ".join(" ".join(note.split()) for note in notes)
    assert "hashing static argument config (a BadHash) raises RuntimeError" in said
    assert "compared by identity" not in said
