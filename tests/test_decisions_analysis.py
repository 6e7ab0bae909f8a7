"""From recorded runs to decision records (decisions/analysis.py): one record per construct that
ran, its outcomes from every run of its code in order, what it depends on from every call that
reached it, its source text and function, in (file, line, column) order."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaxexplain.decisions.analysis import CONSTANT
from jaxexplain.decisions.recorder import DecisionRecorder
from tests.recording import X, record, roles_of, user_module
from tests.targets.decisions import flow


@pytest.fixture
def targets() -> object:
    return user_module("decisions_targets")


def test_two_ternaries_on_one_line_are_two_records_in_column_order(targets):
    decisions = record(targets.branches, X, n=2).decisions()
    first, second = decisions[3:]
    assert (first.source, second.source) == ("n > 1", "n > 5")
    assert first.line == second.line
    assert first.column < second.column
    assert {d.function for d in decisions} == {"branches"}
    assert list(decisions) == sorted(decisions, key=lambda d: (d.file, d.line, d.column))


def test_a_loops_source_is_its_target_in_its_iterable(targets):
    decisions = record(targets.loops, X, n=3).decisions()
    assert [d.source for d in decisions[:2]] == ["_ in range(n - n)", "i in range(10)"]


def test_a_match_is_shown_by_its_subject_and_an_assert_by_its_test(targets):
    matched = record(targets.matching, X, mode="identity", limit=3).decisions()
    assert [d.source for d in matched] == ["mode"]
    asserted = record(targets.asserting, X, n=3).decisions()
    assert asserted[0].source == "x.ndim == 2"


def test_comprehensions_are_shown_by_their_outermost_for_and_each_filter(targets):
    decisions = record(targets.comprehensions, X, n=3).decisions()
    assert [d.source for d in decisions] == [
        "i in range(n)",
        "i, p in enumerate(parts)",
        "i % 2 == 0",
        "p in evens",
    ]


def test_helpers_methods_and_closures_are_named_by_their_qualified_names(targets):
    helped = record(targets.with_helpers, X, n=2, kind="wide").decisions()
    assert [Path(d.file).name for d in helped] == ["decisions_helpers.py"] * 3
    assert [d.function for d in helped] == ["outer", "inner", "inner"]
    method = record(targets.with_method, X, n=2).decisions()
    assert [d.function for d in method] == ["Stack.apply", "Stack.apply"]
    closure = record(targets.with_closure, X, n=3).decisions()
    assert [d.function for d in closure] == ["with_closure.<locals>.body"]


@pytest.mark.parametrize(("a", "b"), [(True, False), (False, True)])
def test_a_helper_called_twice_has_one_record_with_both_calls_outcomes(a: bool, b: bool) -> None:
    """The outcomes come in the order of the calls, and the dependencies of both call sites:
    the static `a`, and the traced `b`, of which a test that ran can only have read the shape."""
    with DecisionRecorder(flow.twice, roles_of(flow.twice, {"a": a})) as recorder:
        flow.twice(a, b)
    (decision,) = recorder.decisions()
    assert decision.function == "pick"
    assert decision.outcomes == tuple("true" if v else "false" for v in (a, b))
    assert [(d.name, d.via) for d in decision.depends_on] == [("a", "static"), ("b", "shape")]


def test_a_test_that_reads_no_name_depends_on_the_constant(targets):
    decisions = record(targets.dependencies, X, n=3).decisions()
    (constant,) = [d for d in decisions if d.source == "3 > 2"]
    assert constant.depends_on == (CONSTANT,)
