"""api.py on real functions: arguments, jaxpr counts, compile figures, calling conventions, and
usage errors in the API's own words."""

from __future__ import annotations

from collections import Counter
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import jaxexplain
from jaxexplain import _jax_compat
from jaxexplain.api import diff_target, trace_target
from jaxexplain.errors import UsageError, UserCodeError
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.report import TraceReport
from tests.targets.shapes.package import model

SAMPLES = [
    ("samples/unrolled.py:unrolled_power", {"n": 5}, {"x": ArraySpec((3,), "float32")}, None),
    ("samples/unrolled.py:rolled_power", {"n": 5}, {"x": ArraySpec((3,), "float32")}, None),
    (
        "samples/conditional.py:where_double",
        {"threshold": 0.5},
        {"x": ArraySpec((8,), "float32")},
        None,
    ),
    (
        "samples/decorated.py:dense",
        {"activation": "gelu", "normalize": True},
        {
            "x": ArraySpec((4, 8), "float32"),
            "w": ArraySpec((8, 16), "float32"),
            "b": ArraySpec((16,), "float32"),
        },
        None,
    ),
    ("samples/transformer.py:transformer", {}, {}, "samples/transformer.py:layers_2"),
]


@pytest.mark.parametrize(("target", "static", "traced", "args_from"), SAMPLES)
def test_equation_counts_match_make_jaxpr(
    target: str, static: dict, traced: dict, args_from: str | None
) -> None:
    report = trace_target(target, static, traced, args_from=args_from, compile=False)
    assert report.ok, report.error
    from jaxexplain.inputs.targets import prepare_target

    tgt, plan = prepare_target(target, static, traced, args_from)
    args, kwargs = plan.call_args()
    statics = set(plan.static_names)
    dynamic = {k: v for k, v in kwargs.items() if k not in statics}
    fixed = {k: v for k, v in kwargs.items() if k in statics}

    def call(*a, **kw):
        return tgt.function(*a, **kw, **fixed)

    expected = jax.make_jaxpr(call)(*args, **dynamic)
    assert report.jaxpr is not None
    assert report.jaxpr.equations == len(expected.jaxpr.eqns)
    assert sum(report.jaxpr.primitives.values()) == report.jaxpr.equations


def test_report_facts_for_a_static_loop() -> None:
    report = trace_target(
        "samples/unrolled.py:unrolled_power", {"n": 4}, {"x": ArraySpec((3,), "float32")}
    )
    assert report.jaxpr is not None and report.compile is not None
    from samples.unrolled import unrolled_power

    expected = jax.make_jaxpr(unrolled_power, static_argnums=1)(jnp.zeros(3, jnp.float32), 4)
    assert report.jaxpr.primitives == dict(Counter(e.primitive.name for e in expected.eqns))
    assert {a.name: (a.role, a.source) for a in report.arguments} == {
        "x": ("traced", "cli"),
        "n": ("static", "cli"),
    }
    assert report.compile.backend == "cpu"
    from samples.unrolled import unrolled_power

    compiled = jax.jit(unrolled_power, static_argnames="n").lower(jnp.zeros(3), n=4).compile()
    assert report.compile.flops == _jax_compat.cost_analysis(compiled)["flops"]
    assert report.compile.memory is not None and report.compile.memory.argument_bytes == 12
    assert report.jaxpr.equation_sources[1].endswith("samples/unrolled.py:13")


def test_decorator_statics_are_kept_and_reported() -> None:
    report = trace_target(
        "samples/decorated.py:dense",
        {},
        {
            "x": ArraySpec((4, 8), "float32"),
            "w": ArraySpec((8, 16), "float32"),
            "b": ArraySpec((16,), "float32"),
        },
        compile=False,
    )
    roles = {a.name: (a.role, a.source, a.value) for a in report.arguments}
    assert roles["activation"] == ("static", "default", "'relu'")
    assert roles["normalize"] == ("static", "default", "False")
    report = trace_target(
        "samples/decorated.py:dense",
        {"activation": "gelu"},
        {
            "x": ArraySpec((4, 8), "float32"),
            "w": ArraySpec((8, 16), "float32"),
            "b": ArraySpec((16,), "float32"),
        },
        compile=False,
    )
    assert {a.name: a.source for a in report.arguments}["activation"] == "cli"
    assert any("decorator" in note for note in report.notes)


