"""The decision recorder's public face (decisions/recorder.py): it records only user code inside
the root's call, leaves no hook behind, can record again, and answers what an expression read
in a recorded frame depends on."""

from __future__ import annotations

import ast
import inspect
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jax
import pytest

from jaxexplain import _py_compat
from jaxexplain.api import trace_target
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.report import Decision
from jaxexplain.tracing.stages import fresh_copy
from jaxexplain.userfiles import counted_as_user_code
from tests.recording import USER_MODULES, X, marker_line, record, roles_of, user_module
from tests.targets.decisions import flow, reads

TRAINING = "tests.targets.training.mlp_step"


@pytest.fixture
def targets() -> object:
    return user_module("decisions_targets")


def hooks() -> tuple[object, list[str | None]]:
    """Python's trace function and the sys.monitoring tool ids in use."""
    if not _py_compat.HAS_MONITORING:
        return sys.gettrace(), []
    return sys.gettrace(), [sys.monitoring.get_tool(i) for i in range(6)]  # type: ignore[attr-defined]


def test_only_user_code_is_recorded(targets):
    recorder = record(targets.with_helpers, X, n=2, kind="wide")
    files = {d.file for d in recorder.decisions()} | set(recorder.executed_lines())
    assert {Path(f).parent for f in files} == {USER_MODULES}
    assert Path(targets.__file__).name in {Path(f).name for f in files}


def test_executed_lines_of_the_root_function(targets):
    recorder = record(targets.branches, X, n=2)
    ran = recorder.executed_lines()[targets.__file__]
    line = marker_line("if")
    assert {line, line + 2, line + 4, line + 5, line + 8} <= ran
    assert not {line + 1, line + 3, line + 7} & ran


def test_the_recorder_leaves_no_hook_behind(targets):
    before = hooks()
    record(targets.branches, X, n=2)
    assert hooks() == before


def test_one_recorder_records_again_and_forgets_the_last_recording(targets):
    """As api.py does where recording slows tracing: trace unrecorded, then record again."""
    jax.clear_caches()
    recorder = DecisionRecorder(targets.branches, roles_of(targets.branches, {"n": 2}))
    for n in (7, 2):
        jax.clear_caches()
        with recorder:
            jax.jit(targets.branches, static_argnames="n").trace(X, n=n)
    assert recorder.decisions() == record(targets.branches, X, n=2).decisions()


def test_a_recorder_records_once_at_a_time_and_answers_after() -> None:
    recorder = DecisionRecorder(flow.halvings, roles_of(flow.halvings, {}))
    with recorder:
        with pytest.raises(RuntimeError, match="already recording"), recorder:
            pass
        with pytest.raises(RuntimeError, match="after the recorder has exited"):
            recorder.decisions()
        flow.halvings(4)
    assert [d.outcomes for d in recorder.decisions()] == [("true", "true", "false")]


def test_what_an_expression_read_in_a_recorded_frame_depends_on() -> None:
    """Read in the last run of `thresholds`: `values` is the traced argument (a failure needed
    its value), `n` the static; a code object that did not run answers nothing."""
    roles = roles_of(reads.thresholds, {"n": 1})
    with DecisionRecorder(reads.thresholds, roles) as recorder:
        reads.thresholds([1.0], n=1)
    code = reads.thresholds.__code__
    expression = ast.parse("sum(values) + n", mode="eval").body
    found = recorder.dependencies_of(code, expression, needs_value=True)
    assert [(d.name, d.via) for d in found] == [("values", "value"), ("n", "static")]
    assert recorder.dependencies_of(reads.Model.apply.__code__, expression) == ()
    assert recorder.carry_slots_of(code, expression) == ()


def test_a_second_trace_of_one_signature_records_the_same_decisions() -> None:
    """Module-level helpers under jax.checkpoint/vmap are traced once by JAX's own caches."""
    first = trace_target(
        f"{TRAINING}:train_step", args_from=f"{TRAINING}:train_args", compile=False
    )
    second = trace_target(
        f"{TRAINING}:train_step", args_from=f"{TRAINING}:train_args", compile=False
    )
    lines = {d.line for d in first.decisions}
    assert {d.function for d in first.decisions} >= {"forward"}
    assert [(d.line, d.outcomes) for d in second.decisions] == [
        (d.line, d.outcomes) for d in first.decisions
    ]
    assert len(lines) == 4
    target, plan = prepare_target(f"{TRAINING}:train_step", {}, {}, f"{TRAINING}:train_args")
    args, kwargs = plan.call_args()
    assert second.jaxpr is not None
    assert second.jaxpr.equations == len(
        jax.jit(target.function, static_argnames="config").trace(*args, **kwargs).jaxpr.eqns
    )


