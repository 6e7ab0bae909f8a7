"""A sweep run end to end on real JAX: per-point figures against JAX's own counts and compile
log, failing points as rows, budgets, traced dimensions, the loop rewrite and make_traced."""

from __future__ import annotations

import functools
import json
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain import _jax_compat
from jaxexplain.renderers import render
from jaxexplain.report import SweepReport
from jaxexplain.timings import json_timings
from tests.targets.sweep.growth import interrupted, looped, matmul, picky, scaled, unrolled

SIZES = [1, 2, 4, 8]


def nested_equations(jaxpr: Any, seen: set[int] | None = None) -> int:
    """Every equation, those of sub-jaxprs (scan and loop bodies) once per distinct jaxpr."""
    seen = set() if seen is None else seen
    if id(jaxpr) in seen:
        return 0
    seen.add(id(jaxpr))
    total = len(jaxpr.eqns)
    for eqn in jaxpr.eqns:
        for param in eqn.params.values():
            for sub in param if isinstance(param, tuple | list) else (param,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    total += nested_equations(inner, seen)
    return total


@pytest.fixture(scope="module")
def unrolled_sweep() -> SweepReport:
    return jaxexplain.sweep(
        unrolled, "f32[8]", over={"n": SIZES}, static_argnames="n", compile=False
    )


def test_each_point_counts_the_equations_make_jaxpr_counts(unrolled_sweep: SweepReport) -> None:
    x = jnp.zeros(8)
    for n, point in zip(SIZES, unrolled_sweep.points, strict=True):
        jaxpr = jax.make_jaxpr(functools.partial(unrolled, n=n))(x).jaxpr
        assert point.values == {"n": n}
        assert point.equations == len(jaxpr.eqns)
        assert point.equations_nested == nested_equations(jaxpr)
        assert point.compile_seconds is None


def test_nested_equations_count_a_loop_body(tmp_path: Any) -> None:
    report = jaxexplain.sweep(
        looped, "f32[8]", over={"n": [1, 2, 3]}, static_argnames="n", compile=False
    )
    jaxpr = jax.make_jaxpr(functools.partial(looped, n=3))(jnp.zeros(8)).jaxpr
    assert report.points[-1].equations_nested == nested_equations(jaxpr)
    assert report.points[-1].equations_nested > report.points[-1].equations
    assert report.growth["equations"].name == "constant"


def test_the_unrolling_loop_is_named_and_its_fori_loop_is_verified(
    unrolled_sweep: SweepReport,
) -> None:
    (loop,) = unrolled_sweep.loops
    assert loop.iterations == tuple(SIZES) and loop.per_value == 1.0 and loop.of == "n"
    assert loop.verified and loop.checks == ("traced", "no_growth", "values")
    assert "lax.fori_loop(0, n" in (loop.rewrite or "")
    rewritten = {}
    exec(  # the rewrite as the user would paste it, checked here against JAX's own count
        "def f(x, n):\n    acc = x\n" + loop.rewrite + "\n    return acc\n",
        {"lax": jax.lax, "jnp": jnp},
        rewritten,
    )
    counts = {
        len(jax.make_jaxpr(functools.partial(rewritten["f"], n=n))(jnp.zeros(8)).eqns)
        for n in SIZES
    }
    assert counts == {loop.rewrite_equations[0]}


def test_decisions_that_changed_and_the_growth_verdicts(unrolled_sweep: SweepReport) -> None:
    assert unrolled_sweep.points[0].decision_changes == ()
    change = unrolled_sweep.points[1].decision_changes[0]
    assert (change.kind, change.a, change.b) == ("for", (1,), (2,))
    assert unrolled_sweep.growth["equations"].name == "linear"
    assert "compile_seconds" not in unrolled_sweep.growth
    (advice,) = unrolled_sweep.suggestions
    assert advice.kind == "advice"


def test_compile_seconds_are_real_compiles_with_caches_cleared() -> None:
    durations: list[float] = []

    def listen(event: str, seconds: float, **_: Any) -> None:
        if event == _jax_compat.COMPILE_EVENT:
            durations.append(seconds)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        report = jaxexplain.sweep(looped, "f32[8]", over={"n": [1, 2, 3]}, static_argnames="n")
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert report.caches_cleared and "jax.clear_caches()" in report.notes[0]
    # The warm-up compiles the first point once more; then one compile per point, in order.
    assert len(durations) == len(report.points) + 1
    for point, seconds in zip(report.points, durations[1:], strict=True):
        assert point.compile_seconds is not None and point.compile_seconds >= seconds
        assert point.flops is not None and point.memory is not None


def test_a_failing_point_is_a_row_with_its_explanation() -> None:
    report = jaxexplain.sweep(
        picky, "f32[8]", over={"n": [2, 4, 8]}, static_argnames="n", compile=False
    )
    assert [p.ok for p in report.points] == [True, True, False]
    assert report.points[2].error is not None and report.points[2].error.line is not None
    assert not report.ok


def test_the_first_point_over_budget_is_reported() -> None:
    report = jaxexplain.sweep(
        unrolled,
        "f32[8]",
        over={"n": SIZES},
        static_argnames="n",
        compile=False,
        budget={"equations": 5},
        predict={"n": 100},
    )
    (over,) = report.budget_exceeded
    assert (over.figure, over.limit, over.value, over.values) == ("equations", 5, 8, {"n": 4})
    assert not report.ok
    predicted = {p.figure: p.value for p in report.predictions}
    assert predicted["equations"] == pytest.approx(
        len(jax.make_jaxpr(functools.partial(unrolled, n=100))(jnp.zeros(8)).eqns)
    )


def test_a_traced_dimension_is_swept_by_its_varying_size() -> None:
    report = jaxexplain.sweep(
        matmul, over={"a": ["f32[8,8]", "f32[16,8]", "f32[32,8]"]}, b="f32[8,8]"
    )
    assert [p.sizes["a"] for p in report.points] == [8.0, 16.0, 32.0]
    assert report.over[0].role == "traced"
    assert [p.values["a"] for p in report.points] == ["f32[8,8]", "f32[16,8]", "f32[32,8]"]
    flops = []
    for rows in (8, 16, 32):
        a = jax.ShapeDtypeStruct((rows, 8), jnp.float32)
        b = jax.ShapeDtypeStruct((8, 8), jnp.float32)
        flops.append(_jax_compat.cost_analysis(jax.jit(matmul).lower(a, b).compile())["flops"])
    assert [p.flops for p in report.points] == flops
    assert report.growth["flops"].name == "linear"


def test_a_static_that_only_changes_constants_gets_make_traced() -> None:
    report = jaxexplain.sweep(
        scaled, "f32[4]", over={"scale": [0.5, 1.0, 2.0]}, static_argnames="scale", compile=False
    )
    (suggestion,) = report.suggestions
    assert suggestion.kind == "make_traced" and suggestion.verified


def test_the_json_document_loads_back(unrolled_sweep: SweepReport) -> None:
    document = json.loads(render(unrolled_sweep, "json"))
    assert document["schema"] == "jaxexplain.sweep/1"
    assert document["over"] == [{"name": "n", "values": SIZES, "role": "static"}]
    assert document["growth"]["equations"]["name"] == "linear"
    assert SweepReport.from_dict(document).to_dict() == json_timings(unrolled_sweep.to_dict())


def test_an_interrupt_keeps_the_points_explained_before_it() -> None:
    report = jaxexplain.sweep(
        interrupted, "f32[4]", over={"n": [1, 2, 4, 8]}, static_argnames="n", compile=False
    )
    assert [p.values for p in report.points] == [{"n": 1}, {"n": 2}]
    assert report.interrupted and not report.ok
    assert "interrupted after 2 of 4 points" in report.notes[-1]
