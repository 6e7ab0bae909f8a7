"""The sys.settrace backend (decisions/settrace.py), which Python 3.11 always uses and 3.12+
when no sys.monitoring tool id is free: a prior trace function keeps its events and is put
back; code that takes the hook away makes the recording say that it is not whole."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import jax
import pytest

from jaxexplain import _py_compat
from jaxexplain.decisions.recorder import DecisionRecorder
from tests.recording import X, roles_of, summary, user_module
from tests.targets.decisions import flow


@pytest.fixture
def settrace_backend() -> Iterator[None]:
    """Every free sys.monitoring tool id taken (where there is sys.monitoring), so that the
    recorder runs on sys.settrace."""
    if not _py_compat.HAS_MONITORING:
        yield
        return
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    taken = [i for i in range(6) if monitoring.get_tool(i) is None]
    for tool in taken:
        monitoring.use_tool_id(tool, "test-occupied")
    try:
        yield
    finally:
        for tool in taken:
            monitoring.free_tool_id(tool)


@pytest.fixture
def prior_tracer() -> Iterator[list[tuple[str, str]]]:
    """A user's own trace function (a debugger, coverage) installed around the test: it
    records the calls and lines of the target file."""
    calls: list[tuple[str, str]] = []

    def lines(frame: Any, event: str, arg: Any) -> Any:
        calls.append((frame.f_code.co_name, event))
        return lines

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename.endswith("decisions_targets.py"):
            calls.append((frame.f_code.co_name, event))
            return lines
        return None

    saved = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield calls
    finally:
        sys.settrace(saved)


@pytest.mark.usefixtures("settrace_backend")
def test_a_failing_trace_removes_the_recorder_and_keeps_the_prior_tracer(prior_tracer):
    targets = user_module("decisions_targets")
    installed = sys.gettrace()
    jax.clear_caches()
    with (
        pytest.raises(jax.errors.TracerBoolConversionError),
        DecisionRecorder(targets.fails_on_value, {"x": "traced", "n": "static"}) as recorder,
    ):
        jax.jit(targets.fails_on_value, static_argnames="n").trace(X, n=3)
    assert sys.gettrace() is installed
    # The prior tracer saw the user code run, line by line, and saw no opcode events.
    assert {("fails_on_value", "call"), ("fails_on_value", "line")} <= set(prior_tracer)
    assert ("fails_on_value", "opcode") not in prior_tracer
    # The loop was entered once; the test that failed has no outcome.
    assert summary(recorder.decisions()) == [("fail_loop", "for", (1,))]
    targets.branches(1, 2)
    assert prior_tracer[-1] == ("branches", "return")  # and it is still active


@pytest.mark.usefixtures("settrace_backend")
def test_code_that_removes_the_hook_leaves_decisions_unknown_and_every_line_run() -> None:
    """What was recorded is a part of unknown size: no decision is claimed, the reason says
    who took the hook, and the listing shows every line as run."""
    saved = sys.gettrace()
    try:
        roles = roles_of(flow.clears_the_trace_function, {})
        with DecisionRecorder(flow.clears_the_trace_function, roles) as recorder:
            flow.clears_the_trace_function(1)
    finally:
        sys.settrace(saved)
    assert recorder.unavailable is not None
    assert "removed Python's trace function" in recorder.unavailable
    assert recorder.decisions() == ()
    (listing,) = recorder.listings([])
    assert all(line.ran for line in listing.lines)
