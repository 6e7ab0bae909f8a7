"""Decisions on the target's statics after they passed through haiku, flax, equinox and diffrax
frames name the target's parameter (and field path) via "static"; what each carry slot holds is
followed; and a recording another tracer took over says so. Each named dependency is checked
against JAX: changing that static changes the jaxpr, and the decision's outcome flips."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.renderers import render
from jaxexplain.report import Decision, Dependency, TraceReport
from tests.targets.libs import decisions as lib

X = jax.ShapeDtypeStruct((2, 3), jnp.float32)


def decision_at(report: TraceReport, text: str) -> Decision:
    (found,) = [d for d in report.decisions if d.source == text]
    return found


def jaxpr_text(fn: Callable[..., Any], static: dict[str, Any], *args: Any) -> str:
    """JAX's own jaxpr of `fn` with `static` bound as jit statics."""
    jitted = jax.jit(fn, static_argnames=tuple(static))
    return str(jitted.trace(*args, **static).jaxpr)


def test_haiku_is_training_passed_by_apply_is_the_targets_static() -> None:
    params = lib.haiku_params()["params"]
    report = jaxexplain.trace(
        lib.haiku_step, params, X, static_argnames="is_training", is_training=True, compile=False
    )
    assert decision_at(report, "is_training").depends_on == (Dependency("is_training", "static"),)
    flipped = jaxexplain.trace(
        lib.haiku_step, params, X, static_argnames="is_training", is_training=False, compile=False
    )
    assert decision_at(flipped, "is_training").outcomes == ("false",)
    on, off = (jaxpr_text(lib.haiku_step, {"is_training": t}, params, X) for t in (True, False))
    assert on != off


def test_flax_field_set_from_the_targets_static_names_that_static() -> None:
    params = lib.flax_params()["params"]
    report = jaxexplain.trace(
        lib.flax_step,
        params,
        X,
        static_argnames=("act", "train"),
        act="gelu",
        train=True,
        compile=False,
    )
    assert decision_at(report, 'self.act == "gelu"').depends_on == (Dependency("act", "static"),)
    by_act = {
        act: jaxpr_text(lib.flax_step, {"act": act, "train": True}, params, X)
        for act in ("gelu", "relu")
    }
    assert by_act["gelu"] != by_act["relu"]


def test_a_static_module_field_is_named_by_its_path() -> None:
    params = lib.flax_config_params()["params"]
    model = lib.ConfiguredBlock(lib.Config("gelu"))
    report = jaxexplain.trace(
        lib.flax_config_step, params, X, static_argnames="model", model=model, compile=False
    )
    decision = decision_at(report, 'self.config.act == "gelu"')
    assert decision.depends_on == (Dependency("model.config.act", "static"),)
    other = lib.ConfiguredBlock(lib.Config("relu"))
    assert jaxpr_text(lib.flax_config_step, {"model": model}, params, X) != jaxpr_text(
        lib.flax_config_step, {"model": other}, params, X
    )


def test_nn_scan_field_names_the_targets_static() -> None:
    params = lib.flax_scan_params()["params"]
    xs = jax.ShapeDtypeStruct((5, 2, 3), jnp.float32)
    report = jaxexplain.trace(
        lib.flax_scan_step,
        params,
        X,
        xs,
        static_argnames="residual",
        residual=True,
        compile=False,
    )
    decision = decision_at(report, "self.residual")
    assert decision.depends_on == (Dependency("residual", "static"),)
    assert set(decision.outcomes) == {"true"}
    on, off = (
        jaxpr_text(lib.flax_scan_step, {"residual": r}, params, X, xs) for r in (True, False)
    )
    assert on != off


def test_equinox_static_field_of_a_traced_module_is_its_aux_data() -> None:
    gate = lib.Gate(jnp.ones(3), True)
    x = jax.ShapeDtypeStruct((4, 3), jnp.float32)
    report = jaxexplain.trace(lib.equinox_step, gate, x, compile=False)
    assert decision_at(report, "self.use_bias").depends_on == (
        Dependency("gate.use_bias", "static"),
    )
    plain = lib.Gate(jnp.ones(3), False)
    assert jaxpr_text(lib.equinox_step, {}, gate, x) != jaxpr_text(lib.equinox_step, {}, plain, x)


