"""Fifth real-world pass (tests/realworld5/): meta-learning, Gaussian processes, MCMC, RL,
diffusion, flows and graph networks, each fact checked against JAX itself."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from jaxexplain.api import trace_target
from jaxexplain.inputs.specs import ArraySpec

FAILING = "tests.targets.failures.research"
FLOWS = "tests.targets.science.flows"


def test_a_mask_held_in_a_name_is_explained_as_boolean_mask_indexing() -> None:
    """`x[mask].mean()` with `mask` a traced bool array: JAX raises its boolean-index error,
    and the explanation speaks of a mask deciding the result's shape, not of indexing a
    Python sequence with an int."""
    from tests.targets.failures import research as failing

    x, mask = jnp.zeros(10), jnp.zeros(10, bool)
    with pytest.raises(jax.errors.NonConcreteBooleanIndexError):
        failing.masked_mean(x, mask)
    report = trace_target(
        f"{FAILING}:masked_mean",
        {},
        {"x": ArraySpec((10,), "float32"), "mask": ArraySpec((10,), "bool")},
        compile=False,
    )
    assert report.error is not None and report.error.line == 18
    assert report.error.construct == "bool_index"
    assert "Python sequence" not in report.error.explanation
    assert all("Python sequence" not in s.text for s in report.error.suggestions)
    assert any("jnp.where(mask, x, fill)" in s.text for s in report.error.suggestions)


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


def test_a_decision_on_a_pytree_s_aux_data_depends_on_that_static_value() -> None:
    """`if state.adapt:` where `adapt` is aux data of a registered pytree class: the decision
    depends on `state.adapt` as a static (JAX recompiles when it changes, through the tree
    structure), not on any shape of `state`."""
    from tests.targets.science import flows

    report = trace_target(
        f"{FLOWS}:sampler_update", args_from=f"{FLOWS}:sampler_args", compile=False
    )
    assert report.ok, report.error
    (decision,) = report.decisions
    assert decision.outcomes == ("true",)
    assert [(d.name, d.via) for d in decision.depends_on] == [("state.adapt", "static")]
    args = flows.sampler_args()
    flows.sampler_update.clear_cache()
    flows.sampler_update(**args)
    flows.sampler_update(
        flows.SamplerState(args["state"].position, args["state"].step_size, False), args["grad"]
    )
    assert flows.sampler_update._cache_size() == 2
    assert report.jaxpr.equations == len(flows.sampler_update.trace(**args).jaxpr.eqns)


@pytest.mark.parametrize(
    ("function", "line", "source"),
    [("count_classes", 12, "jnp.unique(labels)"), ("n_positive", 39, "jnp.nonzero(x > 0)")],
)
def test_a_data_sized_call_without_size_points_to_a_static_size(
    function: str, line: int, source: str
) -> None:
    """`jnp.unique(labels)` / `jnp.nonzero(x > 0)` under jit: JAX needs concrete values
    because the result's length depends on them; the fix offered is `size=K`, which JAX
    traces (no static choice of an argument can help)."""
    from tests.targets.failures import research as failing

    spec = ArraySpec((10,), "int32" if function == "count_classes" else "float32")
    name = "labels" if function == "count_classes" else "x"
    report = trace_target(f"{FAILING}:{function}", {}, {name: spec}, compile=False)
    assert report.error is not None and report.error.line == line
    assert report.error.construct == "sized" and source in report.error.source
    assert not any(s.kind == "make_static" for s in report.error.suggestions)
    assert any("size=K" in s.text for s in report.error.suggestions)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        getattr(failing, function)(jnp.zeros(10, spec.dtype))
    sized = jax.jit(lambda v: jnp.unique(v, size=10, fill_value=-1))
    assert sized.trace(jnp.zeros(10, jnp.int32)).jaxpr.eqns


def test_grad_of_a_fori_loop_with_a_traced_bound_is_jax_s_error_fixed_by_a_static_bound() -> None:
    """`jax.grad` of a loss that runs `lax.fori_loop(0, n_steps, ...)` with `n_steps` a traced
    Python int: JAX refuses reverse mode through the resulting while_loop; the report says JAX
    raised it (not the user's code), names `n_steps`, and verifies making it static, which JAX
    then differentiates."""
    from tests.targets.failures import research as failing

    theta = jnp.float32(0.5)
    with pytest.raises(ValueError, match="Reverse-mode differentiation"):
        failing.unrolled_loss(theta, 10)
    report = trace_target(
        f"{FAILING}:unrolled_loss",
        {},
        {"theta": ArraySpec((), "float32"), "n_steps": 10},
        compile=False,
    )
    assert report.error is not None and report.error.raised_by == "jax"
    assert [(d.name, d.via) for d in report.error.depends_on] == [("n_steps", "value")]
    (fix,) = [s for s in report.error.suggestions if s.verified]
    assert fix.kind == "make_static" and fix.params == ("n_steps",)
    fixed = jax.jit(failing.unrolled_loss.__wrapped__, static_argnames=fix.params)
    assert float(fixed(theta, n_steps=10)) != 0.0