def test_static_argnums_decorator_is_read() -> None:
    report = trace_target(
        "tests/user_modules/basic.py:by_argnum",
        {"n": 3},
        {"x": ArraySpec((2,), "float32")},
        compile=False,
    )
    assert report.ok and report.cache_key is not None
    assert [s.name for s in report.cache_key.static] == ["n"]


def test_pytree_arguments_from_a_factory() -> None:
    report = trace_target(
        "tests/user_modules/basic.py:with_tree",
        args_from="tests/user_modules/basic.py:tree_args",
        compile=False,
    )
    assert report.ok and report.cache_key is not None
    assert [leaf.path for leaf in report.cache_key.traced] == ["params['b']", "params['w']", "x"]
    args = {a.name: a for a in report.arguments}
    assert args["params"].aval == {"b": "f32[4]", "w": "f32[3,4]"}
    assert args["params"].source == "factory"


def test_factory_returning_args_and_kwargs() -> None:
    report = trace_target(
        "tests/user_modules/basic.py:affine",
        args_from="tests/user_modules/basic.py:pair_args",
        compile=False,
    )
    assert report.ok and report.cache_key is not None
    assert {leaf.path: leaf.weak_type for leaf in report.cache_key.traced} == {
        "x": False,
        "w": False,
        "b": True,
    }


def test_method_target_is_bound_to_an_instance() -> None:
    report = trace_target(
        "tests/user_modules/basic.py:Model.apply",
        {},
        {"x": ArraySpec((3,), "float32")},
        compile=False,
    )
    assert report.ok and report.jaxpr is not None
    from tests.user_modules.basic import Model

    expected = jax.make_jaxpr(Model().apply)(jnp.zeros(3, jnp.float32))
    assert report.jaxpr.primitives == dict(Counter(e.primitive.name for e in expected.eqns))
    static = trace_target(
        "tests/user_modules/basic.py:Model.pure",
        {},
        {"x": ArraySpec((3,), "float32")},
        compile=False,
    )
    assert static.ok


def test_positional_only_and_varargs_are_passed_positionally() -> None:
    report = trace_target(
        "tests/user_modules/basic.py:positional_only",
        {"n": 2},
        {"x": ArraySpec((3,), "float32")},
        compile=False,
    )
    assert report.ok and report.cache_key is not None
    assert report.cache_key.treedef == "PyTreeDef(((*,), {}))"


def test_python_api_with_real_arrays_and_specs() -> None:
    def f(x, y, n):
        return (x + y) * n

    report = jaxexplain.trace(f, jnp.zeros((2, 3)), "f32[2,3]", static_argnames="n", n=3)
    assert isinstance(report, TraceReport) and report.ok
    assert {a.name: a.role for a in report.arguments} == {
        "x": "traced",
        "y": "traced",
        "n": "static",
    }
    assert report.compile is not None
    assert "Jaxpr" in str(report)


def test_round_trip_through_json() -> None:
    report = trace_target(
        "samples/unrolled.py:unrolled_power",
        {"n": 2},
        {"x": ArraySpec((3,), "float32")},
        hlo=True,
        stablehlo=True,
    )
    again = TraceReport.from_dict(report.to_dict())
    assert again == report
    assert report.compile is not None and "HloModule" in (report.compile.hlo or "")
    assert "stablehlo" in (report.compile.stablehlo or "") or "func.func" in (
        report.compile.stablehlo or ""
    )


def test_usage_errors_name_the_api_parameters_not_the_cli_flags() -> None:
    def f(x, n):
        return x * n

    with pytest.raises(UsageError) as raised:
        jaxexplain.trace(f, "f32[3]")
    assert str(raised.value).endswith('n="f32[8,128]"  (or static_argnames="n", n=3)')
    assert "--" not in str(raised.value)
    with pytest.raises(UsageError, match=r'^vs=\{"m": \.\.\.\}: the target has no parameter'):
        jaxexplain.diff(f, "f32[3]", 2, static_argnames="n", vs={"m": 3})