def test_a_shared_value_the_call_did_not_pass_is_not_claimed() -> None:
    """`self.train` is the field's default False; the target's static `debug` is False too, and
    the same object, but the call never read `debug`; JAX agrees `debug` changes nothing."""
    params = lib.flax_default_params()["params"]
    report = jaxexplain.trace(
        lib.flax_default_step, params, X, static_argnames="debug", debug=False, compile=False
    )
    names = {d.name for d in decision_at(report, "self.train").depends_on}
    assert "debug" not in names
    quiet, loud = (
        jaxpr_text(lib.flax_default_step, {"debug": d}, params, X) for d in (False, True)
    )
    assert quiet == loud


def perturbed_outcomes(static: dict[str, Any], name: str, value: Any) -> tuple[str | int, ...]:
    y0 = jax.ShapeDtypeStruct((2,), jnp.float32)
    changed = {**static, name: value}
    report = jaxexplain.trace(
        lib.diffrax_solve, y0, static_argnames=tuple(changed), compile=False, **changed
    )
    return decision_at(report, "dt0 is None").outcomes


def test_a_name_bound_in_branches_depends_on_the_branch_test() -> None:
    """`dt0 = None` under `if adaptive:`: `dt0 is None` depends on `adaptive`, not on `solver`
    and not on a constant; changing each static in turn shows exactly that."""
    static = {"adaptive": True, "solver": "tsit5"}
    report = jaxexplain.trace(
        lib.diffrax_solve,
        jax.ShapeDtypeStruct((2,), jnp.float32),
        static_argnames=tuple(static),
        compile=False,
        **static,
    )
    decision = decision_at(report, "dt0 is None")
    assert decision.depends_on == (Dependency("adaptive", "static"),)
    assert perturbed_outcomes(static, "adaptive", False) != decision.outcomes
    assert perturbed_outcomes(static, "solver", "heun") == decision.outcomes


def test_a_scan_carry_slot_is_the_init_item_it_was_built_from() -> None:
    """`for row in total` with `total, count = carry` and init `(zeros(xs.shape[1:]), reps)`:
    the loop's length is xs's shape; JAX unrolls it by xs.shape[1], whatever reps is."""
    xs = jax.ShapeDtypeStruct((4, 3, 2), jnp.float32)
    report = jaxexplain.trace(lib.rows_in_scan, xs, 3, compile=False)
    decision = decision_at(report, "row in total")
    assert decision.depends_on == (Dependency("xs", "shape"),)
    assert decision.outcomes == (xs.shape[1],)
    wider = jax.ShapeDtypeStruct((4, 5, 2), jnp.float32)
    assert jaxpr_text(lib.rows_in_scan, {}, xs, 3) != jaxpr_text(lib.rows_in_scan, {}, wider, 3)
    assert jaxpr_text(lib.rows_in_scan, {}, xs, 3) == jaxpr_text(lib.rows_in_scan, {}, xs, 7)


def test_a_fori_loop_carry_subscript_is_followed_to_its_init_item() -> None:
    x = jax.ShapeDtypeStruct((3, 2), jnp.float32)
    report = jaxexplain.trace(lib.rows_in_fori, x, 3, compile=False)
    assert decision_at(report, "row in carry[0]").depends_on == (Dependency("x", "shape"),)


