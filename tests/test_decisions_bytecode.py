"""Counting decisions (decisions/bytecode.py): the outcome of every evaluation of a construct, from
the instructions a real run executed. Plain Python runs log their own choices, which the
outcomes must equal; real JAX traces of the target files give the outcomes JAX's trace took."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import pytest

from jaxexplain.decisions import bytecode
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.report import Decision
from tests.recording import X, record, roles_of, summary, user_module
from tests.targets.decisions import flow


@pytest.fixture
def targets() -> Any:
    return user_module("decisions_targets")


def recorded(function: Callable[..., Any], *args: Any) -> tuple[tuple[Decision, ...], Any]:
    """The decisions of a plain Python call (the recorder records any call of its root, traced
    by JAX or not) and what the call returned."""
    with DecisionRecorder(function, roles_of(function, {})) as recorder:
        result = function(*args)
    return recorder.decisions(), result


def outcomes(decisions: tuple[Decision, ...]) -> dict[str, tuple[str | int, ...]]:
    """Outcomes by the construct's source text (each text appears once in these targets)."""
    return {d.source: d.outcomes for d in decisions}


def truth(values: list[bool]) -> tuple[str, ...]:
    return tuple("true" if v else "false" for v in values)


@pytest.mark.parametrize("n", [0, 5, 20])
def test_if_elif_continue_and_break_give_one_outcome_per_test_run(n: int) -> None:
    decisions, chosen = recorded(flow.walk, n)
    found = outcomes(decisions)
    assert found["i in range(n)"] == (len(chosen),)
    assert found.get("i % 3 == 0", ()) == truth([kind == "three" for _, kind in chosen])
    assert found.get("i % 2 == 0", ()) == truth([k == "two" for _, k in chosen if k != "three"])
    assert found.get("i > 6", ()) == truth([i > 6 for i, kind in chosen if kind != "two"])


@pytest.mark.parametrize("n", [1, 2, 37])
def test_while_tests_run_once_more_than_the_body_and_a_literal_test_once_per_pass(n: int) -> None:
    decisions, steps = recorded(flow.halvings, n)
    assert outcomes(decisions) == {"n > 1": truth([True] * steps + [False])}
    decisions, power = recorded(flow.first_power_above, n)
    passes = power.bit_length() - 1
    assert outcomes(decisions) == {
        "True": truth([True] * passes),
        "power > n": truth([False] * (passes - 1) + [True]),
    }


def test_a_nested_loop_counts_its_passes_per_execution_of_it() -> None:
    decisions, sizes = recorded(flow.nested, 4)
    assert outcomes(decisions) == {"a in range(n)": (4,), "_ in range(a)": tuple(sizes[:-1])}


def test_a_loop_that_breaks_counts_each_of_its_executions() -> None:
    """A break leaves the loop for code after it: each execution keeps its own count (the
    break's pass included), not only the last one."""
    rows = [[1, 9, 1], [1, 1, 1, 1], [9], [1, 1, 9, 9]]
    decisions, passes = recorded(flow.passes_until_above, rows, 5)
    assert passes == [2, 4, 1, 3]
    found = outcomes(decisions)
    assert found["row in rows"] == (len(rows),)
    assert found["value in row"] == tuple(passes)
    evaluated = [value > 5 for row, n in zip(rows, passes, strict=True) for value in row[:n]]
    assert found["value > limit"] == truth(evaluated)


@pytest.mark.parametrize("value", [0, (1, 2), "longer", "abc", 7])
def test_match_gives_the_case_taken_and_minus_one_when_none_matched(value: Any) -> None:
    decisions, kind = recorded(flow.kind_of, value)
    case = {"zero": 0, "pair": 1, "long": 2, "none": -1}[kind]
    assert outcomes(decisions) == {"value": (case,)}


@pytest.mark.parametrize("value", [1, 2])
def test_an_irrefutable_last_case_with_an_empty_body_is_that_case(value: int) -> None:
    decisions, hit = recorded(flow.wildcard, value)
    assert outcomes(decisions) == {"value": (0 if hit else 1,)}


def test_an_assert_passes_per_evaluation_and_fails_when_its_message_runs() -> None:
    values = [1, 2, -1, 3]
    roles = roles_of(flow.checked, {})
    with pytest.raises(AssertionError), DecisionRecorder(flow.checked, roles) as recorder:
        flow.checked(values)
    ran = values[: values.index(-1) + 1]
    assert outcomes(recorder.decisions()) == {
        "v in values": (len(ran),),
        "v >= 0": truth([v >= 0 for v in ran]),
    }


