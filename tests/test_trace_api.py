"""The library API on real functions: arguments, jaxpr counts, compile figures, calling conventions."""

from __future__ import annotations

from collections import Counter
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxexplain
from jaxexplain.api import trace_target
from jaxexplain.errors import TargetNotFound, UsageError, UserCodeError
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.report import TraceReport

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
    assert report.compile.flops == compiled.cost_analysis()["flops"]
    assert report.compile.memory is not None and report.compile.memory.argument_bytes == 12
    assert report.jaxpr.equation_sources[1].endswith("samples/unrolled.py:13")


def test_the_callers_work_runs_once_before_the_compile_is_awaited() -> None:
    calls: list[int] = []
    spec = {"x": ArraySpec((3,), "float32")}
    report = trace_target(
        "samples/unrolled.py:unrolled_power",
        {"n": 2},
        spec,
        while_compiling=lambda: calls.append(1),
    )
    assert calls == [1] and report.compile is not None
    trace_target(
        "samples/unrolled.py:unrolled_power",
        {"n": 2},
        spec,
        compile=False,
        while_compiling=lambda: calls.append(2),
    )
    assert calls == [1]


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


@pytest.mark.parametrize(
    ("target", "error", "match"),
    [
        ("no_such_module_xyz:f", TargetNotFound, "cannot find module 'no_such_module_xyz'"),
        ("tests/user_modules/basic.py:nope", TargetNotFound, "has no attribute 'nope'"),
        ("tests/user_modules/basic.py:NOT_CALLABLE", UsageError, "not a function"),
        ("tests/user_modules/nope.py:f", TargetNotFound, "no such file"),
        (
            "tests/user_modules/broken_import.py:f",
            UserCodeError,
            r"broken_import.py:5 \(CONFIG = json.loads",
        ),
        ("tests/user_modules/missing_dependency.py:f", UserCodeError, "not_a_real_package_xyz"),
        ("tests/user_modules/syntax_error.py:f", UserCodeError, "syntax_error.py:3"),
        (
            "tests/user_modules/basic.py:NeedsArgs.apply",
            UsageError,
            "cannot be created without arguments",
        ),
        ("just_a_module", UsageError, "must look like"),
    ],
)
def test_bad_targets(target: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        trace_target(target, {}, {"x": ArraySpec((3,), "float32")}, compile=False)


def test_missing_parameters_are_all_listed() -> None:
    with pytest.raises(
        UsageError,
        match=r'needs a value for x, w, b.*traced=\{"x": parse_array_spec\("f32\[8,128\]"\)\}',
    ):
        trace_target("tests/user_modules/basic.py:affine", {}, {}, compile=False)


def test_unknown_parameter_suggests_a_name() -> None:
    with pytest.raises(UsageError, match="did you mean 'factor'"):
        trace_target(
            "tests/user_modules/basic.py:scale",
            {"factr": 3},
            {"x": ArraySpec((3,), "float32")},
            compile=False,
        )


def test_factory_errors() -> None:
    with pytest.raises(UsageError, match="must return a dict"):
        trace_target(
            "tests/user_modules/basic.py:affine", args_from="tests/user_modules/basic.py:not_args"
        )
    with pytest.raises(UserCodeError, match="factory exploded"):
        trace_target(
            "tests/user_modules/basic.py:affine",
            args_from="tests/user_modules/basic.py:failing_factory",
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


def _nested(x, n):
    y = jax.lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x)
    y = jax.lax.fori_loop(0, n, lambda i, c: c * 2.0, y)
    y = jnp.where(y > 0, y, 0.0)
    return jax.jit(jnp.tanh)(y) + jax.nn.relu(y)


@pytest.mark.parametrize(
    ("fn", "args"),
    [(_nested, ("f32[4]", 3)), (_nested, ("f32[]", 0))],
)
def test_equation_sources_agree_with_jax_per_equation(fn, args) -> None:
    from jaxexplain import _jax_compat

    report = jaxexplain.trace(fn, *args, static_argnames="n", compile=False)
    assert report.jaxpr is not None
    jaxpr = jax.make_jaxpr(fn, static_argnums=1)(
        jnp.zeros(4 if args[0] == "f32[4]" else ()), args[1]
    )
    expected = [_jax_compat.equation_source(e) for e in jaxpr.jaxpr.eqns]
    assert list(report.jaxpr.equation_sources) == expected
    assert len(report.jaxpr.text.splitlines()) == len(report.jaxpr.line_sources)


def test_decisions_are_the_same_whether_or_not_compiling() -> None:
    """On Python 3.11 a compiling trace records its decisions in a second run that overlaps
    XLA's compile; the report must not depend on that."""
    spec = {"x": ArraySpec((3,), "float32")}
    compiled = trace_target("samples/unrolled.py:unrolled_power", {"n": 5}, spec)
    traced_only = trace_target("samples/unrolled.py:unrolled_power", {"n": 5}, spec, compile=False)
    assert compiled.compile is not None and compiled.error is None
    assert [(d.line, d.kind, d.outcomes) for d in compiled.decisions] == [(12, "for", (5,))]
    assert compiled.decisions == traced_only.decisions
    assert compiled.sources == traced_only.sources
    failed = trace_target(
        "samples/conditional.py:conditional_double",
        {"threshold": 0.5},
        {"x": ArraySpec((), "float32")},
    )
    assert failed.error is not None
    assert [(d.line, d.kind, d.outcomes) for d in failed.decisions] == []


def _jaxpr_lines(jaxpr: Any, file: str) -> Counter[int]:
    """Equations per line of `file` in a jaxpr and every jaxpr nested in it, by JAX's own
    source info."""
    from jax.extend import source_info_util

    counts: Counter[int] = Counter()
    for eqn in jaxpr.eqns:
        where, _, line = source_info_util.summarize(eqn.source_info).partition(":")
        if where == file:
            counts[int(line.partition(":")[0])] += 1
        for value in eqn.params.values():
            inner = getattr(value, "jaxpr", value)
            if hasattr(inner, "eqns"):
                counts += _jaxpr_lines(inner, file)
    return counts


def test_the_lines_of_a_scan_body_count_the_equations_jax_puts_in_it() -> None:
    from tests.user_modules import decisions_transforms

    params = {"layers": [ArraySpec((4, 4), "float32")] * 3}
    xs = ArraySpec((5, 4), "float32")
    report = trace_target(
        "tests/user_modules/decisions_transforms.py:scanned",
        {},
        {"params": params, "xs": xs},
        compile=False,
    )
    (listing,) = [s for s in report.sources if s.function == "scanned"]
    counted = {line.number: line.equations for line in listing.lines if line.equations}
    zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), (params, xs))
    jaxpr = jax.make_jaxpr(decisions_transforms.scanned)(*zeros).jaxpr
    assert counted == dict(_jaxpr_lines(jaxpr, decisions_transforms.__file__))
    body_line = next(line for line in listing.lines if "row = row @ layer" in line.text)
    assert counted[body_line.number] == 3