def test_the_traced_carry_value_a_failure_needed_is_the_users_reps() -> None:
    """`range(carry[1])` fails (a carry is traced); what it read is `reps`, never `xs`."""
    recorder = DecisionRecorder(lib.repeat_in_scan, {"xs": "traced", "reps": "traced"})
    with pytest.raises(jax.errors.TracerIntegerConversionError), recorder:
        jax.jit(lib.repeat_in_scan).trace(jax.ShapeDtypeStruct((4, 3), jnp.float32), 3)
    (body,) = [
        c for c in lib.repeat_in_scan.__code__.co_consts if getattr(c, "co_name", 0) == "body"
    ]
    needed = ast.parse("carry[1]", mode="eval").body
    assert [d.name for d in recorder.dependencies_of(body, needed)] == ["reps"]
    with pytest.raises(jax.errors.TracerIntegerConversionError):
        jax.jit(lib.repeat_in_scan, static_argnames="reps").trace(
            jax.ShapeDtypeStruct((4, 3), jnp.float32), reps=3
        )
    fixed = jax.jit(lib.static_reps_in_scan, static_argnames="reps")
    assert fixed.trace(jax.ShapeDtypeStruct((4, 3), jnp.float32), reps=3).jaxpr is not None


def reinstalling_tracer(events: list[str]) -> Callable[..., Any]:
    """A trace function that puts itself back as the global one on every call, as
    coverage.py's C tracer does."""

    def tracer(frame: Any, event: str, arg: Any) -> Callable[..., Any]:
        events.append(event)
        if event == "call":
            sys.settrace(tracer)
        return tracer

    return tracer


def chaining_tracer(events: list[str]) -> Callable[..., Any]:
    def tracer(frame: Any, event: str, arg: Any) -> Callable[..., Any]:
        events.append(event)
        return tracer

    return tracer


def traced_under(tracer: Callable[..., Any] | None) -> TraceReport:
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return jaxexplain.trace(
            lib.static_reps_in_scan,
            jax.ShapeDtypeStruct((4, 3), jnp.float32),
            static_argnames="reps",
            reps=3,
            compile=False,
        )
    finally:
        sys.settrace(previous)


def taken_monitoring_ids() -> Iterator[int]:
    """Every free sys.monitoring tool id taken, so that the recorder falls back on settrace."""
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    taken = [i for i in range(6) if monitoring.get_tool(i) is None]
    for tool in taken:
        monitoring.use_tool_id(tool, "test")
    try:
        yield len(taken)
    finally:
        for tool in taken:
            monitoring.free_tool_id(tool)


@pytest.fixture
def settrace_backend() -> Iterator[None]:
    """The recorder on sys.settrace: always on 3.11; on 3.12+ with no monitoring id free."""
    if not hasattr(sys, "monitoring"):
        yield
        return
    yield from taken_monitoring_ids()


@pytest.mark.usefixtures("settrace_backend")
def test_a_tracer_that_takes_the_hook_back_makes_decisions_unavailable() -> None:
    events: list[str] = []
    report = traced_under(reinstalling_tracer(events))
    assert events, "the other tracer ran"
    assert report.decisions == ()
    assert report.decisions_unavailable is not None
    assert "could not be recorded" in report.decisions_unavailable
    assert "reinstalling_tracer" in report.decisions_unavailable
    assert report.to_dict()["decisions_unavailable"] == report.decisions_unavailable
    text = render(report, color=False)
    assert "Decisions could not be recorded" in " ".join(text.split())
    assert all(line.ran for listing in report.sources for line in listing.lines)


@pytest.mark.usefixtures("settrace_backend")
def test_a_tracer_that_lets_the_hook_chain_keeps_decisions() -> None:
    events: list[str] = []
    report = traced_under(chaining_tracer(events))
    assert events
    assert report.decisions_unavailable is None
    assert decision_at(report, "_ in range(reps)").outcomes == (3,)


@pytest.mark.skipif(not hasattr(sys, "monitoring"), reason="sys.monitoring needs Python 3.12")
def test_another_monitoring_tool_leaves_decisions_recorded() -> None:
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    monitoring.use_tool_id(monitoring.DEBUGGER_ID, "debugger")
    try:
        report = traced_under(None)
    finally:
        monitoring.free_tool_id(monitoring.DEBUGGER_ID)
    assert report.decisions_unavailable is None
    assert decision_at(report, "_ in range(reps)").outcomes == (3,)
