"""More unseen target shapes (tests/targets/shapes/package/): jitted methods, packages, odd signatures."""

from __future__ import annotations

import json
import warnings

import jax
import jax.numpy as jnp
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from typer.testing import CliRunner

import jaxexplain
from jaxexplain.api import trace_target
from jaxexplain.cli import app
from jaxexplain.inputs import specs
from tests.targets.shapes.package import model

MODEL = "tests.targets.shapes.package.model"


def test_a_file_path_target_inside_a_package_keeps_its_relative_imports() -> None:
    result = CliRunner().invoke(
        app,
        [
            *("trace", "tests/targets/shapes/package/model.py:fn", "--arg", "w=f32[4,4]"),
            *("--arg", "x=f32[2,4]", "--no-compile", "--format", "json"),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    w, x = jnp.ones((4, 4)), jnp.ones((2, 4))
    assert report["jaxpr"]["equations"] == len(jax.make_jaxpr(model.fn)(w, x).eqns)


def test_positional_values_from_a_factory_are_labelled_as_the_factory_s() -> None:
    report = trace_target(f"{MODEL}:kwonly_jit", args_from=f"{MODEL}:kwonly_args", compile=False)
    assert report.ok, report.error
    assert {a.name: (a.source, a.role) for a in report.arguments} == {
        "x": ("factory", "traced"),
        "n": ("factory", "static"),
    }


def test_a_64_bit_spec_without_x64_says_jax_traces_it_as_32_bit() -> None:
    """JAX 0.12 also warns when the ShapeDtypeStruct is made; JAX 0.10 narrows it silently."""
    assert not jax.config.read("jax_enable_x64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        report = trace_target(
            f"{MODEL}:lam", traced={"x": specs.parse_array_spec("f64[3]")}, compile=False
        )
        wide = jax.ShapeDtypeStruct((3,), "float64")
        jax_dtype = str(jax.make_jaxpr(model.lam)(wide).in_avals[0].dtype)
    assert report.ok, report.error
    assert report.cache_key.traced[0].dtype == jax_dtype
    assert any("float64 -> float32" in note for note in report.notes), report.notes


def test_a_bound_jitted_method_is_traced_with_its_instance_as_self() -> None:
    instance = model.Model(2.0)
    report = jaxexplain.trace(instance.apply, jnp.ones(3), compile=False)
    assert report.ok, report.error
    self_arg = next(a for a in report.arguments if a.name == "self")
    assert self_arg.role == "static"
    assert report.jaxpr.equations == len(
        jax.make_jaxpr(model.Model.apply.__wrapped__, static_argnums=0)(instance, jnp.ones(3)).eqns
    )


def test_a_diff_of_a_jitted_method_s_static_self_matches_jax_s_cache() -> None:
    instance = model.Model(2.0)
    report = jaxexplain.diff(
        instance.apply, jnp.ones(3), vs={"self": model.Model(3.0)}, compile=False
    )
    assert report.ok
    assert report.verification.checked, report.verification.note
    assert report.verification.jax_recompiled and report.verification.agrees


def test_an_unbound_jitted_method_on_the_command_line_asks_for_a_factory() -> None:
    result = CliRunner().invoke(app, ["trace", f"{MODEL}:Model.apply", "--arg", "x=f32[3]"])
    assert result.exit_code == 2
    assert "--args-from" in result.output and "Traceback" not in result.output


def test_a_diff_shows_an_array_value_as_its_abstract_value() -> None:
    devices = jax.devices()
    if len(devices) < 2:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=2 before JAX starts")
    mesh = jax.make_mesh((2,), ("d",))
    rows = jax.device_put(jnp.ones((4, 3)), NamedSharding(mesh, P("d")))
    replicated = jax.device_put(jnp.ones((4, 3)), NamedSharding(mesh, P()))
    report = jaxexplain.diff(model.sharded, rows, vs={"x": replicated}, compile=False)
    assert report.vs == {"x": "f32[4,3]"}
    assert [c.component for c in report.cache_key_changes] == ["sharding"]
    jitted = jax.jit(model.sharded)
    jitted(rows)
    jitted(replicated)
    assert report.verification.jax_recompiled == (jitted._cache_size() == 2)


def test_a_bound_method_of_a_registered_dataclass_traces_self_as_a_pytree() -> None:
    mlp = model.Mlp(jnp.eye(3), 2)
    report = jaxexplain.trace(mlp.apply, jnp.ones(3), compile=False)
    assert report.ok, report.error
    assert report.jaxpr.equations == len(model.Mlp.apply.trace(mlp, jnp.ones(3)).jaxpr.eqns)
    assert [leaf.path for leaf in report.cache_key.traced] == ["self.w", "x"]


def test_a_jit_of_a_partial_with_a_keyword_static_matches_jax() -> None:
    report = jaxexplain.trace(model.jit_partial, jnp.ones(3), compile=False)
    assert report.ok, report.error
    assert report.jaxpr.equations == len(model.jit_partial.trace(jnp.ones(3)).jaxpr.eqns)