def test_target_usage_errors_name_the_target_api_parameters() -> None:
    affine = "tests/user_modules/basic.py:affine"
    with pytest.raises(UsageError) as raised:
        trace_target(affine, {}, {}, compile=False)
    assert str(raised.value).startswith("affine needs a value for x, w, b;")
    assert 'traced={"x": parse_array_spec("f32[8,128]")}  (or static={"x": 3})' in str(raised.value)
    with pytest.raises(UsageError, match=r'^args_from="tests/user_modules/basic.py:not_args" '):
        trace_target(affine, args_from="tests/user_modules/basic.py:not_args")
    with pytest.raises(UserCodeError, match="factory exploded"):
        trace_target(affine, args_from="tests/user_modules/basic.py:failing_factory")
    with pytest.raises(UsageError, match=r'^vs=\{"m": \.\.\.\}: the target has no parameter'):
        diff_target(
            "samples/unrolled.py:unrolled_power",
            {"n": 3},
            {"x": ArraySpec((3,), "float32")},
            {"m": "4"},
        )


def test_default_parameter_is_a_constant_of_the_trace() -> None:
    report = trace_target(
        "tests/user_modules/basic.py:scale", {}, {"x": ArraySpec((3,), "float32")}, compile=False
    )
    assert {a.name: (a.role, a.source, a.value) for a in report.arguments}["factor"] == (
        "static",
        "default",
        "2.0",
    )
    assert report.cache_key is not None and report.cache_key.static == ()
    x = np.zeros(3, np.float32)
    assert np.allclose(jax.jit(lambda x: x * 2.0)(x), x)


def test_python_api_static_given_by_position() -> None:
    def f(x, n):
        return x * n

    report = jaxexplain.trace(f, "f32[3]", 3, static_argnames="n")
    assert {a.name: (a.role, a.source, a.value) for a in report.arguments}["n"] == (
        "static",
        "api",
        "3",
    )
    assert report.cache_key is not None and report.cache_key.treedef == "PyTreeDef(((*,), {}))"
    jitted = jax.jit(f, static_argnums=1)
    assert report.jaxpr is not None
    assert report.jaxpr.equations == len(
        jax.make_jaxpr(f, static_argnums=1)(jnp.zeros(3), 3).jaxpr.eqns
    )
    assert jitted(jnp.zeros(3), 3).shape == (3,)


def test_a_vs_tuple_of_arrays_reads_as_abstract_values() -> None:
    """`vs={"p": (w, b)}` replacing a NamedTuple by a plain tuple: the heading shows the
    tuple's abstract values, not every number of its arrays; JAX recompiles, as the
    report says."""
    from jaxexplain import diff, render
    from tests.targets.shapes import puzzles

    x = jnp.zeros(4)
    report = diff(
        puzzles.affine,
        puzzles.Params(jnp.zeros((4, 2)), jnp.zeros(2)),
        x,
        vs={"p": (jnp.zeros((4, 2)), jnp.zeros(2))},
        compile=False,
    )
    text = render(report, "text", color=False)
    assert "side B is side A with p=(f32[4,2], f32[2])" in text
    assert "Array(" not in text
    puzzles.affine.clear_cache()
    puzzles.affine(puzzles.Params(jnp.zeros((4, 2)), jnp.zeros(2)), x)
    puzzles.affine((jnp.zeros((4, 2)), jnp.zeros(2)), x)
    assert report.recompiles and puzzles.affine._cache_size() == 2


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


def test_a_static_name_the_function_does_not_take_is_a_usage_error_as_in_jax() -> None:
    def f(x: Any, n: int) -> Any:
        return x * n

    with pytest.raises(ValueError, match="invalid argnames"):
        jax.jit(f, static_argnames="nope")(jnp.ones(2), 3)
    with pytest.raises(
        UsageError, match="unknown parameter 'nope'; the target's parameters are x, n"
    ):
        jaxexplain.trace(f, jax.ShapeDtypeStruct((2,), jnp.float32), 3, static_argnames="nope")