def test_comprehension_filters_and_conditional_expressions_in_them() -> None:
    decisions, made = recorded(flow.labels, 6)
    kept = [i for i in range(6) if i != 2]
    assert outcomes(decisions) == {
        "i in range(n)": (6,),
        "i != 2": truth([i != 2 for i in range(6)]),
        "i % 2 == 0": truth([word == "even" for word in made]),
    }
    assert len(made) == len(kept)
    values = [3, -1, 0, 5, -2]
    decisions, _ = recorded(flow.positives, values)
    assert outcomes(decisions) == {"v in values": (5,), "v > 0": truth([v > 0 for v in values])}


@pytest.mark.parametrize("flag", [True, False])
def test_a_test_the_function_returns_from_is_decided_by_the_return(flag: bool) -> None:
    """`if flag: pass` as the last statement: a false test goes straight to the implicit return,
    whose range tells nothing, and the normal return says the test was false; a true one runs
    the `pass`, which Python 3.12+ compiles into a return of its own with the pass's range."""
    decisions, _ = recorded(flow.last_if, flag)
    assert outcomes(decisions) == {"flag": truth([flag])}


def test_only_code_with_a_conditional_jump_or_a_loop_can_decide() -> None:
    """A literal `while True:` compiles to no test at all: its outcomes are read from lines."""
    functions = (flow.straight, flow.looping, flow.forever, flow.walk)
    assert [bytecode.can_decide(f.__code__) for f in functions] == [False, True, False, True]


def test_elif_chain_decided_by_the_second_elif_and_two_ternaries_on_one_line(targets):
    assert summary(record(targets.branches, X, n=2).decisions()) == [
        ("if", "if", ("false",)),
        ("elif1", "if", ("false",)),
        ("elif2", "if", ("true",)),
        ("ternaries", "ifexp", ("true",)),
        ("ternaries", "ifexp", ("false",)),
    ]


def test_loops_count_the_passes_into_their_body(targets):
    assert summary(record(targets.loops, X, n=3).decisions()) == [
        ("empty", "for", (0,)),
        ("break", "for", (3,)),
        ("break_test", "if", ("false", "false", "true")),
        ("continue", "for", (4,)),
        ("alternating", "if", ("true", "false", "true", "false")),
        ("for_else", "for", (3,)),
        ("while", "while", ("true", "false")),
        ("while_true", "while", ("true", "true")),
        ("while_true_exit", "if", ("false", "true")),
        ("outer", "for", (3,)),
        ("inner", "for", (0, 1, 2)),
    ]


@pytest.mark.parametrize(
    ("mode", "limit", "case"),
    [("identity", 3, 0), (("scale", 5), 3, 1), (("scale", 5), 10, 2), ("other", 3, 3)],
)
def test_match_reports_the_case_taken_guards_included(targets, mode, limit, case):
    decisions = record(targets.matching, X, mode=mode, limit=limit).decisions()
    assert summary(decisions) == [("match", "match", (case,))]


def test_a_generator_expression_if_has_one_outcome_per_item_as_a_list_comprehension_does(targets):
    """Python 3.11 gives a generator's yield the range of its last `if`: read as the test, each
    kept item seemed to fail it once more. One outcome per site, and as many true ones as JAX
    sums sites (one reduce_sum each, both forms)."""
    decisions = [d for d in record(targets.site_sums, X).decisions() if d.kind == "if"]
    lazily, eagerly = (d.outcomes for d in decisions)
    assert summary(tuple(decisions))[0][0] == "genexp_if"
    assert lazily == eagerly == ("true", "false", "true")
    jaxpr = jax.make_jaxpr(targets.site_sums)(X)
    sums = [e for e in jaxpr.eqns if e.primitive.name == "reduce_sum"]
    assert len(sums) == (lazily + eagerly).count("true")


def test_comprehensions_count_their_iterations(targets):
    assert summary(record(targets.comprehensions, X, n=3).decisions()) == [
        ("listcomp", "comprehension", (3,)),
        ("filtered", "comprehension", (3,)),
        ("filtered", "if", ("true", "false", "true")),
        ("genexpr", "comprehension", (2,)),
    ]


def test_asserts_pass_once_per_evaluation(targets):
    assert summary(record(targets.asserting, X, n=3).decisions()) == [
        ("assert", "assert", ("true",)),
        ("assert_loop", "for", (3,)),
        ("assert_in_loop", "assert", ("true", "true", "true")),
    ]


def test_generators_recursion_handled_exceptions_and_pass_bodies(targets):
    assert summary(record(targets.unusual_flow, X, n=3).decisions()) == [
        ("gen_loop", "for", (3,)),
        ("gen_if", "if", ("false", "true", "false")),
        ("recursion", "if", ("false", "false", "true")),
        ("handler", "ifexp", ("true",)),
        ("gen_consumer", "comprehension", (3,)),
        ("pass_loop", "for", (3,)),
        ("pass_if", "if", ("false", "true", "false")),
    ]