def test_a_loop_counts_the_equations_its_passes_put_into_the_jaxpr_helpers_included() -> None:
    from jax.extend import source_info_util

    from jaxexplain.renderers import render
    from tests.user_modules import unrolling

    report = trace_target(
        "tests/user_modules/unrolling.py:layers",
        {"n": 16},
        {"x": ArraySpec((4, 4), "float32")},
        compile=False,
    )
    layer_loop, mask_loop = (d for d in report.decisions if d.kind == "for")
    eqns = jax.make_jaxpr(unrolling.layers, static_argnums=1)(jnp.zeros((4, 4)), 16).eqns
    block_line = unrolling._block.__code__.co_firstlineno + 1
    in_block = [
        e
        for e in eqns
        if source_info_util.summarize(e.source_info).startswith(
            f"{unrolling.__file__}:{block_line}:"
        )
    ]
    assert (layer_loop.outcomes, layer_loop.equations) == ((16,), len(in_block))
    assert len(in_block) == 16 * 4
    assert (mask_loop.outcomes, mask_loop.equations) == ((16,), 0)
    text = " ".join(render(report, "text", width=200).split())
    assert "! for _ in range(n) at tests/user_modules/unrolling.py:12 ran 16 times" in text
    assert "put 64 equations into the jaxpr (about 4 per pass)" in text
    assert "! for i in range(16)" not in text
    page = render(report, "html")
    assert "16 iterations → 64 eq" in page and "16 iterations → 0 eq" in page


def test_a_helper_that_decided_nothing_is_listed_where_it_emitted_equations() -> None:
    from samples import transformer

    report = trace_target(
        "samples/transformer.py:transformer",
        args_from="samples/transformer.py:layers_2",
        compile=False,
    )
    functions = [s.function for s in report.sources]
    assert functions == ["transformer", "layer_norm", "attention", "activate"]
    (norm,) = [s for s in report.sources if s.function == "layer_norm"]
    counted = {line.number: line.equations for line in norm.lines if line.equations}
    jaxpr = transformer.transformer.trace(**transformer.make_args(2)).jaxpr.jaxpr
    lines = range(norm.lines[0].number, norm.lines[-1].number + 1)
    by_jax = _jaxpr_lines(jaxpr, transformer.__file__)
    assert counted == {n: by_jax[n] for n in lines if by_jax[n]} and counted
