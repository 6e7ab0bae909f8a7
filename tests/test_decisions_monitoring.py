"""The sys.monitoring backend (decisions/monitoring.py, Python 3.12+): it records what the
sys.settrace backend records, and takes one tool id, never the debugger's or coverage's while
another is free, which it gives back."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from jaxexplain import _py_compat
from jaxexplain.decisions.recorder import DecisionRecorder
from tests.recording import PARAMS, W, X, record, roles_of, user_module
from tests.targets.decisions import flow

pytestmark = pytest.mark.skipif(
    not _py_compat.HAS_MONITORING, reason="sys.monitoring needs Python 3.12"
)


def test_the_settrace_backend_agrees_with_sys_monitoring():
    """With every monitoring tool id taken, the recorder falls back to sys.settrace."""
    if sys.gettrace() is not None:
        pytest.skip(
            "another trace function (coverage.py, a debugger) holds sys.settrace, so the "
            "fallback cannot record beside it (the report then says so)"
        )
    targets, transforms = user_module("decisions_targets"), user_module("decisions_transforms")
    cases = [
        (targets.branches, (X,), {"n": 2}),
        (targets.loops, (X,), {"n": 3}),
        (targets.matching, (X,), {"mode": ("scale", 5), "limit": 10}),
        (targets.comprehensions, (X,), {"n": 3}),
        (targets.asserting, (X,), {"n": 3}),
        (targets.dependencies, (X,), {"n": 3}),
        (targets.with_helpers, (X,), {"n": 2, "kind": "wide"}),
        (targets.with_method, (X,), {"n": 2}),
        (targets.with_closure, (X,), {"n": 3}),
        (targets.unusual_flow, (X,), {"n": 3}),
        (transforms.remat_vmapped, (PARAMS, X), {"n": 2, "remat": True}),
        (transforms.scanned, (PARAMS, X), {}),
        (transforms.through_a_table, (PARAMS, X), {}),
        (transforms.displays, (X, W, [X, X]), {}),
    ]
    monitored = [record(f, *args, **static).decisions() for f, args, static in cases]
    free = [i for i in range(6) if sys.monitoring.get_tool(i) is None]
    for tool in free:
        sys.monitoring.use_tool_id(tool, "test-occupied")
    try:
        traced = [record(f, *args, **static).decisions() for f, args, static in cases]
    finally:
        for tool in free:
            sys.monitoring.free_tool_id(tool)
    assert traced == monitored


def test_the_recorder_leaves_the_debugger_and_coverage_ids_free_and_gives_its_own_back():
    monitoring = sys.monitoring
    before = [monitoring.get_tool(i) for i in range(6)]
    seen: list[list[str | None]] = []

    def looks(n: int) -> int:
        seen.append([monitoring.get_tool(i) for i in range(6)])
        return flow.halvings(n)

    with DecisionRecorder(looks, roles_of(looks, {})) as recorder:
        steps = looks(8)
    (during,) = seen
    assert during.count("jaxexplain") == 1
    assert during[monitoring.DEBUGGER_ID] == before[monitoring.DEBUGGER_ID]
    assert during[monitoring.COVERAGE_ID] == before[monitoring.COVERAGE_ID]
    assert [monitoring.get_tool(i) for i in range(6)] == before
    (loop,) = [d for d in recorder.decisions() if d.function == "halvings"]
    assert loop.outcomes == ("true",) * steps + ("false",)


def test_two_recordings_at_once_take_two_free_ids_and_give_both_back():
    """No id is kept for the process: each recording takes a free one while it runs, so a
    recording on another thread (or a tool of the user's) finds others free."""
    monitoring = sys.monitoring
    before = [monitoring.get_tool(i) for i in range(6)]
    both_recording = threading.Barrier(2)
    held: list[list[str | None]] = []

    def waits_for_the_other(n: int) -> int:
        both_recording.wait()
        held.append([monitoring.get_tool(i) for i in range(6)])
        both_recording.wait()
        return flow.halvings(n)

    def recorded(n: int) -> tuple[str | int, ...]:
        with DecisionRecorder(waits_for_the_other, roles_of(waits_for_the_other, {})) as rec:
            waits_for_the_other(n)
        (loop,) = [d for d in rec.decisions() if d.function == "halvings"]
        return loop.outcomes

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(recorded, [8, 2]))
    assert outcomes == [("true",) * flow.halvings(n) + ("false",) for n in (8, 2)]
    assert [during.count("jaxexplain") for during in held] == [2, 2]
    assert [monitoring.get_tool(i) for i in range(6)] == before
