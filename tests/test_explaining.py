"""explaining.py: one explanation start to end (trace, record, compile while the report is
built, notes and arguments described), and both sides of a diff checked against JAX."""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections import Counter
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.api import diff_target, trace, trace_target
from jaxexplain.errors import UsageError
from jaxexplain.explaining import (
    Options,
    describe_aval,
    diff_plans,
    explain,
    explain_target,
    parameter_roles,
    pytree_kind,
)
from jaxexplain.inputs import specs
from jaxexplain.inputs.caller import CLI, FUNCTION_API, Vocabulary
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.inputs.targets import function_plan, prepare_target
from jaxexplain.inputs.variation import plan_with_texts
from jaxexplain.report import TraceReport
from tests.targets.shapes.package import model

ATTENTION = "tests.targets.models.attention"
TRAINING = "tests.targets.training.mlp_step"
TRANSFORM = "tests.targets.models.transform"
MODEL = "tests.targets.shapes.package.model"


def explained(
    spec: str,
    static: dict[str, Any],
    traced: dict[str, Any],
    *,
    args_from: str | None = None,
    compile: bool = False,
) -> TraceReport:
    return explain_target(spec, static, traced, args_from, Options(CLI, compile=compile))


def test_the_callers_work_runs_while_xla_compiles_and_only_then() -> None:
    calls: list[int] = []
    spec = {"x": ArraySpec((3,), "float32")}
    options = Options(CLI, compile=True)
    target = "samples/unrolled.py:unrolled_power"
    report = explain_target(
        target, {"n": 2}, spec, None, options, while_compiling=lambda: calls.append(1)
    )
    assert calls == [1] and report.compile is not None
    no_compile = dataclasses.replace(options, compile=False)
    explain_target(
        target, {"n": 2}, spec, None, no_compile, while_compiling=lambda: calls.append(2)
    )
    assert calls == [1]


class Batch(NamedTuple):
    x: Any
    labels: Any


def _aval_text(leaf: Any) -> str:
    aval = jax.typeof(leaf)
    return ("~" if aval.weak_type else "") + aval.str_short(short_dtypes=True)


def test_a_pytree_argument_reads_as_its_leaves_abstract_values_by_key_path() -> None:
    layers = [jnp.zeros((2, 3)), jnp.zeros(3, jnp.int32)]
    value = {"layers": layers, "batch": Batch(1.0, None)}
    assert describe_aval(value) == {
        "batch": {"x": _aval_text(1.0)},
        "layers": [_aval_text(layers[0]), _aval_text(layers[1])],
    }
    assert _aval_text(1.0) == "~f32[]"
    assert describe_aval(jnp.zeros((4,), jnp.bfloat16)) == "bf16[4]"
    assert (pytree_kind(value), pytree_kind(Batch(1, 2)), pytree_kind(jnp.zeros(2))) == (
        "dict",
        "Batch (NamedTuple)",
        None,
    )


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class State:
    position: Any
    adapt: bool = dataclasses.field(metadata={"static": True})


def step(state: State, rate: float, n: int = 2, **extra: Any) -> Any:
    return state.position * rate if state.adapt else state.position


def test_each_parameter_has_its_role_for_the_recorder() -> None:
    state = State(jnp.zeros(3), adapt=True)
    _, plan = function_plan(step, (state, 0.5), set(), {"depth": 3})
    assert parameter_roles(plan) == {
        "state": "traced",
        "state.adapt": "static",
        "rate": "traced",
        "n": "default",
        "extra": "traced",
        "depth": "traced",
    }
    _, plan = function_plan(step, (state,), {"rate", "depth"}, {"rate": 0.5, "depth": 3})
    roles = parameter_roles(plan)
    assert (roles["rate"], roles["extra"], roles["depth"]) == ("static", "static", "static")


@pytest.mark.parametrize(
    ("vocabulary", "turn_on"),
    [
        (CLI, "set JAX_ENABLE_X64=1"),
        (FUNCTION_API, 'call jax.config.update("jax_enable_x64", True)'),
    ],
)
def test_64_bit_inputs_traced_as_32_bit_are_noted_in_the_callers_words(
    vocabulary: Vocabulary, turn_on: str
) -> None:
    narrowed = jax.dtypes.canonicalize_dtype(np.float64)
    target, plan = function_plan(jnp.sin, (np.zeros(3, np.float64),), set(), {})
    report = explain(target, plan, "sin", Options(vocabulary, compile=False))
    (note,) = [n for n in report.notes if n.startswith("64-bit inputs")]
    assert f"(float64 -> {narrowed})" in note and f"({turn_on} to keep 64-bit types)" in note