def recorded_in_a_fresh_trace(function: Any, static: dict[str, Any]) -> tuple[Decision, ...]:
    """The decisions of one trace of a fresh copy of `function` (JAX caches traces per function
    object, so a copy is traced even while another thread traces the original)."""
    copy = fresh_copy(function)
    with DecisionRecorder(copy, roles_of(copy, static)) as recorder:
        jax.jit(copy, static_argnames=tuple(static)).trace(X, **static)
    return recorder.decisions()


def test_threads_recording_at_once_each_get_the_decisions_of_their_own_trace(targets):
    """Four threads trace at once, two of them the same function with other statics: each
    recording holds exactly the decisions its thread's trace made, as when traced alone."""
    cases = [
        (targets.loops, {"n": 3}),
        (targets.branches, {"n": 2}),
        (targets.loops, {"n": 5}),
        (targets.with_helpers, {"n": 2, "kind": "wide"}),
    ]
    alone = [recorded_in_a_fresh_trace(f, static) for f, static in cases]
    assert len({tuple(d.outcomes for d in decisions) for decisions in alone}) == len(cases)
    start = threading.Barrier(len(cases))

    def traced_at_once(case: tuple[Any, dict[str, Any]]) -> tuple[Decision, ...]:
        start.wait()
        return recorded_in_a_fresh_trace(*case)

    with ThreadPoolExecutor(len(cases)) as pool:
        for _ in range(30):
            assert list(pool.map(traced_at_once, cases)) == alone


def recorded_run(function: Any, n: int) -> DecisionRecorder:
    with DecisionRecorder(function, roles_of(function, {})) as recorder:
        function(n)
    return recorder


def test_code_that_sets_a_trace_function_and_puts_it_back_leaves_decisions_unknown() -> None:
    """The tracer was back before the recording ended: only the call itself tells that the
    hooks were disturbed in between, and the recording says so instead of a part."""
    before = sys.gettrace()
    recorder = recorded_run(flow.sets_and_restores_the_trace_function, 8)
    assert sys.gettrace() is before
    assert recorder.unavailable is not None
    assert "called sys.settrace (2 times" in recorder.unavailable
    assert recorder.decisions() == ()
    assert all(line.ran for listing in recorder.listings([]) for line in listing.lines)


def test_a_profile_function_set_inside_disturbs_only_where_it_shares_the_instrumentation() -> None:
    """On 3.11 a profile function is a hook of its own and every decision is seen; from 3.12
    it rewrites the instrumentation the recorder's events live in, and the report says so."""
    recorder = recorded_run(flow.profiles_itself, 8)
    steps = flow.halvings(8)
    if _py_compat.SETPROFILE_DISTURBS_RECORDING:
        assert recorder.unavailable is not None
        assert "called sys.setprofile (2 times" in recorder.unavailable
        assert recorder.decisions() == ()
    else:
        assert recorder.unavailable is None
        (loop,) = [d for d in recorder.decisions() if d.function == "halvings"]
        assert loop.outcomes == ("true",) * steps + ("false",)


def test_a_trace_function_set_in_another_thread_leaves_the_recording_whole() -> None:
    """Another thread setting its own trace function (threading's tracer of a new thread, a
    debugger there) does not touch this thread's hooks."""
    started, recorded = threading.Event(), threading.Event()

    def sets_elsewhere() -> None:
        started.wait()
        flow.sets_and_restores_the_trace_function(4)
        recorded.set()

    other = threading.Thread(target=sets_elsewhere)
    other.start()

    def waits_for_the_other_thread(n: int) -> int:
        started.set()
        recorded.wait()
        return flow.halvings(n)

    recorder = recorded_run(waits_for_the_other_thread, 8)
    other.join()
    assert recorder.unavailable is None
    (loop,) = [d for d in recorder.decisions() if d.function == "halvings"]
    assert loop.outcomes == ("true",) * flow.halvings(8) + ("false",)


def test_code_switched_off_by_an_earlier_recording_is_recorded_once_it_is_user_code() -> None:
    """A recording switches off code that is not user code (JAX's `softmax`, under a user
    function calling it), for as long as the process lives; explaining `softmax` itself
    counts its file as user code, and then its decisions are all seen again."""
    softmax_file = inspect.getsourcefile(jax.nn.softmax)
    assert softmax_file is not None

    def calls_softmax(x: jax.Array) -> jax.Array:
        return jax.nn.softmax(x) * 2

    def softmax_decisions() -> tuple[Decision, ...]:
        with counted_as_user_code(softmax_file):
            recorder = record(jax.nn.softmax, X)
        return recorder.decisions()

    alone = softmax_decisions()
    assert {d.function for d in alone} >= {"softmax"}
    assert not any(d.file == softmax_file for d in record(calls_softmax, X).decisions())
    assert softmax_decisions() == alone