def test_statics_beyond_the_decorators_are_noted() -> None:
    x = {"x": ArraySpec((4, 8), "float32"), "w": ArraySpec((8, 16), "float32")}
    target, plan = prepare_target(
        "samples/decorated.py:dense", {}, {**x, "b": ArraySpec((16,), "float32")}, None
    )
    report = explain(target, plan, "dense", Options(CLI, compile=False))
    assert "static arguments activation, normalize come from the target's jax.jit decorator" in (
        report.notes
    )
    _, plan = function_plan(target.obj, ("f32[4,8]", "f32[8,16]", "f32[16]"), {"b"}, {})
    noted = explain(target, plan, "dense", Options(FUNCTION_API, compile=False)).notes
    assert any(n.startswith("b made static on top of the decorator's") for n in noted)


def test_a_side_that_fails_leaves_the_verdict_unchecked() -> None:
    target, plan_a = prepare_target(
        "samples/unrolled.py:unrolled_power", {"n": 3}, {"x": ArraySpec((3,), "float32")}, None
    )
    plan_b = plan_with_texts(target, plan_a, {"n": "2.5"}, CLI)
    options = Options(CLI, compile=False)
    report = diff_plans(
        target, plan_a, plan_b, "power", options, verify_limit=2**20, vs={"n": "2.5"}
    )
    assert report.a.ok and not report.b.ok and report.recompiles is None
    assert report.verification is not None
    assert (report.verification.checked, report.verification.note) == (
        False,
        "not checked: side B failed",
    )
    plan_b = plan_with_texts(target, plan_a, {"n": "4"}, CLI)
    report = diff_plans(target, plan_a, plan_b, "power", options, verify_limit=2**20, vs={"n": "4"})
    jitted = jax.jit(target.function, static_argnames="n")
    jitted(jnp.zeros(3), n=3)
    jitted(jnp.zeros(3), n=4)
    assert report.verification is not None and report.verification.checked
    assert report.recompiles is True and report.verification.cache_size_b == jitted._cache_size()


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

    target, plan = function_plan(fn, args, {"n"}, {})
    report = explain(target, plan, "nested", Options(FUNCTION_API, compile=False))
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
    compiled = explained("samples/unrolled.py:unrolled_power", {"n": 5}, spec, compile=True)
    traced_only = explained("samples/unrolled.py:unrolled_power", {"n": 5}, spec)
    assert compiled.compile is not None and compiled.error is None
    assert [(d.line, d.kind, d.outcomes) for d in compiled.decisions] == [(12, "for", (5,))]
    assert compiled.decisions == traced_only.decisions
    assert compiled.sources == traced_only.sources
    failed = explained(
        "samples/conditional.py:conditional_double",
        {"threshold": 0.5},
        {"x": ArraySpec((), "float32")},
        compile=True,
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
    report = explained(
        "tests/user_modules/decisions_transforms.py:scanned", {}, {"params": params, "xs": xs}
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

    report = explained(
        "tests/user_modules/unrolling.py:layers", {"n": 16}, {"x": ArraySpec((4, 4), "float32")}
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

    report = explained(
        "samples/transformer.py:transformer", {}, {}, args_from="samples/transformer.py:layers_2"
    )
    functions = [s.function for s in report.sources]
    assert functions == ["transformer", "layer_norm", "attention", "activate"]
    (norm,) = [s for s in report.sources if s.function == "layer_norm"]
    counted = {line.number: line.equations for line in norm.lines if line.equations}
    jaxpr = transformer.transformer.trace(**transformer.make_args(2)).jaxpr.jaxpr
    lines = range(norm.lines[0].number, norm.lines[-1].number + 1)
    by_jax = _jaxpr_lines(jaxpr, transformer.__file__)
    assert counted == {n: by_jax[n] for n in lines if by_jax[n]} and counted


def test_a_named_tuple_argument_is_described_with_its_field_names() -> None:
    report = trace_target(
        "tests.targets.shapes.pytrees:apply_layers",
        args_from="tests.targets.shapes.pytrees:layers_args",
        compile=False,
    )
    batch = next(a for a in report.arguments if a.name == "batch")
    assert batch.aval == {"inputs": "f32[8,16]", "labels": "f32[8]"}
    assert {leaf.path for leaf in report.cache_key.traced} >= {"batch.inputs", "batch.labels"}


def test_vs_changes_one_field_of_a_static_named_tuple_config() -> None:
    report = diff_target(
        f"{ATTENTION}:mha",
        vs={"config.causal": "False"},
        args_from=f"{ATTENTION}:mha_args",
        compile=False,
    )
    assert report.ok, (report.a.error, report.b.error)
    (change,) = report.cache_key_changes
    assert (change.component, change.path) == ("static", "config")
    assert "causal=True" in change.a and "causal=False" in change.b
    assert report.verification.checked and report.verification.agrees
    assert report.verification.jax_recompiled
    assert [(d.source, d.a, d.b) for d in report.decision_changes] == [
        ("config.causal", ("true",), ("false",))
    ]


def test_vs_changes_fields_of_a_dataclass_config_and_a_traced_leaf() -> None:
    report = diff_target(
        f"{TRAINING}:train_step",
        vs={"config.remat": "False", "batch.x": "f32[16,32]"},
        args_from=f"{TRAINING}:train_args",
        compile=False,
    )
    assert report.ok
    assert [(c.component, c.path) for c in report.cache_key_changes] == [("static", "config")]
    assert "remat=False" in report.cache_key_changes[0].b
    assert report.verification.checked and report.verification.agrees


@pytest.mark.parametrize(
    ("vs", "message"),
    [
        ("config.nope", "config is an AttnConfig with fields n_heads, causal, rotary, block_size"),
        ("config.causal.x", "config.causal is a bool, which has no fields"),
    ],
)
def test_vs_on_a_field_that_does_not_exist_is_a_usage_error(vs: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        diff_target(f"{ATTENTION}:mha", vs={vs: "1"}, args_from=f"{ATTENTION}:mha_args")


def test_diff_vs_a_new_keyword_goes_into_kwargs_and_jax_agrees() -> None:
    report = diff_target(
        f"{TRANSFORM}:apply",
        vs={"n_classes": "5"},
        args_from=f"{TRANSFORM}:net_args",
        compile=False,
    )
    assert report.ok, (report.a.error, report.b.error)
    assert [(c.component, c.path, c.b) for c in report.cache_key_changes] == [
        ("static", "n_classes", "5")
    ]
    assert report.verification.checked and report.verification.agrees
    assert report.recompiles


def test_the_decorator_note_names_only_statics_this_call_has() -> None:
    """`jax.jit(net.apply, static_argnames=("n_classes", "depth"))` over `**kwargs`: a call
    that passes neither has no static argument, and no note about them."""
    from tests.targets.models import transform

    neither = trace_target(f"{TRANSFORM}:apply", args_from=f"{TRANSFORM}:net_args", compile=False)
    assert neither.ok, neither.error
    assert [a.role for a in neither.arguments] == ["traced", "traced"]
    assert not [n for n in neither.notes if "decorator" in n]
    (params, images), _ = transform.net_args()
    assert transform.apply.trace(params, images).jaxpr.eqns
    depth = trace_target(
        f"{TRANSFORM}:apply", {"depth": 2}, args_from=f"{TRANSFORM}:depth2_args", compile=False
    )
    assert "static argument depth comes from the target's jax.jit decorator" in depth.notes


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


def test_the_report_says_how_often_the_functions_body_ran_when_it_ran_more_than_once() -> None:
    """A function that appends to a list while traced: the list grows as often as the report
    says the body ran (a second, recorded run overlaps the compile where recording is slow)."""
    runs: list[int] = []

    def appends(x: jax.Array, n: int) -> jax.Array:
        runs.append(n)
        for _ in range(n):
            x = x * 2
        return x

    for compile in (True, False):
        runs.clear()
        report = trace(appends, "f32[3]", n=2, static_argnames="n", compile=compile)
        said = [note for note in report.notes if "body ran" in note]
        if len(runs) == 1:
            assert said == []
        else:
            (note,) = said
            assert f"ran {len(runs)} times" in note
        assert [d.outcomes for d in report.decisions] == [(2,)]
